//! The graph verifier, run by `passes::run` after every pass in builds with debug assertions
//! (the tests) and after the last pass of each pipeline otherwise. Invariants:
//!
//! 1. The graph is acyclic (a topological order covers every node).
//! 2. Every node has exactly `op.arity()` operands, at positions `0..arity`.
//! 3. Every node's shape is what shape inference gives for its operands.
//! 4. Index-typed values (labels) are read only by ops that take labels.
//! 5. Every output names a live node; the loss output is a scalar.
//! 6. An update's first operand is a parameter, and a parameter is updated at most once.
//! 7. A schedule, if present, lists every node once, operands before users, and the members
//!    of each fused group next to each other.
//! 8. Contracting each fused group to one node leaves the graph acyclic.
//! 9. A max-pool gradient reads the forward pool (with the same window) whose saved maxima it
//!    routes to.

use std::collections::{BTreeMap, BTreeSet};

use super::{Graph, Op, Output, infer};

/// Checks the invariants above; the error names the pass that broke them.
pub fn verify(graph: &Graph, after: &str) -> Result<(), String> {
    let fail = |why: String| Err(format!("IR verification failed after {after}: {why}\n{graph}"));
    let order = graph.topological_order();
    if order.len() != graph.len() {
        return fail("the graph has a cycle".into());
    }
    let mut updated = BTreeSet::new();
    for &n in &order {
        let node = graph.node(n);
        let operands = graph.operands(n);
        if operands.len() != node.op.arity() {
            return fail(format!("{} has {} operands", node.op.mnemonic(), operands.len()));
        }
        if !node.op.is_leaf() {
            let shapes: Vec<_> = operands.iter().map(|&o| graph.shape(o)).collect();
            match infer::infer(&node.op, &shapes, None) {
                Ok(s) if s == node.shape => {}
                Ok(s) => {
                    return fail(format!("{} has shape {}, inference gives {s}", node.op.mnemonic(), node.shape));
                }
                Err(why) => return fail(why),
            }
        }
        for (position, &o) in operands.iter().enumerate() {
            let takes_labels = matches!(node.op, Op::CrossEntropy | Op::CrossEntropyGrad | Op::SoftmaxCrossEntropy)
                && position == 1
                || matches!(node.op, Op::OneHot { .. });
            if graph.op(o).is_index() != takes_labels {
                return fail(format!("{} operand {position} has the wrong element type", node.op.mnemonic()));
            }
        }
        if let Op::MaxPool2dGrad(window) = &node.op
            && graph.op(operands[0]) != &Op::MaxPool2d(*window)
        {
            return fail(format!("{} does not read the forward pool whose maxima it routes to", node.op.mnemonic()));
        }
        if node.op.has_side_effect() {
            let target = operands[0];
            if !matches!(graph.op(target), Op::Param { .. }) {
                return fail(format!("{} does not write a parameter", node.op.mnemonic()));
            }
            if !updated.insert(target) {
                return fail(format!("{} is updated twice", graph.op(target).mnemonic()));
            }
        }
    }
    for (output, n) in graph.outputs() {
        if !graph.contains(n) {
            return fail(format!("output {output} names a removed node"));
        }
        if *output == Output::Loss && graph.shape(n).rank() != 0 {
            return fail("the loss is not a scalar".into());
        }
    }
    if let Some(schedule) = graph.schedule() {
        let position: BTreeMap<_, _> = schedule.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        if position.len() != graph.len() || schedule.len() != graph.len() {
            return fail("the schedule does not list every node once".into());
        }
        for &n in schedule {
            if graph.operands(n).iter().any(|o| position.get(o).is_none_or(|&p| p >= position[&n])) {
                return fail(format!("the schedule runs {} before an operand", graph.op(n).mnemonic()));
            }
        }
        for (g, members) in graph.groups() {
            let places: Vec<usize> = members.iter().map(|m| position[m]).collect();
            if places.iter().max().unwrap_or(&0) - places.iter().min().unwrap_or(&0) + 1 != members.len() {
                return fail(format!("the members of fused group {g} are not scheduled together"));
            }
        }
    }
    if !graph.groups_are_acyclic() {
        return fail("fused groups depend on each other in a cycle".into());
    }
    Ok(())
}
