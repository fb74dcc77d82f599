//! Rematerialization: the backward pass recomputes cheap forward values instead of reading
//! them back from memory.
//!
//! A forward elementwise row value (a centered or normalized batch, a pre-activation) that
//! only the backward pass's elementwise ops read would otherwise be written by the forward
//! kernel and read again later. Here each such read gets its own gradient-phase copy of the
//! elementwise chain, down to values that are stored anyway (GEMM outputs, per-column
//! statistics, parameters, masks), so the fused backward kernel recomputes it on the fly and
//! the forward kernel writes less. Values other forward kernels read (a layer's output, the
//! input of the next GEMM) are stored regardless and left alone. Runs only with fusion: the
//! copies pay off only inside fused loops.

use std::collections::BTreeMap;

use super::Pass;
use crate::ir::{Dim, Graph, NodeId, Op, Phase};

/// The pass.
pub struct Rematerialize;

fn is_row_elementwise(graph: &Graph, n: NodeId) -> bool {
    // Only `[B, n]` rows: the fused kernels that would recompute them work on rows.
    matches!(graph.op(n), Op::Unary(_) | Op::Binary(_) | Op::Broadcast { .. })
        && graph.shape(n).rank() == 2
        && graph.shape(n).0.first() == Some(&Dim::Batch)
}

/// Whether every reader of `n` outside the backward pass is itself elementwise, so `n` is
/// stored only because the backward pass reads it.
fn stored_only_for_backward(graph: &Graph, n: NodeId) -> bool {
    let outputs: Vec<NodeId> = graph.outputs().map(|(_, o)| o).collect();
    !outputs.contains(&n)
        && graph.users(n).iter().all(|&u| graph.node(u).phase == Phase::Gradient || is_row_elementwise(graph, u))
}

/// A gradient-phase copy of the forward row chain ending at `n`.
fn copy_chain(graph: &mut Graph, n: NodeId, copies: &mut BTreeMap<NodeId, NodeId>) -> syn::Result<NodeId> {
    if let Some(&c) = copies.get(&n) {
        return Ok(c);
    }
    let mut operands = Vec::new();
    for o in graph.operands(n) {
        let forward_row = graph.node(o).phase == Phase::Forward && is_row_elementwise(graph, o);
        operands.push(if forward_row { copy_chain(graph, o, copies)? } else { o });
    }
    let copy = graph.add_like(n, Phase::Gradient, graph.op(n).clone(), &operands)?;
    copies.insert(n, copy);
    Ok(copy)
}

impl Pass for Rematerialize {
    fn name(&self) -> &'static str {
        "rematerialize"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        let mut copies = BTreeMap::new();
        for user in graph.node_ids() {
            if graph.node(user).phase != Phase::Gradient || !is_row_elementwise(graph, user) {
                continue;
            }
            for (position, o) in graph.operands(user).into_iter().enumerate() {
                let candidate = graph.node(o).phase == Phase::Forward
                    && is_row_elementwise(graph, o)
                    && stored_only_for_backward(graph, o);
                if candidate {
                    let copy = copy_chain(graph, o, &mut copies)?;
                    graph.set_operand(user, position, copy);
                }
            }
        }
        Ok(())
    }
}
