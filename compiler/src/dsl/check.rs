//! The second stage: the generic syntax tree to a checked [`Network`].
//!
//! Every problem is reported at the offending token, and as many as can be found are
//! reported together (one combined `syn::Error`).

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::Ident;

use super::ast::{InitSpec, Layer, LayerKind, Loss, Network, Optimizer, Penalty};
use super::parse::{RawArgValue, RawCall, RawItem, RawNetwork, RawValue, item_span};
use crate::ir::{Activation, DType, UpdateRule};

/// Collected errors, combined at the end.
#[derive(Default)]
struct Errors(Vec<syn::Error>);

impl Errors {
    fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.0.push(syn::Error::new(span, message));
    }

    fn finish(self) -> syn::Result<()> {
        let mut iter = self.0.into_iter();
        match iter.next() {
            None => Ok(()),
            Some(mut first) => {
                iter.for_each(|e| first.combine(e));
                Err(first)
            }
        }
    }
}

const LAYERS: &[&str] = &[
    "dense",
    "batch_norm",
    "dropout",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "prelu",
];
const LOSSES: &[&str] = &["softmax_cross_entropy", "binary_cross_entropy", "mse"];
const OPTIMIZERS: &[&str] = &["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"];
const INITS: &[&str] = &[
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "zeros",
    "normal",
    "uniform",
];
const ITEM_KEYS: &[&str] = &["input", "loss", "optimizer", "regularize", "dtype", "fusion"];
const REGULARIZERS: &[&str] = &["l1", "l2", "l1_l2"];

/// The arguments of one call, bound to parameter names.
struct Args<'a> {
    call: &'a RawCall,
    bound: BTreeMap<&'static str, &'a RawArgValue>,
}

