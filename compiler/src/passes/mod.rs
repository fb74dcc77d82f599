//! The passes over the graph IR, one per file, all with the same signature.
//!
//! The pipelines below are the whole story of the compiler after lowering.

mod autodiff;
mod cse;
mod dce;
mod drop_bias_before_batch_norm;
mod fold_batch_norm;
mod fuse_elementwise;
mod one_pass_variance;
mod optimizer;
mod rematerialize;
mod schedule;
mod simplify;

pub use autodiff::Autodiff;
pub use cse::CommonSubexpressions;
pub use dce::DeadCodeElimination;
pub use drop_bias_before_batch_norm::DropBiasBeforeBatchNorm;
pub use fold_batch_norm::FoldBatchNorm;
pub use fuse_elementwise::FuseElementwise;
pub use one_pass_variance::OnePassVariance;
pub use optimizer::OptimizerUpdate;
pub use rematerialize::Rematerialize;
pub use schedule::Schedule;
pub use simplify::Simplify;

use crate::ir::Graph;
use crate::vocab::Optimizer;

/// A transformation of the graph in place.
pub trait Pass {
    /// A short name for traces and snapshots (`autodiff`).
    fn name(&self) -> &'static str;
    /// Runs the pass. Errors point at the user's declaration.
    fn run(&self, graph: &mut Graph) -> syn::Result<()>;
}

/// What the pipelines are configured with: the declaration's settings that the passes read.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Whether the fusion passes run (`fusion:` in the declaration).
    pub fusion: bool,
    /// The optimizer whose updates the optimizer pass adds.
    pub optimizer: Optimizer,
}

/// The passes that turn the lowered training graph into the compiled training step.
pub fn training_pipeline(options: &Options) -> Vec<Box<dyn Pass>> {
    let mut passes: Vec<Box<dyn Pass>> = Vec::new();
    if options.fusion {
        // Batch norm cancels the dense bias before it: center the GEMM output directly.
        passes.push(Box::new(DropBiasBeforeBatchNorm));
    }
    passes.extend::<[Box<dyn Pass>; 4]>([
        // Gradients of the loss for every parameter, built from each op's VJP rule.
        Box::new(Autodiff),
        // The optimizer's update for each trainable parameter, as graph nodes.
        Box::new(OptimizerUpdate::new(options.optimizer)),
        // Algebra: stable loss forms, x·1, constant folding; with common subexpressions merged.
        Box::new(Simplify::default()),
        // Drop what no output needs: the input's gradient, frozen layers' gradients.
        Box::new(DeadCodeElimination),
    ]);
    if options.fusion {
        // Batch statistics in one pass: the variance from shifted sums.
        passes.push(Box::new(OnePassVariance));
        // Drop the two-pass statistic it replaced.
        passes.push(Box::new(DeadCodeElimination));
        // The backward pass recomputes cheap forward values instead of reading them back.
        passes.push(Box::new(Rematerialize));
        // One kernel per GEMM + elementwise/row-sum region, forward and backward.
        passes.push(Box::new(FuseElementwise));
    }
    // Fix the execution order: the forward and backward computation, then the updates.
    passes.push(Box::new(Schedule));
    passes
}

/// The passes that turn the lowered inference graph into the compiled `forward`.
pub fn inference_pipeline(options: &Options) -> Vec<Box<dyn Pass>> {
    evaluation_pipeline(options, true)
}

/// The passes that turn the lowered inspection graph into the compiled `activations`: the
/// inference pipeline without batch-norm folding, which would leave the layers before each
/// batch norm without an output of their own. Fusion keeps every layer's output (each is an
/// output of the graph) and, now that repeated fused kernels are shared, makes the module
/// smaller: W3's has 11,200 tokens fused against 24,600 unfused (a node per kernel).
pub fn inspection_pipeline(options: &Options) -> Vec<Box<dyn Pass>> {
    evaluation_pipeline(options, false)
}

/// The passes of a graph that only evaluates, folding batch norm into the layer before it if
/// `fold_batch_norm`.
fn evaluation_pipeline(options: &Options, fold_batch_norm: bool) -> Vec<Box<dyn Pass>> {
    let mut passes: Vec<Box<dyn Pass>> = vec![Box::new(Simplify::default())];
    if options.fusion && fold_batch_norm {
        // Evaluation-mode batch norm becomes part of the dense layer's weights and bias.
        passes.push(Box::new(FoldBatchNorm));
    }
    passes.push(Box::new(DeadCodeElimination));
    if options.fusion {
        passes.push(Box::new(FuseElementwise));
    }
    passes.push(Box::new(Schedule));
    passes
}

/// Runs `passes` in order, verifying the graph and showing it to `observe` after each.
///
/// Built with debug assertions (the tests, a macro in a debug build) the graph is verified
/// after every pass, so a broken invariant names the pass that broke it; otherwise once, after
/// the last: verifying takes about a seventh of an unoptimized macro's time per pass.
pub fn run(graph: &mut Graph, passes: &[Box<dyn Pass>], mut observe: impl FnMut(&str, &Graph)) -> syn::Result<()> {
    for (index, pass) in passes.iter().enumerate() {
        pass.run(graph)?;
        let last = index + 1 == passes.len();
        if cfg!(debug_assertions) || last {
            let after = match cfg!(debug_assertions) {
                true => pass.name().to_string(),
                false => format!("the passes up to {}", pass.name()),
            };
            crate::ir::verify(graph, &after).map_err(|why| {
                syn::Error::new(proc_macro2::Span::call_site(), format!("gradc internal error: {why}"))
            })?;
        }
        observe(pass.name(), graph);
    }
    Ok(())
}
