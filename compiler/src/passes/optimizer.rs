//! The optimizer pass: an update node for every trainable parameter's gradient, and with
//! `clip_norm` the one clip factor they all share.
//!
//! The update reads the gradient output and writes the parameter (and its optimizer state,
//! kept by the runtime under PyTorch's names) in place; the learning rate and step count are
//! run-time values, so `set_lr` needs no recompilation. A frozen parameter has no gradient
//! output, so it gets no update and no state.

use super::Pass;
use crate::ir::{Graph, Op, Output, Phase, Real};
use crate::vocab::Optimizer;

/// Adds the optimizer's update nodes.
pub struct OptimizerUpdate {
    optimizer: Optimizer,
}

impl OptimizerUpdate {
    /// The pass for `optimizer`.
    pub fn new(optimizer: Optimizer) -> Self {
        OptimizerUpdate { optimizer }
    }
}

impl Pass for OptimizerUpdate {
    fn name(&self) -> &'static str {
        "optimizer"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        let grads: Vec<(String, _)> = graph
            .outputs()
            .filter_map(|(o, n)| if let Output::Grad(name) = o { Some((name.clone(), n)) } else { None })
            .collect();
        // With clip_norm, one factor scales every gradient: min(1, c / (‖g‖ + 1e-6)).
        let clip = match (self.optimizer.clip_norm, grads.first()) {
            (Some(max_norm), Some(&(_, first))) => {
                let operands: Vec<_> = grads.iter().map(|g| g.1).collect();
                let op = Op::ClipScale { max_norm: Real(max_norm), count: operands.len() };
                Some(graph.add(op, &operands, Some("optimizer".into()), Phase::Update, graph.node(first).span)?)
            }
            _ => None,
        };
        for (name, grad) in grads {
            let param = graph.param(&name).expect("a gradient output names a parameter node");
            let op = Op::Update { rule: self.optimizer.rule, clipped: clip.is_some() };
            let operands: Vec<_> = [param, grad].into_iter().chain(clip).collect();
            let update = graph.add_like(param, Phase::Update, op, &operands)?;
            graph.set_label(update, format!("{name}.update"));
        }
        Ok(())
    }
}