impl<'a> Args<'a> {
    /// Binds `call`'s arguments: the first `positional` parameters may be given by position,
    /// all by `key = value`.
    fn bind(call: &'a RawCall, params: &[&'static str], positional: usize, errors: &mut Errors) -> Self {
        let mut bound = BTreeMap::new();
        let mut seen_key = false;
        let mut next_position = 0;
        for arg in &call.args {
            let (name, span) = match &arg.key {
                Some(key) => {
                    seen_key = true;
                    let Some(&name) = params.iter().find(|p| key == *p) else {
                        let expected = if params.is_empty() {
                            "it takes no arguments".to_string()
                        } else {
                            format!("expected one of: {}", params.join(", "))
                        };
                        errors.at(key.span(), format!("unknown argument `{key}` for `{}`; {expected}", call.name));
                        continue;
                    };
                    (name, key.span())
                }
                None => {
                    let span = arg.value.span();
                    if seen_key {
                        errors.at(span, "positional argument after a `key = value` argument");
                        continue;
                    }
                    if next_position >= positional {
                        let takes = match positional {
                            0 => format!("`{}` takes no positional arguments", call.name),
                            n => format!(
                                "`{}` takes at most {n} positional argument(s) ({})",
                                call.name,
                                params[..n].join(", ")
                            ),
                        };
                        errors.at(span, format!("unexpected argument {}: {takes}", arg.value.describe()));
                        continue;
                    }
                    next_position += 1;
                    (params[next_position - 1], span)
                }
            };
            if bound.insert(name, &arg.value).is_some() {
                errors.at(span, format!("argument `{name}` given twice"));
            }
        }
        Args { call, bound }
    }

    fn number(&self, name: &str, errors: &mut Errors) -> Option<(f64, Span)> {
        match self.bound.get(name)? {
            RawArgValue::Number { value, span, .. } => Some((*value, *span)),
            other => {
                errors.at(other.span(), format!("`{name}` takes a number, found {}", other.describe()));
                None
            }
        }
    }

    fn integer(&self, name: &str, errors: &mut Errors) -> Option<(usize, Span)> {
        match self.bound.get(name)? {
            RawArgValue::Number { value, integer: true, span, .. } if *value >= 0.0 => Some((*value as usize, *span)),
            other => {
                let what =
                    if matches!(other, RawArgValue::Number { .. }) { "a whole number ≥ 1" } else { "an integer" };
                errors.at(other.span(), format!("`{name}` takes {what}, found {}", other.describe()));
                None
            }
        }
    }

    fn boolean(&self, name: &str, errors: &mut Errors) -> Option<bool> {
        match self.bound.get(name)? {
            RawArgValue::Bool(b) => Some(b.value),
            other => {
                errors.at(other.span(), format!("`{name}` takes `true` or `false`, found {}", other.describe()));
                None
            }
        }
    }

    /// A bare identifier among `choices`.
    fn choice(&self, name: &str, choices: &[&'static str], errors: &mut Errors) -> Option<&'static str> {
        let value = self.bound.get(name)?;
        if let RawArgValue::Call(c) = value
            && c.args.is_empty()
            && let Some(found) = choices.iter().find(|ch| c.name == **ch)
        {
            return Some(found);
        }
        errors.at(value.span(), format!("`{name}` takes one of: {}; found {}", choices.join(", "), value.describe()));
        None
    }

    fn require(&self, name: &str, example: &str, errors: &mut Errors) {
        if !self.bound.contains_key(name) {
            errors.at(self.call.span, format!("`{}` needs `{name}`, e.g. `{example}`", self.call.name));
        }
    }
}

/// A number that must lie in a range; reports at its span.
fn in_range(
    value: Option<(f64, Span)>,
    ok: impl Fn(f64) -> bool,
    rule: &str,
    what: &str,
    errors: &mut Errors,
) -> Option<f64> {
    let (v, span) = value?;
    if v.is_finite() && ok(v) {
        Some(v)
    } else {
        errors.at(span, format!("`{what}` must be {rule}, found {v:?}"));
        None
    }
}

fn init_spec(value: &RawArgValue, errors: &mut Errors) -> Option<InitSpec> {
    let RawArgValue::Call(call) = value else {
        errors.at(
            value.span(),
            format!("`init` takes an initializer ({}), found {}", INITS.join(", "), value.describe()),
        );
        return None;
    };
    let plain = |spec: InitSpec, errors: &mut Errors| {
        Args::bind(call, &[], 0, errors);
        Some(spec)
    };
    match call.name.to_string().as_str() {
        "glorot_normal" => plain(InitSpec::GlorotNormal, errors),
        "glorot_uniform" => plain(InitSpec::GlorotUniform, errors),
        "he_normal" => plain(InitSpec::HeNormal, errors),
        "he_uniform" => plain(InitSpec::HeUniform, errors),
        "lecun_normal" => plain(InitSpec::LecunNormal, errors),
        "lecun_uniform" => plain(InitSpec::LecunUniform, errors),
        "zeros" => plain(InitSpec::Zeros, errors),
        "normal" => {
            let args = Args::bind(call, &["std"], 1, errors);
            args.require("std", "normal(0.02)", errors);
            in_range(args.number("std", errors), |v| v > 0.0, "positive", "std", errors).map(InitSpec::Normal)
        }
        "uniform" => {
            let args = Args::bind(call, &["limit"], 1, errors);
            args.require("limit", "uniform(0.05)", errors);
            in_range(args.number("limit", errors), |v| v > 0.0, "positive", "limit", errors).map(InitSpec::Uniform)
        }
        other => {
            errors
                .at(call.name.span(), format!("unknown initializer `{other}`; expected one of: {}", INITS.join(", ")));
            None
        }
    }
}

/// A layer as declared, before the default initializer is resolved.
struct DeclaredLayer {
    name: String,
    frozen: bool,
    kind: LayerKind,
    init_given: bool,
    span: Span,
}

fn layer_kind(call: &RawCall, errors: &mut Errors) -> Option<(LayerKind, bool)> {
    let name = call.name.to_string();
    let activation = |act: Activation, errors: &mut Errors| {
        Args::bind(call, &[], 0, errors);
        Some((LayerKind::Activation(act), false))
    };
    match name.as_str() {
        "dense" => {
            let args = Args::bind(call, &["units", "init", "bias", "l1", "l2"], 1, errors);
            args.require("units", "dense(128)", errors);
            let units = args.integer("units", errors).and_then(|(u, span)| {
                if u == 0 {
                    errors.at(span, "`units` must be at least 1, found 0");
                    None
                } else {
                    Some(u)
                }
            });
            let init = args.bound.get("init").and_then(|v| init_spec(v, errors));
            let bias = args.boolean("bias", errors).unwrap_or(true);
            let l1 = in_range(args.number("l1", errors), |v| v >= 0.0, "non-negative", "l1", errors);
            let l2 = in_range(args.number("l2", errors), |v| v >= 0.0, "non-negative", "l2", errors);
            let init_given = args.bound.contains_key("init");
            let kind = LayerKind::Dense { units: units?, init: init.unwrap_or(InitSpec::GlorotUniform), bias, l1, l2 };
            Some((kind, init_given))
        }
        "batch_norm" => {
            let args = Args::bind(call, &["momentum", "eps"], 0, errors);
            let momentum = match args.bound.contains_key("momentum") {
                true => in_range(
                    args.number("momentum", errors),
                    |v| (0.0..=1.0).contains(&v),
                    "in [0, 1]",
                    "momentum",
                    errors,
                ),
                false => Some(0.1),
            };
            let eps = match args.bound.contains_key("eps") {
                true => in_range(args.number("eps", errors), |v| v > 0.0, "positive", "eps", errors),
                false => Some(1e-5),
            };
            Some((LayerKind::BatchNorm { momentum: momentum?, eps: eps? }, false))
        }
        "dropout" => {
            let args = Args::bind(call, &["p"], 1, errors);
            args.require("p", "dropout(0.2)", errors);
            let p = in_range(args.number("p", errors), |v| (0.0..1.0).contains(&v), "in [0, 1)", "p", errors)?;
            Some((LayerKind::Dropout { p }, false))
        }
        "sigmoid" => activation(Activation::Sigmoid, errors),
        "tanh" => activation(Activation::Tanh, errors),
        "relu" => activation(Activation::Relu, errors),
        "selu" => activation(Activation::Selu, errors),
        "silu" => activation(Activation::Silu, errors),
        "leaky_relu" | "elu" => {
            let args = Args::bind(call, &["alpha"], 1, errors);
            let default = if name == "elu" { 1.0 } else { 0.01 };
            let alpha = match args.bound.contains_key("alpha") {
                true => in_range(args.number("alpha", errors), |v| v >= 0.0, "non-negative", "alpha", errors)?,
                false => default,
            };
            let act = if name == "elu" { Activation::Elu { alpha } } else { Activation::LeakyRelu { alpha } };
            Some((LayerKind::Activation(act), false))
        }
        "gelu" => {
            let args = Args::bind(call, &["approximate"], 0, errors);
            let tanh = match args.bound.contains_key("approximate") {
                true => args.choice("approximate", &["none", "tanh"], errors)? == "tanh",
                false => false,
            };
            Some((LayerKind::Activation(Activation::Gelu { tanh_approximation: tanh }), false))
        }
        "prelu" => {
            let args = Args::bind(call, &["init", "per_unit"], 0, errors);
            let init = match args.bound.contains_key("init") {
                true => in_range(args.number("init", errors), |_| true, "finite", "init", errors)?,
                false => 0.25,
            };
            let per_unit = args.boolean("per_unit", errors).unwrap_or(false);
            Some((LayerKind::Prelu { init, per_unit }, false))
        }
        _ => {
            errors.at(call.name.span(), format!("unknown layer `{name}`; expected one of: {}", LAYERS.join(", ")));
            None
        }
    }
}

fn loss(call: &RawCall, errors: &mut Errors) -> Option<Loss> {
    Args::bind(call, &[], 0, errors);
    match call.name.to_string().as_str() {
        "softmax_cross_entropy" => Some(Loss::SoftmaxCrossEntropy),
        "binary_cross_entropy" => Some(Loss::BinaryCrossEntropy),
        "mse" => Some(Loss::MeanSquaredError),
        other => {
            errors.at(call.name.span(), format!("unknown loss `{other}`; expected one of: {}", LOSSES.join(", ")));
            None
        }
    }
}

fn optimizer(call: &RawCall, errors: &mut Errors) -> Option<Optimizer> {
    let name = call.name.to_string();
    let keys: &[&'static str] = match name.as_str() {
        "sgd" => &["lr", "clip_norm"],
        "momentum" | "nesterov" => &["lr", "beta", "clip_norm"],
        "rmsprop" => &["lr", "beta", "eps", "eps_inside", "clip_norm"],
        "adam" => &["lr", "beta1", "beta2", "eps", "clip_norm"],
        "adamw" => &["lr", "beta1", "beta2", "eps", "weight_decay", "clip_norm"],
        other => {
            errors.at(
                call.name.span(),
                format!("unknown optimizer `{other}`; expected one of: {}", OPTIMIZERS.join(", ")),
            );
            return None;
        }
    };
    let args = Args::bind(call, keys, 1, errors);
    // A number with a default, checked against its range.
    let value = |key: &str, default: f64, ok: fn(f64) -> bool, rule: &str, errors: &mut Errors| match args
        .bound
        .contains_key(key)
    {
        true => in_range(args.number(key, errors), ok, rule, key, errors),
        false => Some(default),
    };
    let fraction = |v: f64| (0.0..1.0).contains(&v);
    let non_negative = |v: f64| v >= 0.0;
    let positive = |v: f64| v > 0.0;
    let lr_default = if matches!(name.as_str(), "sgd" | "momentum" | "nesterov") { None } else { Some(1e-3) };
    let lr = match lr_default {
        None if !args.bound.contains_key("lr") => {
            errors.at(call.span, format!("`{name}` needs `lr`, e.g. `{name}(lr = 0.1)`"));
            None
        }
        default => value("lr", default.unwrap_or(0.0), non_negative, "finite and non-negative", errors),
    };
    let clip_norm = match args.bound.contains_key("clip_norm") {
        true => Some(in_range(args.number("clip_norm", errors), positive, "positive", "clip_norm", errors)),
        false => None,
    };
    let rule = match name.as_str() {
        "sgd" => Some(UpdateRule::Sgd),
        "momentum" | "nesterov" => value("beta", 0.9, fraction, "in [0, 1)", errors)
            .map(|beta| UpdateRule::Momentum { beta, nesterov: name == "nesterov" }),
        "rmsprop" => {
            let beta = value("beta", 0.9, fraction, "in [0, 1)", errors);
            let eps = value("eps", 1e-8, positive, "positive", errors);
            let eps_inside = args.boolean("eps_inside", errors).unwrap_or(true);
            Some(UpdateRule::RmsProp { beta: beta?, eps: eps?, eps_inside })
        }
        _ => {
            let beta1 = value("beta1", 0.9, fraction, "in [0, 1)", errors);
            let beta2 = value("beta2", 0.999, fraction, "in [0, 1)", errors);
            let eps = value("eps", 1e-8, positive, "positive", errors);
            let weight_decay = match name.as_str() {
                "adamw" => Some(value("weight_decay", 0.01, non_negative, "non-negative", errors)?),
                _ => None,
            };
            Some(UpdateRule::Adam { beta1: beta1?, beta2: beta2?, eps: eps?, weight_decay })
        }
    };
    let clip_norm = match clip_norm {
        Some(c) => Some(c?),
        None => None,
    };
    Some(Optimizer { rule: rule?, lr: lr?, clip_norm })
}

fn penalty(call: &RawCall, errors: &mut Errors) -> Option<Penalty> {
    let coefficient = |args: &Args, name: &str, errors: &mut Errors| {
        in_range(args.number(name, errors), |v| v >= 0.0, "non-negative", name, errors)
    };
    match call.name.to_string().as_str() {
        "l1" => {
            let args = Args::bind(call, &["a"], 1, errors);
            args.require("a", "l1(1e-5)", errors);
            Some(Penalty { l1: coefficient(&args, "a", errors)?, l2: 0.0 })
        }
        "l2" => {
            let args = Args::bind(call, &["a"], 1, errors);
            args.require("a", "l2(1e-4)", errors);
            Some(Penalty { l1: 0.0, l2: coefficient(&args, "a", errors)? })
        }
        "l1_l2" => {
            let args = Args::bind(call, &["l1", "l2"], 2, errors);
            args.require("l1", "l1_l2(1e-5, 1e-4)", errors);
            args.require("l2", "l1_l2(1e-5, 1e-4)", errors);
            let l1 = coefficient(&args, "l1", errors);
            let l2 = coefficient(&args, "l2", errors);
            Some(Penalty { l1: l1?, l2: l2? })
        }
        other => {
            errors.at(
                call.name.span(),
                format!("unknown regularizer `{other}`; expected one of: {}", REGULARIZERS.join(", ")),
            );
            None
        }
    }
}

fn expect_call<'a>(item: &'a RawItem, key: &str, errors: &mut Errors) -> Option<&'a RawCall> {
    match &item.value {
        RawValue::Call(c) => Some(c),
        _ => {
            errors.at(item_span(item), format!("`{key}` takes a name, e.g. `{key}: {}`", example_for(key)));
            None
        }
    }
}

