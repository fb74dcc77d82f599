//! Rust names for the things the generated code declares: a buffer and a kernel per node,
//! a constant per parameter, a local per fused value. Names say what a thing is: a node's
//! label (`bn1_mean`, `fc1_dweight`), else its layer and op (`fc1_matmul`); a name taken
//! twice gets the node's IR number (`act1_mul_17` computes `%17`), and fused kernels' locals
//! are the IR numbers themselves (`v9` is `%9`).

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Ident, Span};

use crate::ir::{Graph, NodeId, numbering};

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

/// Identifiers bound where kernels are called (the run functions' arguments and locals) or
/// inside fused loops (indices), and the graph module's own functions: a node named like one
/// of them takes its IR number too. (A plain kernel's parameters may share its name.)
const RESERVED: &[&str] = &[
    "BLOCK",
    "b0",
    "base",
    "batch",
    "buffers",
    "bytes",
    "c",
    "c0",
    "cols",
    "forward",
    "gradient",
    "i",
    "inspect",
    "j",
    "labels",
    "len",
    "loss_and_grads",
    "lr",
    "p",
    "params",
    "r",
    "rng",
    "staging",
    "state",
    "step",
    "stripes",
    "targets",
    "training",
    "update",
    "x",
];

/// Whether `name` is reserved, shaped like a fused kernel's locals (`v12`, `col3`, a buffer's
/// `fc1_row` or `col3_block`) or like a kernel's own extra buffer (`conv1_columns`,
/// `pool1_argmax`).
fn is_reserved(name: &str) -> bool {
    if ["_columns", "_argmax", "_row", "_block"].iter().any(|suffix| name.ends_with(suffix)) {
        return true;
    }
    let numbered = |prefix: &str| {
        name.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
    };
    RESERVED.contains(&name) || numbered("v") || numbered("col")
}

/// The names of one graph's nodes, and its IR numbering.
pub struct Names {
    buffers: BTreeMap<NodeId, String>,
    number: BTreeMap<NodeId, usize>,
    /// The graph's outputs, and the parameter each gradient output is of (looked up per node
    /// by codegen, so kept here rather than recomputed).
    outputs: BTreeSet<NodeId>,
    gradient_of: BTreeMap<NodeId, String>,
}

impl Names {
    /// Names every node of `graph` that needs a buffer (all but supplied values).
    pub fn of(graph: &Graph) -> Self {
        let number = numbering(graph);
        let mut taken = BTreeSet::new();
        let mut buffers = BTreeMap::new();
        for n in graph.order() {
            let node = graph.node(n);
            if node.op.is_supplied() {
                continue;
            }
            let base = match &node.label {
                Some(label) => snake(label),
                None => {
                    let layer = node.layer.as_deref().map_or_else(|| "graph".to_string(), snake);
                    format!("{layer}_{}", node.op.ident())
                }
            };
            let name = match taken.contains(&base) || is_reserved(&base) {
                true => format!("{base}_{}", number[&n]),
                false => base,
            };
            taken.insert(name.clone());
            buffers.insert(n, name);
        }
        let outputs = graph.outputs().map(|(_, n)| n).collect();
        let gradient_of = graph
            .outputs()
            .filter_map(|(out, n)| match out {
                crate::ir::Output::Grad(name) => Some((n, name.clone())),
                _ => None,
            })
            .collect();
        Names { buffers, number, outputs, gradient_of }
    }

    /// Whether `n` is one of the graph's outputs.
    pub fn is_output(&self, n: NodeId) -> bool {
        self.outputs.contains(&n)
    }

    /// The parameter whose gradient `n` is, if it is a gradient output.
    pub fn gradient_of(&self, n: NodeId) -> Option<&str> {
        self.gradient_of.get(&n).map(String::as_str)
    }

    /// The buffer (and kernel) name of `n`.
    pub fn buffer(&self, n: NodeId) -> &str {
        &self.buffers[&n]
    }

    /// Whether `n` has a buffer name (supplied values do not).
    pub fn has_buffer(&self, n: NodeId) -> bool {
        self.buffers.contains_key(&n)
    }

    /// Every buffer name.
    pub fn all_buffers(&self) -> impl Iterator<Item = &String> {
        self.buffers.values()
    }

    /// The IR number `N` of `%N`.
    pub fn number(&self, n: NodeId) -> usize {
        self.number[&n]
    }

    /// The local holding row value `%N` in a fused loop body: `vN`.
    pub fn row_local(&self, n: NodeId) -> Ident {
        ident(&format!("v{}", self.number(n)))
    }

    /// The local array holding per-column value `%N` in a fused kernel: `colN`.
    pub fn column_local(&self, n: NodeId) -> Ident {
        ident(&format!("col{}", self.number(n)))
    }
}
