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

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use super::Pass;
use crate::ir::{Graph, NodeId, Phase};

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
        // Users of each unit among the compute units (updates run last anyway).
        let mut users: BTreeMap<Unit, BTreeSet<Unit>> = members.keys().map(|&u| (u, BTreeSet::new())).collect();
        let mut operands: BTreeMap<Unit, BTreeSet<Unit>> = members.keys().map(|&u| (u, BTreeSet::new())).collect();
        for &n in &compute {
            for o in graph.operands(n) {
                let (from, to) = (unit_of(o), unit_of(n));
                if from != to {
                    users.get_mut(&from).expect("compute unit").insert(to);
                    operands.get_mut(&to).expect("compute unit").insert(from);
                }
            }
        }
        // Reverse Kahn: a unit is ready once all its users are placed; the ready unit with
        // the largest (phase, last member) goes last.
        let key = |u: Unit| {
            let last = *members[&u].iter().max().expect("non-empty unit");
            let phase = members[&u].iter().map(|&m| graph.node(m).phase).max().unwrap_or(Phase::Forward);
            (phase, last, u)
        };
        let mut unplaced: BTreeMap<Unit, usize> = users.iter().map(|(&u, s)| (u, s.len())).collect();
        let mut ready: BinaryHeap<(Phase, NodeId, Unit)> =
            unplaced.iter().filter(|(_, c)| **c == 0).map(|(&u, _)| key(u)).collect();
        let mut reversed = Vec::with_capacity(members.len());
        while let Some((_, _, u)) = ready.pop() {
            reversed.push(u);
            for &o in &operands[&u] {
                let count = unplaced.get_mut(&o).expect("compute unit");
                *count -= 1;
                if *count == 0 {
                    ready.push(key(o));
                }
            }
        }
        reversed.reverse();
        // Members of a group keep their topological order.
        let order: Vec<NodeId> = reversed.into_iter().flat_map(|u| members[&u].clone()).chain(updates).collect();
        graph.set_schedule(order);
        Ok(())
    }
}
