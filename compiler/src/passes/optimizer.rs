//! The optimizer pass: an update node for every trainable parameter's gradient.
//!
//! The update reads the gradient output and writes the parameter in place; its learning
//! rate is run-time state, so `set_lr` needs no recompilation. A parameter that is frozen
//! has no gradient output and so gets no update.

use super::Pass;
use crate::dsl::ast::Optimizer;
use crate::ir::{Graph, Op, Output, Phase};

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
        for (name, grad) in grads {
            let param = graph.param(&name).expect("a gradient output names a parameter node");
            let op = match self.optimizer {
                // θ ← θ − η·g
                Optimizer::Sgd { .. } => Op::SgdUpdate,
            };
            graph.add_like(param, Phase::Update, op, &[param, grad])?;
        }
        Ok(())
    }
}
