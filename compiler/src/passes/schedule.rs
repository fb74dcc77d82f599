//! Scheduling: fixes the order in which generated code runs the nodes.
//!
//! Each node runs as late as it can: just before its first user. That keeps a gradient's
//! inputs next to it in the listing, makes the printed order follow the math (the forward
//! pass, then the backward pass layer by layer from the loss), and shortens how long each
//! buffer is live, which a later buffer-reuse plan can exploit. Ties go to creation order.
//! Every update runs after everything else: no parameter changes until the whole gradient
//! is known, which is what lets a step that fails its finiteness check leave the network
//! untouched. Among ready nodes, forward ones come first. Buffer reuse itself is not planned here.

use std::collections::{BTreeMap, BinaryHeap};

use super::Pass;
use crate::ir::{Graph, NodeId, Phase};

/// The schedule pass.
pub struct Schedule;

impl Pass for Schedule {
    fn name(&self) -> &'static str {
        "schedule"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        let (updates, compute): (Vec<_>, Vec<_>) =
            graph.topological_order().into_iter().partition(|&n| graph.op(n).has_side_effect());
        // Reverse Kahn over the compute nodes: a node is ready once all its compute users are
        // placed; the latest-created ready node goes last, gradient nodes after forward ones.
        let mut unplaced_users: BTreeMap<NodeId, usize> = compute
            .iter()
            .map(|&n| (n, graph.users(n).iter().filter(|u| !graph.op(**u).has_side_effect()).count()))
            .collect();
        let key = |n: NodeId| (graph.node(n).phase, n);
        let mut ready: BinaryHeap<(Phase, NodeId)> =
            unplaced_users.iter().filter(|(_, c)| **c == 0).map(|(&n, _)| key(n)).collect();
        let mut reversed = Vec::with_capacity(compute.len());
        while let Some((_, n)) = ready.pop() {
            reversed.push(n);
            let mut operands = graph.operands(n);
            operands.dedup();
            for o in operands {
                let count = unplaced_users.get_mut(&o).expect("operands are compute nodes");
                *count -= 1;
                if *count == 0 {
                    ready.push(key(o));
                }
            }
        }
        reversed.reverse();
        graph.set_schedule(reversed.into_iter().chain(updates).collect());
        Ok(())
    }
}
