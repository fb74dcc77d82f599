//! Graphviz output of a graph, numbered like the text printer, one cluster per layer.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Graph, NodeId, Phase};

/// The graph in Graphviz `dot` syntax; forward nodes are white, gradient nodes blue, updates
/// orange, and each layer is a cluster.
pub fn to_dot(graph: &Graph) -> String {
    let order = graph.order();
    let number: BTreeMap<NodeId, usize> = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let mut clusters: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
    for &n in &order {
        clusters.entry(graph.node(n).layer.clone().unwrap_or_default()).or_default().push(n);
    }
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", graph.name);
    let _ = writeln!(out, "  rankdir=TB;\n  node [shape=box, style=filled, fontname=\"monospace\"];");
    for (i, (layer, nodes)) in clusters.iter().enumerate() {
        let indent = if layer.is_empty() { "  " } else { "    " };
        if !layer.is_empty() {
            let _ = writeln!(out, "  subgraph cluster_{i} {{\n    label=\"{layer}\";");
        }
        for &n in nodes {
            let node = graph.node(n);
            let color = match node.phase {
                Phase::Forward => "white",
                Phase::Gradient => "lightblue",
                Phase::Update => "orange",
            };
            let label = format!("%{} {}\\n{}", number[&n], node.op.mnemonic(), node.shape);
            let _ =
                writeln!(out, "{indent}n{} [label=\"{}\", fillcolor={color}];", number[&n], label.replace('"', "'"));
        }
        if !layer.is_empty() {
            let _ = writeln!(out, "  }}");
        }
    }
    for &n in &order {
        for (position, o) in graph.operands(n).into_iter().enumerate() {
            let _ = writeln!(out, "  n{} -> n{} [label=\"{position}\"];", number[&o], number[&n]);
        }
    }
    for (output, n) in graph.outputs() {
        let _ = writeln!(out, "  \"{output}\" [shape=plaintext, style=\"\"];\n  n{} -> \"{output}\";", number[&n]);
    }
    out.push_str("}\n");
    out
}
