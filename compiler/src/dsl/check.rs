//! The second stage: the generic syntax tree to a checked [`Network`].
//!
//! Each item is checked against its vocabulary's table (see [`crate::vocab`]); every problem
//! is reported at the offending token, and as many as can be found are reported together.

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::Ident;

use super::args::{build, resolve};
use super::ast::{Layer, Network, Residual};
use super::errors::Errors;
use super::parse::{RawCall, RawItem, RawNetwork, RawValue, item_span};
use super::shapes::infer_shapes;
use crate::ir::DType;
use crate::vocab::{
    self, ACTIVATIONS, BLOCKS, BlockKind, InitHint, LAYERS, LOSSES, LayerKind, Loss, OPTIMIZERS, Optimizer, Padding,
    Penalty, Projection, REGULARIZERS,
};

/// The items that are settings, not layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Setting {
    Input,
    Loss,
    Optimizer,
    Regularize,
    Dtype,
    Fusion,
}

impl Setting {
    const ALL: [Setting; 6] =
        [Setting::Input, Setting::Loss, Setting::Optimizer, Setting::Regularize, Setting::Dtype, Setting::Fusion];

    /// The item's key.
    fn key(self) -> &'static str {
        match self {
            Setting::Input => "input",
            Setting::Loss => "loss",
            Setting::Optimizer => "optimizer",
            Setting::Regularize => "regularize",
            Setting::Dtype => "dtype",
            Setting::Fusion => "fusion",
        }
    }

    /// An example value, for messages.
    fn example(self) -> &'static str {
        match self {
            Setting::Input => "[64]",
            Setting::Loss => "softmax_cross_entropy",
            Setting::Optimizer => "sgd(lr = 0.1)",
            Setting::Regularize => "l2(1e-4)",
            Setting::Dtype => "f32",
            Setting::Fusion => "true",
        }
    }
}

/// A layer as declared, before the default initializer is resolved.
struct DeclaredLayer {
    layer: Layer,
    init_given: bool,
}

/// The settings and layers found so far.
#[derive(Default)]
struct Found {
    settings: BTreeMap<Setting, Span>,
    input: Option<(Vec<usize>, Span)>,
    loss: Option<(Loss, Span)>,
    optimizer: Option<Optimizer>,
    dtype: Option<DType>,
    fusion: Option<bool>,
    regularize: Penalty,
    layers: Vec<DeclaredLayer>,
    residuals: Vec<Residual>,
    layer_names: BTreeMap<String, Span>,
    layer_lines: usize,
}

/// The layer that `call` names: a layer of [`LAYERS`] or an activation.
fn layer_kind(call: &RawCall, errors: &mut Errors) -> Option<LayerKind> {
    let name = call.name.to_string();
    if let Some(spec) = vocab::find(LAYERS, &name) {
        return build(spec, call, errors);
    }
    if let Some(spec) = vocab::find(ACTIVATIONS, &name) {
        return build(spec, call, errors).map(LayerKind::Activation);
    }
    let expected: Vec<&str> = vocab::names(LAYERS).into_iter().chain(vocab::names(ACTIVATIONS)).collect();
    let hint = super::suggest::did_you_mean(&name, expected.iter().copied());
    errors.at(call.name.span(), format!("unknown layer `{name}`{hint}; expected one of: {}", expected.join(", ")));
    None
}

/// The call of a setting that takes a name (`loss: mse`).
fn expect_call<'a>(item: &'a RawItem, setting: Setting, errors: &mut Errors) -> Option<&'a RawCall> {
    match &item.value {
        RawValue::Call(c) => Some(c),
        RawValue::Dims(..) | RawValue::Bool(_) | RawValue::Block(..) => {
            let (key, example) = (setting.key(), setting.example());
            errors.at(item_span(item), format!("`{key}` takes a name, e.g. `{key}: {example}`"));
            None
        }
    }
}

/// The attributes of a layer or block line.
#[derive(Clone, Copy, Debug, Default)]
struct Attributes {
    /// `#[frozen]`.
    frozen: bool,
    /// `#[lr_scale = x]`, with its span.
    lr_scale: Option<(f64, Span)>,
}

impl Attributes {
    /// These attributes inside a block with `outer`: frozen if either is, the inner scale
    /// where both give one.
    fn within(self, outer: Attributes) -> Attributes {
        Attributes { frozen: self.frozen || outer.frozen, lr_scale: self.lr_scale.or(outer.lr_scale) }
    }
}

