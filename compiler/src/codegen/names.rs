//! Rust names for the things the generated code declares: buffers and kernels per node,
//! constants per parameter. Names say what a thing is (`fc1_matmul`, `act1_relu_grad`,
//! `grad_fc1_weight`) and are unique within a graph.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Ident, Span};

use crate::ir::{Graph, NodeId, Op, Output, Phase};

/// A Rust identifier fragment for a layer or parameter name (`fc1.weight` → `fc1_weight`,
/// `0` → `layer0`).
pub fn snake(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if cleaned.starts_with(|c: char| c.is_ascii_digit()) { format!("layer{cleaned}") } else { cleaned }
}

/// The constant holding a parameter's index (`fc1.weight` → `FC1_WEIGHT`).
pub fn param_const(name: &str) -> Ident {
    Ident::new(&snake(name).to_ascii_uppercase(), Span::call_site())
}

/// An identifier.
pub fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// The buffer (and kernel) name of every node that needs one.
pub fn buffer_names(graph: &Graph) -> BTreeMap<NodeId, String> {
    let mut taken = BTreeSet::new();
    let mut names = BTreeMap::new();
    let output_names: BTreeMap<NodeId, String> = graph
        .outputs()
        .filter_map(|(o, n)| match o {
            Output::Grad(param) => Some((n, format!("grad_{}", snake(param)))),
            Output::Loss => Some((n, "loss".to_string())),
            Output::Prediction => None,
        })
        .collect();
    for n in graph.order() {
        let node = graph.node(n);
        if node.op.is_supplied() {
            continue;
        }
        let base = output_names.get(&n).cloned().unwrap_or_else(|| {
            let layer = node.layer.as_deref().map_or_else(|| "graph".to_string(), snake);
            let op = node.op.ident();
            match node.phase {
                Phase::Gradient => format!("{layer}_{op}_grad"),
                Phase::Forward => format!("{layer}_{op}"),
                Phase::Update => match graph.op(graph.operands(n)[0]) {
                    Op::Param { name, .. } => format!("{}_{op}", snake(name)),
                    _ => format!("{layer}_{op}"),
                },
            }
        });
        let mut name = base.clone();
        let mut suffix = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base}_{suffix}");
            suffix += 1;
        }
        names.insert(n, name);
    }
    names
}
