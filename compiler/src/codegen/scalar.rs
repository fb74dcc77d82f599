//! Scalar expressions of the elementwise ops: `scalar::relu(v3)`, `v4 * g[i]`. The formulas
//! live in the runtime's `scalar` module, under the names the vocabulary gives
//! ([`Activation::function`](crate::vocab::Activation::function) and its derivative).

use proc_macro2::TokenStream;
use quote::quote;

use super::kernel::float;
use super::names::ident;
use crate::ir::{Binary, DType, Real, Unary};

/// `rt::scalar::NAME(v, constants..)`.
fn call(function: &str, v: TokenStream, constants: &[Real], dtype: DType) -> TokenStream {
    let f = ident(function);
    let constants = constants.iter().map(|c| float(c.0, dtype));
    quote!(rt::scalar::#f(#v #(, #constants)*))
}

/// The expression computing `op` of the value `v`.
pub fn unary(op: Unary, dtype: DType, v: TokenStream) -> TokenStream {
    match op {
        Unary::Neg => quote!(-(#v)),
        Unary::Sign => call("sign", v, &[], dtype),
        Unary::RsqrtGradFromOutput => call("rsqrt_grad_from_output", v, &[], dtype),
        Unary::Rsqrt { eps } => call("rsqrt", v, &[eps], dtype),
        Unary::NegativePart => call("negative_part", v, &[], dtype),
        Unary::Act(a) => call(a.function(), v, &a.constants(), dtype),
        Unary::ActGrad(a) => call(a.derivative().function, v, &a.constants(), dtype),
    }
}

/// The expression computing `op` of the values `a` and `b`.
pub fn binary(op: Binary, dtype: DType, a: TokenStream, b: TokenStream) -> TokenStream {
    match op {
        Binary::Add => quote!(#a + #b),
        Binary::Sub => quote!(#a - #b),
        Binary::Mul => quote!(#a * #b),
        Binary::Prelu => call("prelu", quote!(#a, #b), &[], dtype),
        Binary::PreluGradInput => call("prelu_grad_input", quote!(#a, #b), &[], dtype),
    }
}