/// The number in `#[lr_scale = 0.1]`: finite and not negative.
fn lr_scale_value(attr: &syn::Attribute, errors: &mut Errors) -> Option<(f64, Span)> {
    let syn::Meta::NameValue(meta) = &attr.meta else {
        errors.at(path_span(attr.path()), "`lr_scale` takes a number: `#[lr_scale = 0.1]`");
        return None;
    };
    let span = syn::spanned::Spanned::span(&meta.value);
    let value = match &meta.value {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Float(f), .. }) => f.base10_parse::<f64>().ok(),
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) => i.base10_parse::<f64>().ok(),
        _ => None,
    };
    match value {
        Some(v) if v.is_finite() && v >= 0.0 => Some((v, span)),
        Some(v) => {
            errors.at(span, format!("`lr_scale` must be finite and not negative, found {v}"));
            None
        }
        None => {
            errors.at(span, "`lr_scale` takes a number: `#[lr_scale = 0.1]`");
            None
        }
    }
}

/// The attributes on the item (`#[frozen]`, `#[lr_scale = x]`), reporting attributes that
/// are not allowed there.
fn attributes(item: &RawItem, is_setting: bool, errors: &mut Errors) -> Attributes {
    let mut found = Attributes::default();
    for attr in item.attrs.iter().filter(|a| !a.path().is_ident("doc")) {
        let span = path_span(attr.path());
        if is_setting {
            errors.at(span, "attributes are allowed only on layers");
        } else if attr.path().is_ident("lr_scale") {
            found.lr_scale = lr_scale_value(attr, errors).or(found.lr_scale);
        } else if !attr.path().is_ident("frozen") {
            errors.at(span, "unknown attribute on a layer; only `#[frozen]` and `#[lr_scale = x]` are supported");
        } else if matches!(attr.meta, syn::Meta::Path(_)) {
            found.frozen = true;
        } else {
            errors.at(span, "`#[frozen]` takes no arguments");
        }
    }
    found
}

/// Checks one setting item.
fn setting(setting: Setting, item: &RawItem, found: &mut Found, errors: &mut Errors) {
    let span = item_span(item);
    if found.settings.insert(setting, span).is_some() {
        errors.at(span, format!("`{}` given twice", setting.key()));
        return;
    }
    match setting {
        Setting::Input => {
            if found.layer_lines > 0 {
                errors.at(span, "`input` must come before the first layer");
            }
            match &item.value {
                RawValue::Dims(dims, dims_span) if matches!(dims.len(), 1 | 3) => {
                    let mut shape = Vec::new();
                    for d in dims {
                        match d.base10_parse::<usize>() {
                            Ok(0) => errors.at(d.span(), "input sizes must be at least 1"),
                            Ok(n) if n > 1 << 30 => errors.at(d.span(), "input sizes must be at most 2^30"),
                            Ok(n) => shape.push(n),
                            Err(e) => errors.at(d.span(), e),
                        }
                    }
                    if shape.len() == dims.len() {
                        found.input = Some((shape, span));
                    } else {
                        let _ = dims_span;
                    }
                }
                RawValue::Dims(_, dims_span) => errors.at(
                    *dims_span,
                    "`input` takes features `[N]` or images `[C, H, W]`, e.g. `input: [64]` or `input: [1, 8, 8]`",
                ),
                RawValue::Bool(_) | RawValue::Call(_) | RawValue::Block(..) => {
                    errors.at(span, "`input` takes its shape in brackets, e.g. `input: [64]`")
                }
            }
        }
        Setting::Loss => {
            if found.layer_lines == 0 {
                errors.at(span, "`loss` comes before any layer; declare the layers first");
            }
            if let Some(call) = expect_call(item, setting, errors) {
                found.loss = resolve(LOSSES, "loss", call, errors).map(|l| (l, span));
            }
        }
        Setting::Optimizer => {
            if let Some(call) = expect_call(item, setting, errors) {
                found.optimizer = resolve(OPTIMIZERS, "optimizer", call, errors);
            }
        }
        Setting::Regularize => {
            if let Some(p) =
                expect_call(item, setting, errors).and_then(|c| resolve(REGULARIZERS, "regularizer", c, errors))
            {
                found.regularize = p;
            }
        }
        Setting::Dtype => match expect_call(item, setting, errors) {
            Some(c) if c.name == "f32" && c.args.is_empty() => found.dtype = Some(DType::F32),
            Some(c) if c.name == "f64" && c.args.is_empty() => found.dtype = Some(DType::F64),
            Some(c) => errors.at(c.span, format!("`dtype` takes `f32` or `f64`, found `{}`", c.name)),
            None => {}
        },
        Setting::Fusion => match &item.value {
            RawValue::Bool(b) => found.fusion = Some(b.value),
            RawValue::Dims(..) | RawValue::Call(_) | RawValue::Block(..) => {
                errors.at(span, "`fusion` takes `true` or `false`")
            }
        },
    }
}

