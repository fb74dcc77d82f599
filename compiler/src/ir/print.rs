//! The canonical text form of a graph: the project's lingua franca.
//!
//! Nodes are renumbered `%0..%n` in execution order (the schedule, or a topological order),
//! each with its op, operands, dtype and shape, and as a trailing comment its label (or else
//! its layer and phase). No spans and no petgraph indices, so the text is stable across runs
//! and passes. Generated code names its locals by the same numbers ([`numbering`]).
//!
//! ```text
//! graph Net.train {
//!   %2 = matmul %0, %1^T    f32[B,128]  # fc1
//! }
//! output loss = %9
//! ```

use std::collections::BTreeMap;
use std::fmt;

use super::{Graph, NodeId, Op, Phase};

/// The printed line of every node (without indentation), aligned as in the whole listing.
pub fn node_lines(graph: &Graph) -> BTreeMap<NodeId, String> {
    let order = graph.order();
    let lines = lines(graph, &order);
    let text_width = lines.iter().map(|l| l.0.chars().count()).max().unwrap_or(0);
    let ty_width = lines.iter().map(|l| l.1.chars().count()).max().unwrap_or(0);
    order
        .iter()
        .zip(lines)
        .map(|(&n, (text, ty, comment))| {
            (n, format!("{text:<text_width$}  {ty:<ty_width$}{comment}").trim_end().to_string())
        })
        .collect()
}

/// The printed number `N` of every node's `%N`.
pub fn numbering(graph: &Graph) -> BTreeMap<NodeId, usize> {
    graph.order().into_iter().enumerate().map(|(i, n)| (n, i)).collect()
}

fn lines(graph: &Graph, order: &[NodeId]) -> Vec<(String, String, String)> {
    let this = graph;
    let number: BTreeMap<NodeId, usize> = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let name = |n: NodeId| number.get(&n).map_or_else(|| "%?".to_string(), |i| format!("%{i}"));
    order
        .iter()
        .map(|&n| {
            let node = this.node(n);
            let operands = this.operands(n);
            let mut text = format!("{} = {}", name(n), node.op.mnemonic());
            for (i, &o) in operands.iter().enumerate() {
                text.push_str(if i == 0 { " " } else { ", " });
                text.push_str(&name(o));
                if let Op::MatMul { transpose_a, transpose_b } = node.op
                    && ((i == 0 && transpose_a) || (i == 1 && transpose_b))
                {
                    text.push_str("^T");
                }
            }
            let dtype = if node.op.is_index() { "usize" } else { this.dtype.name() };
            let ty = format!("{dtype}{}", node.shape);
            // A label says what the node is; otherwise its layer and the phase that made it.
            let mut comment = match (&node.label, &node.layer, node.phase) {
                (Some(label), _, _) => format!("  # {label}"),
                (None, Some(l), Phase::Forward) => format!("  # {l}"),
                (None, Some(l), Phase::Gradient) => format!("  # {l} (grad)"),
                (None, Some(l), Phase::Update) => format!("  # {l} (update)"),
                (None, None, _) => String::new(),
            };
            if let Some(g) = node.group {
                comment.push_str(&format!(" [fused {g}]"));
            }
            (text, ty, comment)
        })
        .collect()
}

/// The whole listing of `graph` from its [`node_lines`] (so a caller that needs both
/// formats each line once).
pub fn listing(graph: &Graph, node_lines: &BTreeMap<NodeId, String>) -> String {
    let order = graph.order();
    let mut text = format!("graph {} {{\n", graph.name);
    for n in &order {
        text.push_str("  ");
        text.push_str(&node_lines[n]);
        text.push('\n');
    }
    text.push_str("}\n");
    let number: BTreeMap<NodeId, usize> = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    for (output, n) in graph.outputs() {
        let at = number.get(&n).map_or("%?".to_string(), |i| format!("%{i}"));
        text.push_str(&format!("output {output} = {at}\n"));
    }
    text
}

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&listing(self, &node_lines(self)))
    }
}
