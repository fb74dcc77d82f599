//! What the declaration may ask for at all: every number must be representable in the
//! network's float type, and every tensor small enough to index. Both are spanned errors at
//! the offending token, rather than a panic in a later stage or at run time.

use super::ast::Layer;
use super::errors::Errors;
use super::parse::{RawArgValue, RawCall, RawItem, RawValue};
use crate::ir::DType;

/// The most values one tensor may hold (2^34: 64 GiB of f32), per example for activations.
pub const MAX_TENSOR_VALUES: u64 = 1 << 34;

/// Reports every number in `items` (layer and setting arguments, nested initializers, tuples,
/// blocks, `#[lr_scale]`) that overflows or vanishes in `dtype`.
pub fn check_numbers(items: &[RawItem], dtype: DType, errors: &mut Errors) {
    if dtype == DType::F64 {
        return; // the parser's numbers are f64 already
    }
    for item in items {
        match &item.value {
            RawValue::Call(call) => call_numbers(call, errors),
            RawValue::Block(call, inner) => {
                call_numbers(call, errors);
                check_numbers(inner, dtype, errors);
            }
            RawValue::Dims(..) | RawValue::Bool(_) => {}
        }
        for attr in &item.attrs {
            if let syn::Meta::NameValue(meta) = &attr.meta
                && let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Float(f), .. }) = &meta.value
                && let Ok(value) = f.base10_parse::<f64>()
            {
                number(value, f.base10_digits(), f.span(), errors);
            }
        }
    }
}

fn call_numbers(call: &RawCall, errors: &mut Errors) {
    for arg in &call.args {
        value_numbers(&arg.value, errors);
    }
}

fn value_numbers(value: &RawArgValue, errors: &mut Errors) {
    match value {
        RawArgValue::Number { value, text, span, .. } => number(*value, text, *span, errors),
        RawArgValue::Call(call) => call_numbers(call, errors),
        RawArgValue::Tuple(items, _) => items.iter().for_each(|v| value_numbers(v, errors)),
        RawArgValue::Bool(_) => {}
    }
}

/// A number that becomes infinite or 0 in f32 (the checker reports non-finite ones).
fn number(value: f64, text: &str, span: proc_macro2::Span, errors: &mut Errors) {
    if !value.is_finite() {
        return;
    }
    let single = value as f32;
    if single.is_infinite() {
        errors.at(span, format!("`{text}` does not fit in f32 (at most {:e}); declare `dtype: f64`", f32::MAX));
    } else if single == 0.0 && value != 0.0 {
        errors.at(
            span,
            format!("`{text}` rounds to 0 in f32 (the smallest is {:e}); declare `dtype: f64`", f32::from_bits(1)),
        );
    }
}

/// Reports each layer whose output (per example) or whose parameters would hold more than
/// [`MAX_TENSOR_VALUES`] values, or whose sizes overflow when multiplied.
pub fn check_sizes(layers: &[Layer], params: &[super::ParamDecl], errors: &mut Errors) {
    let count = |shape: &[usize]| shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64));
    for layer in layers {
        let tensors = std::iter::once((format!("the output of `{}`", layer.name), layer.output_shape.as_slice()))
            .chain(
                params.iter().filter(|p| p.layer == layer.name).map(|p| (format!("`{}`", p.name), p.shape.as_slice())),
            );
        for (what, shape) in tensors {
            match count(shape) {
                Some(n) if n <= MAX_TENSOR_VALUES => {}
                Some(n) => errors.at(
                    layer.span,
                    format!("{what} would hold {n} values; the limit is 2^34 ({MAX_TENSOR_VALUES}) per tensor"),
                ),
                None => errors.at(layer.span, format!("{what} would hold more values than a 64-bit count")),
            }
        }
    }
}