/// Checks one layer line of the network, named or not.
fn layer(item: &RawItem, attributes: Attributes, found: &mut Found, errors: &mut Errors) {
    let position = found.layer_lines;
    found.layer_lines += 1;
    if found.settings.contains_key(&Setting::Loss) {
        errors.at(item_span(item), "layer after `loss`; the layers come first, then `loss` and `optimizer`");
    }
    declare(item, attributes, "", position, found, errors);
}

/// Declares the layer or block `item`, line `position` of its block, named `prefix` + its
/// own name (its key, or its position as in `nn.Sequential`).
fn declare(
    item: &RawItem,
    attributes: Attributes,
    prefix: &str,
    position: usize,
    found: &mut Found,
    errors: &mut Errors,
) {
    let span = item_span(item);
    let name = format!("{prefix}{}", item.key.as_ref().map_or_else(|| position.to_string(), Ident::to_string));
    if found.layer_names.insert(name.clone(), span).is_some() {
        errors.at(span, format!("duplicate layer name `{name}`"));
    }
    match &item.value {
        RawValue::Call(call) => {
            if let Some(kind) = layer_kind(call, errors) {
                let init_given = call.args.iter().any(|a| a.key.as_ref().is_some_and(|k| k == "init"));
                // Only a scale declared on the layer itself: a block's reaches every layer in it.
                if let Some((_, span)) = attributes.lr_scale.filter(|_| !kind.has_learnable_params())
                    && item.attrs.iter().any(|a| a.path().is_ident("lr_scale"))
                {
                    errors.at(span, format!("`{}` has no parameters for `lr_scale` to scale", kind.name()));
                }
                let layer = Layer {
                    name,
                    frozen: attributes.frozen,
                    lr_scale: attributes.lr_scale.map_or(1.0, |(s, _)| s),
                    kind,
                    span: call.span,
                    input_shape: vec![],
                    output_shape: vec![],
                };
                found.layers.push(DeclaredLayer { layer, init_given });
            }
        }
        RawValue::Block(call, items) => block(call, items, &name, attributes, found, errors),
        RawValue::Dims(..) | RawValue::Bool(_) => errors.at(span, "expected a layer, e.g. `dense(64)` or `relu`"),
    }
}

/// Declares the layers of a block: `residual` records its range (and adds its projection);
/// `repeat` declares its layers once per copy, reporting mistakes in them once.
fn block(call: &RawCall, items: &[RawItem], name: &str, outer: Attributes, found: &mut Found, errors: &mut Errors) {
    let Some(kind) = resolve(BLOCKS, "block", call, errors) else { return };
    let inner = |found: &mut Found, prefix: &str, errors: &mut Errors| {
        for (position, item) in items.iter().enumerate() {
            let inner = attributes(item, false, errors);
            declare(item, inner.within(outer), prefix, position, found, errors);
        }
    };
    match kind {
        BlockKind::Repeat { times } => {
            for copy in 0..times {
                let mut quiet = Errors::default();
                inner(found, &format!("{name}.{copy}."), if copy == 0 { &mut *errors } else { &mut quiet });
            }
        }
        BlockKind::Residual { project } => {
            let start = found.layers.len();
            inner(found, &format!("{name}."), errors);
            if found.layers.len() == start {
                errors.at(call.span, format!("residual block `{name}` has no layers"));
                return;
            }
            // The projection's size and stride are set when shapes are known.
            let kind = match project {
                Projection::None => None,
                Projection::Conv1x1 => Some(LayerKind::Conv2d {
                    out: 1,
                    kernel: [1, 1],
                    stride: [1, 1],
                    padding: Padding::Explicit([0, 0]),
                    dilation: [1, 1],
                    groups: 1,
                    bias: false,
                    init: vocab::InitSpec::GlorotUniform,
                }),
                Projection::Dense => Some(LayerKind::Dense {
                    units: 1,
                    init: vocab::InitSpec::GlorotUniform,
                    bias: false,
                    l1: None,
                    l2: None,
                }),
            };
            let projection = kind.map(|kind| {
                let layer = Layer {
                    name: format!("{name}.project"),
                    frozen: outer.frozen,
                    lr_scale: outer.lr_scale.map_or(1.0, |(s, _)| s),
                    kind,
                    span: call.span,
                    input_shape: vec![],
                    output_shape: vec![],
                };
                found.layers.push(DeclaredLayer { layer, init_given: false });
                found.layers.len() - 1
            });
            let body = start..found.layers.len();
            found.residuals.push(Residual { name: name.to_string(), body, projection, span: call.span });
        }
    }
}