fn example_for(key: &str) -> &'static str {
    match key {
        "loss" => "softmax_cross_entropy",
        "optimizer" => "sgd(lr = 0.1)",
        "regularize" => "l2(1e-4)",
        "dtype" => "f32",
        _ => "relu",
    }
}

/// Checks the raw tree and resolves every default.
pub fn check(raw: RawNetwork) -> syn::Result<Network> {
    let mut errors = Errors::default();
    let docs: Vec<_> = raw.attrs.iter().filter(|a| a.path().is_ident("doc")).cloned().collect();
    for attr in raw.attrs.iter().filter(|a| !a.path().is_ident("doc")) {
        errors.at(attr.path().span_or_call_site(), "only doc comments are allowed on the network struct");
    }
    let mut first_seen: BTreeMap<String, Span> = BTreeMap::new();
    let mut input: Option<(usize, Span)> = None;
    let mut loss_item: Option<(Loss, Span)> = None;
    let mut optimizer_item: Option<Optimizer> = None;
    let (mut dtype, mut fusion) = (DType::F32, true);
    let mut regularize = Penalty::default();
    let mut layers: Vec<DeclaredLayer> = Vec::new();
    let mut layer_names: BTreeMap<String, Span> = BTreeMap::new();
    let mut layer_lines = 0usize;

    for item in &raw.items {
        let key = item.key.as_ref().map(Ident::to_string);
        let span = item_span(item);
        let is_setting = key.as_deref().is_some_and(|k| ITEM_KEYS.contains(&k));
        let mut frozen = false;
        for attr in &item.attrs {
            if attr.path().is_ident("doc") {
                continue;
            }
            if attr.path().is_ident("frozen") && !is_setting && matches!(attr.meta, syn::Meta::Path(_)) {
                frozen = true;
            } else if attr.path().is_ident("frozen") && !is_setting {
                errors.at(attr.path().span_or_call_site(), "`#[frozen]` takes no arguments");
            } else if is_setting {
                errors.at(attr.path().span_or_call_site(), "attributes are allowed only on layers");
            } else {
                errors
                    .at(attr.path().span_or_call_site(), "unknown attribute on a layer; only `#[frozen]` is supported");
            }
        }
        if is_setting {
            let k = key.clone().expect("settings have keys");
            if let Some(first) = first_seen.get(&k) {
                let _ = first;
                errors.at(span, format!("`{k}` given twice"));
                continue;
            }
            first_seen.insert(k.clone(), span);
        }
        match key.as_deref() {
            Some("input") => {
                if layer_lines > 0 {
                    errors.at(span, "`input` must come before the first layer");
                }
                match &item.value {
                    RawValue::Dims(dims, dims_span) => match dims.as_slice() {
                        [d] => match d.base10_parse::<usize>() {
                            Ok(0) => errors.at(d.span(), "the input width must be at least 1"),
                            Ok(w) => input = Some((w, span)),
                            Err(e) => errors.at(d.span(), e),
                        },
                        _ => errors.at(*dims_span, "`input` takes one feature dimension, e.g. `input: [64]`"),
                    },
                    _ => errors.at(span, "`input` takes its shape in brackets, e.g. `input: [64]`"),
                }
            }
            Some("loss") => {
                if layer_lines == 0 {
                    errors.at(span, "`loss` comes before any layer; declare the layers first");
                }
                if let Some(l) = expect_call(item, "loss", &mut errors).and_then(|c| loss(c, &mut errors)) {
                    loss_item = Some((l, span));
                }
            }
            Some("optimizer") => {
                optimizer_item = expect_call(item, "optimizer", &mut errors).and_then(|c| optimizer(c, &mut errors));
            }
            Some("regularize") => {
                if let Some(p) = expect_call(item, "regularize", &mut errors).and_then(|c| penalty(c, &mut errors)) {
                    regularize = p;
                }
            }
            Some("dtype") => match expect_call(item, "dtype", &mut errors) {
                Some(c) if c.name == "f32" && c.args.is_empty() => dtype = DType::F32,
                Some(c) if c.name == "f64" && c.args.is_empty() => dtype = DType::F64,
                Some(c) => errors.at(c.span, format!("`dtype` takes `f32` or `f64`, found `{}`", c.name)),
                None => {}
            },
            Some("fusion") => match &item.value {
                RawValue::Bool(b) => fusion = b.value,
                _ => errors.at(span, "`fusion` takes `true` or `false`"),
            },
            _ => {
                // A layer line, named or not.
                let position = layer_lines;
                layer_lines += 1;
                if loss_item.is_some() || first_seen.contains_key("loss") {
                    errors.at(span, "layer after `loss`; the layers come first, then `loss` and `optimizer`");
                }
                let name = key.clone().unwrap_or_else(|| position.to_string());
                if let Some(k) = &item.key {
                    if layer_names.contains_key(&name) {
                        errors.at(k.span(), format!("duplicate layer name `{name}`"));
                    }
                    layer_names.insert(name.clone(), k.span());
                }
                let call = match &item.value {
                    RawValue::Call(c) => c,
                    _ => {
                        errors.at(span, "expected a layer, e.g. `dense(64)` or `relu`");
                        continue;
                    }
                };
                if let Some((kind, init_given)) = layer_kind(call, &mut errors) {
                    layers.push(DeclaredLayer { name, frozen, kind, init_given, span: call.span });
                }
            }
        }
    }
    let name_span = raw.name.span();
    if input.is_none() && !first_seen.contains_key("input") {
        errors.at(name_span, "missing `input: [..]` (the features per example, e.g. `input: [64]`)");
    }
    if !first_seen.contains_key("loss") {
        errors.at(name_span, format!("missing `loss: ..` (one of: {})", LOSSES.join(", ")));
    }
    if !first_seen.contains_key("optimizer") {
        errors.at(name_span, "missing `optimizer: ..` (e.g. `optimizer: sgd(lr = 0.1)`)");
    }
    errors.finish()?;

    // Default initializers: from the first activation after the dense layer.
    let resolved: Vec<Layer> = (0..layers.len())
        .map(|i| {
            let mut kind = layers[i].kind.clone();
            if let LayerKind::Dense { init, .. } = &mut kind
                && !layers[i].init_given
            {
                let next = layers[i + 1..].iter().find_map(|l| match &l.kind {
                    LayerKind::Dense { .. } => Some(None),
                    other => other.activation_family().map(Some),
                });
                *init = InitSpec::default_for(next.flatten());
            }
            Layer { name: layers[i].name.clone(), frozen: layers[i].frozen, kind, span: layers[i].span }
        })
        .collect();
    let (input_width, input_span) = input.expect("checked above");
    Ok(Network {
        docs,
        vis: raw.vis,
        name: raw.name,
        input_width,
        input_span,
        layers: resolved,
        loss: loss_item.expect("checked above"),
        optimizer: optimizer_item.expect("checked above"),
        dtype,
        fusion,
        regularize,
    })
}

trait SpanOrCallSite {
    fn span_or_call_site(&self) -> Span;
}

impl SpanOrCallSite for syn::Path {
    fn span_or_call_site(&self) -> Span {
        self.segments.first().map_or_else(Span::call_site, |s| s.ident.span())
    }
}
