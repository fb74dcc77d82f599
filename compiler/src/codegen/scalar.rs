//! Scalar expressions of the elementwise ops, for fused loop bodies: `relu(v3)`,
//! `v4 * g[i]`. The formulas themselves live in the runtime's `scalar` module.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::kernel::float;
use crate::ir::{Activation, Binary, DType, Unary};

/// The expression computing `op` of the value `v`.
pub fn unary(op: Unary, dtype: DType, v: TokenStream) -> TokenStream {
    let scalar = quote!(::gradc::__private::scalar);
    match op {
        Unary::Neg => quote!(-(#v)),
        Unary::Sign => quote!(#scalar::sign(#v)),
        Unary::RsqrtGradFromOutput => quote!(#scalar::rsqrt_grad_from_output(#v)),
        Unary::Rsqrt { eps } => {
            let eps = float(eps, dtype);
            quote!(#scalar::rsqrt(#v, #eps))
        }
        Unary::NegativePart => quote!(#scalar::negative_part(#v)),
        Unary::Act(Activation::LeakyRelu { alpha }) => {
            let alpha = float(alpha, dtype);
            quote!(#scalar::leaky_relu(#v, #alpha))
        }
        Unary::Act(Activation::Elu { alpha }) => {
            let alpha = float(alpha, dtype);
            quote!(#scalar::elu(#v, #alpha))
        }
        Unary::ActGrad(Activation::LeakyRelu { alpha }) => {
            let alpha = float(alpha, dtype);
            quote!(#scalar::leaky_relu_grad(#v, #alpha))
        }
        Unary::ActGrad(Activation::Elu { alpha }) => {
            let alpha = float(alpha, dtype);
            quote!(#scalar::elu_grad(#v, #alpha))
        }
        Unary::Act(a) => {
            let f = format_ident!("{}", a.ident());
            quote!(#scalar::#f(#v))
        }
        Unary::ActGrad(a) => {
            let f = if a.grad_from_output() {
                format_ident!("{}_grad_from_output", a.ident())
            } else {
                format_ident!("{}_grad", a.ident())
            };
            quote!(#scalar::#f(#v))
        }
    }
}

/// The expression computing `op` of the values `a` and `b`.
pub fn binary(op: Binary, a: TokenStream, b: TokenStream) -> TokenStream {
    let scalar = quote!(::gradc::__private::scalar);
    match op {
        Binary::Add => quote!(#a + #b),
        Binary::Sub => quote!(#a - #b),
        Binary::Mul => quote!(#a * #b),
        Binary::Prelu => quote!(#scalar::prelu(#a, #b)),
        Binary::PreluGradInput => quote!(#scalar::prelu_grad_input(#a, #b)),
    }
}