/// Gives every dense or conv layer without a declared initializer the one its activation calls
/// for: the first activation after it, looking past batch norm, dropout and pooling (DESIGN §2).
fn resolve_default_inits(declared: Vec<DeclaredLayer>) -> Vec<Layer> {
    let kinds: Vec<LayerKind> = declared.iter().map(|d| d.layer.kind.clone()).collect();
    declared
        .into_iter()
        .enumerate()
        .map(|(i, DeclaredLayer { mut layer, init_given })| {
            if let LayerKind::Dense { init, .. } | LayerKind::Conv2d { init, .. } = &mut layer.kind
                && !init_given
            {
                let hint = kinds[i + 1..].iter().map(LayerKind::init_hint).find(|h| *h != InitHint::Transparent);
                *init = match hint {
                    Some(InitHint::Use(spec)) => spec,
                    Some(InitHint::NoActivation | InitHint::Transparent) | None => vocab::InitSpec::GlorotUniform,
                };
            }
            layer
        })
        .collect()
}

/// Checks the raw tree and resolves every default.
pub fn check(raw: RawNetwork) -> syn::Result<Network> {
    let mut errors = Errors::default();
    let docs: Vec<_> = raw.attrs.iter().filter(|a| a.path().is_ident("doc")).cloned().collect();
    for attr in raw.attrs.iter().filter(|a| !a.path().is_ident("doc")) {
        errors.at(path_span(attr.path()), "only doc comments are allowed on the network struct");
    }
    let mut found = Found::default();
    for item in &raw.items {
        let setting_of = item.key.as_ref().and_then(|k| Setting::ALL.into_iter().find(|s| k == s.key()));
        let attributes = attributes(item, setting_of.is_some(), &mut errors);
        match setting_of {
            Some(s) => setting(s, item, &mut found, &mut errors),
            None => layer(item, attributes, &mut found, &mut errors),
        }
    }
    let name_span = raw.name.span();
    if !found.settings.contains_key(&Setting::Input) {
        errors.at(name_span, "missing `input: [..]` (the features per example, e.g. `input: [64]`)");
    }
    if !found.settings.contains_key(&Setting::Loss) {
        errors.at(name_span, format!("missing `loss: ..` (one of: {})", vocab::names(LOSSES).join(", ")));
    }
    if !found.settings.contains_key(&Setting::Optimizer) {
        errors.at(name_span, "missing `optimizer: ..` (e.g. `optimizer: sgd(lr = 0.1)`)");
    }
    errors.finish()?;
    let (input_shape, input_span) = found.input.expect("checked above");
    let mut layers = resolve_default_inits(found.layers);
    let mut errors = Errors::default();
    let dtype = found.dtype.unwrap_or(DType::F32);
    super::limits::check_numbers(&raw.items, dtype, &mut errors);
    infer_shapes(&input_shape, &mut layers, &found.residuals, &mut errors);
    errors.finish()?;
    let network = Network {
        docs,
        vis: raw.vis,
        name: raw.name,
        input_shape,
        input_span,
        layers,
        residuals: found.residuals,
        loss: found.loss.expect("checked above"),
        optimizer: found.optimizer.expect("checked above"),
        dtype,
        fusion: found.fusion.unwrap_or(true),
        regularize: found.regularize,
    };
    let mut errors = Errors::default();
    super::limits::check_sizes(&network.layers, &network.params(), &mut errors);
    errors.finish()?;
    Ok(network)
}

/// The span of an attribute's path (its first segment).
fn path_span(path: &syn::Path) -> Span {
    path.segments.first().map_or_else(Span::call_site, |s| s.ident.span())
}
