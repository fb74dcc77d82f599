//! The `network!` macro of gradc. A thin shell: the compiler is the `gradc-compiler`
//! library, so everything it does is tested without a procedural macro.

/// Declares a network and generates its specialized training and inference code.
/// See the `gradc` crate for the DSL.
#[proc_macro]
pub fn network(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    gradc_compiler::expand(input.into()).into()
}
