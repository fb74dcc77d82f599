//! Common subexpression elimination: nodes with the same op (compared by structure, numbers
//! by their bits), the same shape and the same operands compute the same value; all readers
//! of the later ones read the first instead.
//!
//! Never merged: parameters, inputs and other supplied leaves (each is its own tensor),
//! random masks (each draw differs) and side effects. Constants are merged by value.
//! Simplify also runs this inside its fixpoint, where merging and rewriting enable each other.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::Pass;
use crate::ir::{Graph, NodeId, Op, Shape};

/// The CSE pass.
pub struct CommonSubexpressions;

impl Pass for CommonSubexpressions {
    fn name(&self) -> &'static str {
        "cse"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        merge_common_subexpressions(graph);
        Ok(())
    }
}

/// Merges every node into the first equal one; whether anything changed.
pub fn merge_common_subexpressions(graph: &mut Graph) -> bool {
    let order = graph.topological_order();
    // Sized for every node, and hashed once per node (`entry`), as this runs in every sweep of
    // simplify's fixpoint.
    let mut seen: HashMap<(Op, Shape, Vec<NodeId>), NodeId> = HashMap::with_capacity(order.len());
    let mut changed = false;
    for n in order {
        let op = graph.op(n);
        if op.has_side_effect() || op.is_random() || (op.is_leaf() && !matches!(op, Op::Const(_))) {
            continue;
        }
        let key = (op.clone(), graph.shape(n).clone(), graph.operands(n));
        match seen.entry(key) {
            Entry::Occupied(first) => {
                graph.replace_uses(n, *first.get());
                graph.remove(n);
                changed = true;
            }
            Entry::Vacant(slot) => {
                slot.insert(n);
            }
        }
    }
    changed
}
