//! Scheduling: fixes the order in which generated code runs the nodes.
//!
//! Each node (or fused group, which runs as one kernel) runs as late as it can: just before
//! its first user. That keeps a gradient's inputs next to it in the listing, makes the
//! printed order follow the math (the forward pass, then the backward pass layer by layer
//! from the loss), and shortens how long each buffer is live. Among ready units, forward
//! ones come first, then later-created ones go last. Every side effect (updates, running
//! statistics) runs after everything else: nothing changes until the whole gradient is known,
//! which is what lets a step that fails its finiteness check leave the network untouched.
//! Buffer reuse is not planned here.

use std::collections::{BTreeMap, BTreeSet};

use super::Pass;
use crate::ir::{Graph, NodeId, Phase, kahn};

/// The schedule pass.
pub struct Schedule;

/// A scheduling unit: a fused group, or a single node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Group(u32),
    Node(NodeId),
}

impl Pass for Schedule {
    fn name(&self) -> &'static str {
        "schedule"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        let (updates, compute): (Vec<_>, Vec<_>) =
            graph.topological_order().into_iter().partition(|&n| graph.op(n).has_side_effect());
        let unit_of = |n: NodeId| graph.node(n).group.map_or(Unit::Node(n), Unit::Group);
        let mut members: BTreeMap<Unit, Vec<NodeId>> = BTreeMap::new();
        for &n in &compute {
            members.entry(unit_of(n)).or_default().push(n);
        }
        // Edges from each unit to its operands' units (among compute units: updates run last
        // anyway), so that sorting them places users first.
        let units: BTreeSet<Unit> = members.keys().copied().collect();
        let mut user_to_operand: BTreeSet<(Unit, Unit)> = BTreeSet::new();
        for &n in &compute {
            for o in graph.operands(n) {
                let (from, to) = (unit_of(o), unit_of(n));
                if from != to {
                    user_to_operand.insert((to, from));
                }
            }
        }
        // Built back to front: a unit is placed once all its users are, and among the ready
        // ones the largest (phase, last member) goes last.
        let key = |u: Unit| {
            let last = *members[&u].iter().max().expect("non-empty unit");
            let phase = members[&u].iter().map(|&m| graph.node(m).phase).max().unwrap_or(Phase::Forward);
            (phase, last)
        };
        let mut order = kahn(&units, &user_to_operand, key);
        order.reverse();
        // Members of a group keep their topological order.
        let order: Vec<NodeId> = order.into_iter().flat_map(|u| members[&u].clone()).chain(updates).collect();
        graph.set_schedule(order);
        Ok(())
    }
}
