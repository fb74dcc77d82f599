//! Scheduling: fixes the order in which generated code runs the nodes.
//!
//! A topological order that prefers lower node ids (so forward before backward, close to
//! the order the user wrote), with every update after everything else: no parameter changes
//! until the whole gradient is known, which is what lets a step that fails its finiteness
//! check leave the network untouched. Buffer reuse is not planned here yet.

use super::Pass;
use crate::ir::Graph;

/// The schedule pass.
pub struct Schedule;

impl Pass for Schedule {
    fn name(&self) -> &'static str {
        "schedule"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        let (updates, compute): (Vec<_>, Vec<_>) =
            graph.topological_order().into_iter().partition(|&n| graph.op(n).has_side_effect());
        graph.set_schedule(compute.into_iter().chain(updates).collect());
        Ok(())
    }
}
