//! Drops the dense or convolution bias in front of a training-mode batch norm from the computation.
//!
//! Batch norm subtracts the batch mean, so a per-feature bias b added before it cancels:
//! (z + b) − mean(z + b) = z − mean(z). The pass centers z directly, saving a pass over the
//! `[B, n]` rows (or `[B, C, H, W]` images, for a convolution's bias) forward and the bias's
//! sum backward. The bias still moves the running
//! mean exactly as in PyTorch (its update reads mean(z) + b), so weights files and evaluation
//! are unchanged; the bias's gradient is exactly zero and is reported as such.
//!
//! Runs before autodiff, on the forward graph, and only when fusion is on. It leaves a bias
//! alone when anything other than the batch norm's statistics reads the sum.

use super::Pass;
use crate::ir::{Binary, Graph, Op, Phase};

/// The pass.
pub struct DropBiasBeforeBatchNorm;

impl Pass for DropBiasBeforeBatchNorm {
    fn name(&self) -> &'static str {
        "drop_bias_before_batch_norm"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        for biased in graph.node_ids() {
            if !graph.contains(biased) {
                continue;
            }
            // biased = z + b with b a per-feature parameter
            let Some((z, bias)) = graph.binary_operands(biased, Binary::Add) else { continue };
            if !matches!(graph.op(bias), Op::Param { .. }) || graph.shape(bias).rank() != 1 {
                continue;
            }
            // Its users: sum = Σ biased per feature, and centered = biased − mean with
            // mean = sum · 1/n.
            let users = graph.users(biased);
            let sum = users.iter().copied().find(|&u| graph.is_per_feature_sum_of(u, biased));
            let centered = users
                .iter()
                .copied()
                .find(|&u| graph.binary_operands(u, Binary::Sub).is_some_and(|(a, _)| a == biased));
            let (Some(sum), Some(centered)) = (sum, centered) else { continue };
            if users.len() != 2 {
                continue;
            }
            let (_, mean) = graph.binary_operands(centered, Binary::Sub).expect("matched above");
            if graph.per_feature_mean(mean).is_none_or(|(s, _)| s != sum) {
                continue;
            }
            let (_, scale) = graph.binary_operands(mean, Binary::Mul).expect("a mean");
            // Rebuild on z; the running mean still sees the bias.
            let new_sum = graph.add_like(sum, Phase::Forward, graph.op(sum).clone(), &[z])?;
            let new_mean = graph.add_like(mean, Phase::Forward, Op::Binary(Binary::Mul), &[new_sum, scale])?;
            let new_centered = graph.add_like(centered, Phase::Forward, Op::Binary(Binary::Sub), &[z, new_mean])?;
            let full_mean = graph.add_like(mean, Phase::Forward, Op::Binary(Binary::Add), &[new_mean, bias])?;
            for (old, new) in [(centered, new_centered), (mean, full_mean)] {
                if let Some(label) = graph.node(old).label.clone() {
                    graph.set_label(new, label);
                }
            }
            graph.replace_uses(centered, new_centered);
            graph.replace_uses(mean, full_mean);
            for dead in [centered, mean, sum, biased] {
                if graph.users(dead).is_empty() {
                    graph.remove(dead);
                }
            }
        }
        Ok(())
    }
}
