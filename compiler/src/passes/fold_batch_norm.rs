//! Folds an evaluation-mode batch norm into the dense or conv layer before it (inference
//! only).
//!
//! y = ((x Wᵀ + b) − μ) · s · γ + β with s = 1/√(σ² + ε) is x W'ᵀ + b' with
//! W' = diag(s·γ) W and b' = (b − μ) · s·γ + β; for a convolution, W' scales each output
//! channel's kernel the same way (conv(x, W) is linear in each output channel's kernel). The folded weights are graph nodes over the
//! parameters, computed at each `forward` call from the current parameters, so they stay
//! right after training steps or a `load`; the per-example work is then one GEMM and a bias.
//! Not done for training graphs, where the batch norm's own gradients are needed.

use super::Pass;
use crate::ir::{Binary, Graph, NodeId, Op, Phase, Unary};

/// The pass.
pub struct FoldBatchNorm;

fn param(graph: &Graph, n: NodeId) -> Option<NodeId> {
    matches!(graph.op(n), Op::Param { .. }).then_some(n)
}

/// Whether `n`'s only reader is `user`.
fn only_user(graph: &Graph, n: NodeId, user: NodeId) -> bool {
    graph.users(n) == [user]
}

impl Pass for FoldBatchNorm {
    fn name(&self) -> &'static str {
        "fold_batch_norm"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        for y in graph.node_ids() {
            if !graph.contains(y) {
                continue;
            }
            // y = shifted + β; shifted = normalized · γ; normalized = centered · s; s = rsqrt(σ²)
            let Some((shifted, beta)) = graph.binary_operands(y, Binary::Add) else { continue };
            let Some((normalized, gamma)) = graph.binary_operands(shifted, Binary::Mul) else { continue };
            let Some((centered, inv_std)) = graph.binary_operands(normalized, Binary::Mul) else { continue };
            let Some((pre, mean)) = graph.binary_operands(centered, Binary::Sub) else { continue };
            let (Some(beta), Some(gamma), Some(mean)) = (param(graph, beta), param(graph, gamma), param(graph, mean))
            else {
                continue;
            };
            if !matches!(graph.op(inv_std), Op::Unary(Unary::Rsqrt { .. }))
                || param(graph, graph.operands(inv_std)[0]).is_none()
            {
                continue;
            }
            // pre = z + b, or z, with z = x Wᵀ or conv(x, W).
            let (z, bias) = match graph.binary_operands(pre, Binary::Add) {
                Some((z, b)) if param(graph, b).is_some() => (z, Some(b)),
                _ => (pre, None),
            };
            let linear = graph.op(z).clone();
            if !matches!(linear, Op::MatMul { transpose_a: false, transpose_b: true } | Op::Conv2d(_)) {
                continue;
            }
            let [x, weight] = graph.operands(z)[..] else { continue };
            let chain_is_private = only_user(graph, shifted, y)
                && only_user(graph, normalized, shifted)
                && only_user(graph, centered, normalized)
                && only_user(graph, pre, centered)
                && (bias.is_none() || only_user(graph, z, pre));
            if param(graph, weight).is_none() || !chain_is_private {
                continue;
            }
            let add = |graph: &mut Graph, op: Op, operands: &[NodeId]| graph.add_like(y, Phase::Forward, op, operands);
            // scale = s·γ;  W' = diag(scale) W;  b' = (b − μ)·scale + β
            let scale = add(graph, Op::Binary(Binary::Mul), &[inv_std, gamma])?;
            let folded_weight = add(graph, Op::ScaleRows, &[weight, scale])?;
            let shift = match bias {
                Some(b) => add(graph, Op::Binary(Binary::Sub), &[b, mean])?,
                None => add(graph, Op::Unary(Unary::Neg), &[mean])?,
            };
            let scaled_shift = add(graph, Op::Binary(Binary::Mul), &[shift, scale])?;
            let folded_bias = add(graph, Op::Binary(Binary::Add), &[scaled_shift, beta])?;
            let product = graph.add_like(z, Phase::Forward, linear, &[x, folded_weight])?;
            let folded = add(graph, Op::Binary(Binary::Add), &[product, folded_bias])?;
            graph.replace_uses(y, folded);
        }
        Ok(())
    }
}
