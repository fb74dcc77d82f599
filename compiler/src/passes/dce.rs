//! Dead-code elimination: removes every node that no output and no update needs.
//!
//! This is what prunes the input's gradient (autodiff computes it, nothing reads it) and
//! the gradients of frozen layers. It does not fold or merge anything; see simplify.

use super::Pass;
use crate::ir::Graph;

/// The dce pass.
pub struct DeadCodeElimination;

impl Pass for DeadCodeElimination {
    fn name(&self) -> &'static str {
        "dce"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        let roots: Vec<_> = graph
            .outputs()
            .map(|(_, n)| n)
            .chain(graph.node_ids().into_iter().filter(|&n| graph.op(n).has_side_effect()))
            .collect();
        let live = graph.ancestors(roots);
        for n in graph.node_ids() {
            if !live.contains(&n) {
                graph.remove(n);
            }
        }
        Ok(())
    }
}
