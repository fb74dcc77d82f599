//! The gradc compiler as a plain library.
//!
//! `network!` (in `gradc-macros`) is a thin shell over [`expand`]. The stages, each a module:
//! [`dsl`] parses and checks the declaration, [`lower`] builds the forward graph IR ([`ir`]),
//! [`passes`] derive gradients and updates and optimize, and [`codegen`] emits Rust. Below
//! them all, [`vocab`] declares the DSL's words once (layers, activations, initializers,
//! optimizers, losses, regularizers). Each module imports only from the ones before it in
//! the order vocab → ir → dsl → lower → passes → codegen.
//!
//! ```
//! let tokens: proc_macro2::TokenStream = "struct Net { input: [4], out: dense(2), \
//!     loss: mse, optimizer: sgd(lr = 0.1) }".parse().unwrap();
//! let compiled = gradc_compiler::compile(tokens).unwrap();
//! assert!(compiled.train.to_string().contains("sgd_update"));
//! ```

pub mod codegen;
pub mod dsl;
pub mod ir;
pub mod lower;
pub mod passes;
pub mod vocab;

use proc_macro2::TokenStream;

use crate::dsl::ast::Network;
use crate::ir::{Graph, Mode};

/// A network after every pass: its declaration and its compiled graphs.
pub struct Compiled {
    /// The checked declaration.
    pub network: Network,
    /// The inference graph.
    pub forward: Graph,
    /// The training graph.
    pub train: Graph,
    /// The inference graph with every layer's output kept (`activations`).
    pub inspect: Graph,
    /// The training graph the step runs while a batch norm is frozen at run time (for
    /// networks with a batch norm that trains; see [`ir::Mode::FineTuning`]).
    pub fine_tune: Option<Graph>,
}

/// Parses, checks, lowers and runs every pass, without generating code.
pub fn compile(tokens: TokenStream) -> syn::Result<Compiled> {
    let network = dsl::check(dsl::parse(tokens)?)?;
    let options = pass_options(&network);
    let mut forward = lower::lower(&network, Mode::Inference)?;
    passes::run(&mut forward, &passes::inference_pipeline(&options), |_, _| {})?;
    let mut inspect = lower::lower(&network, Mode::Inspection)?;
    passes::run(&mut inspect, &passes::inspection_pipeline(&options), |_, _| {})?;
    let mut train = lower::lower(&network, Mode::Training)?;
    passes::run(&mut train, &passes::training_pipeline(&options), |_, _| {})?;
    let trains_batch_norm =
        network.layers.iter().any(|l| matches!(l.kind, vocab::LayerKind::BatchNorm { .. }) && !l.frozen);
    let fine_tune = match trains_batch_norm {
        true => {
            let mut graph = lower::lower(&network, Mode::FineTuning)?;
            passes::run(&mut graph, &passes::training_pipeline(&options), |_, _| {})?;
            Some(graph)
        }
        false => None,
    };
    Ok(Compiled { network, forward, train, inspect, fine_tune })
}

/// The pass options a declaration asks for.
pub fn pass_options(network: &Network) -> passes::Options {
    passes::Options { fusion: network.fusion, optimizer: network.optimizer }
}

/// The whole compiler: macro input to generated code.
pub fn try_expand(tokens: TokenStream) -> syn::Result<TokenStream> {
    let compiled = compile(tokens)?;
    let graphs = codegen::Graphs {
        forward: &compiled.forward,
        train: &compiled.train,
        inspect: &compiled.inspect,
        fine_tune: compiled.fine_tune.as_ref(),
    };
    Ok(codegen::generate(&compiled.network, &graphs))
}

/// [`try_expand`], with errors turned into `compile_error!` plus a stub of the struct, so the
/// user sees the real error rather than a cascade of "cannot find type".
pub fn expand(tokens: TokenStream) -> TokenStream {
    match try_expand(tokens.clone()) {
        Ok(code) => code,
        Err(error) => {
            let mut out = error.to_compile_error();
            out.extend(stub(tokens));
            out
        }
    }
}

/// The struct with the generated API's signatures (see [`codegen::error_stub`]), with the
/// declared visibility and float type, if the header can be read.
fn stub(tokens: TokenStream) -> TokenStream {
    use proc_macro2::TokenTree;
    let mut iter = tokens.into_iter().peekable();
    let mut visibility = TokenStream::new();
    while let Some(tree) = iter.next() {
        match &tree {
            TokenTree::Ident(i) if i == "struct" => {
                let Some(TokenTree::Ident(name)) = iter.next() else {
                    return TokenStream::new();
                };
                let Ok(vis) = syn::parse2::<syn::Visibility>(visibility) else {
                    return TokenStream::new();
                };
                let dtype = match iter.next() {
                    Some(TokenTree::Group(body)) if declares_f64(body.stream()) => ir::DType::F64,
                    _ => ir::DType::F32,
                };
                return codegen::error_stub(&vis, &name, dtype);
            }
            TokenTree::Punct(p) if p.as_char() == '#' => {
                // Skip attributes (doc comments) on the struct.
                iter.next();
            }
            // Keep the visibility (`pub`, `pub(crate)`); anything else before `struct` is the
            // mistake being reported and would make the stub unparsable.
            TokenTree::Ident(i) if i == "pub" => {
                visibility.extend([tree.clone()]);
                if let Some(TokenTree::Group(g)) = iter.peek()
                    && g.delimiter() == proc_macro2::Delimiter::Parenthesis
                {
                    visibility.extend(iter.next());
                }
            }
            _ => {}
        }
    }
    TokenStream::new()
}

/// Whether a declaration's body says `dtype: f64`.
fn declares_f64(body: TokenStream) -> bool {
    let trees: Vec<proc_macro2::TokenTree> = body.into_iter().collect();
    trees.windows(3).any(|w| matches!(w, [proc_macro2::TokenTree::Ident(d), proc_macro2::TokenTree::Punct(c), proc_macro2::TokenTree::Ident(t)]
        if d == "dtype" && c.as_char() == ':' && t == "f64"))
}
