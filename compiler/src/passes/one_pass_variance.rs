//! One-pass batch statistics: the variance's sum of squares from the same pass as the mean.
//!
//! Σ(z − μ)² needs μ first, which costs a second pass over the batch. With a shift K close to
//! the data, Σ(z − μ)² = Σ(z − K)² − (Σ(z − K))² / n exactly (n the values per feature: B, or
//! B·H·W for images), and both sums come from one pass; taking K as the batch's first
//! element keeps the subtraction from cancelling the way the unshifted Σz² − nμ² does. The gradient graph still reads the centered values and the
//! variance, whose values do not change, so the pass runs after autodiff and rewrites only
//! how the forward statistic is computed. With fusion only: unfused kernels gain nothing.

use super::Pass;
use crate::ir::{Binary, Graph, Op, Phase};

/// The pass.
pub struct OnePassVariance;

impl Pass for OnePassVariance {
    fn name(&self) -> &'static str {
        "one_pass_variance"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        for square_sum in graph.node_ids() {
            if !graph.contains(square_sum) || !matches!(graph.op(square_sum), Op::Sum { .. }) {
                continue;
            }
            // square_sum = Σ c·c,  c = z − mean,  mean = Σz · 1/n
            let squares = graph.operands(square_sum)[0];
            let Some((c, c2)) = graph.binary_operands(squares, Binary::Mul) else { continue };
            let Some((z, mean)) = graph.binary_operands(c, Binary::Sub) else { continue };
            let Some((_, mean_of)) = graph.per_feature_mean(mean) else { continue };
            // Only on a GEMM's or a convolution's output (dense or conv → batch_norm), whose
            // first element the fused kernel reads straight from the stored result.
            let stored = graph.op(z).is_product();
            if c != c2 || mean_of != z || !graph.is_per_feature_sum_of(square_sum, squares) || !stored {
                continue;
            }
            let axes = graph.shape(z).per_feature_axes().expect("a per-feature sum's operand");
            let (_, scale) = graph.binary_operands(mean, Binary::Mul).expect("a mean");
            let add =
                |graph: &mut Graph, op: Op, operands: &[_]| graph.add_like(square_sum, Phase::Forward, op, operands);
            let shift = add(graph, Op::First { axes }, &[z])?;
            let shifted = add(graph, Op::Binary(Binary::Sub), &[z, shift])?;
            let shifted_sum = add(graph, Op::Sum { axes }, &[shifted])?;
            let squares = add(graph, Op::Binary(Binary::Mul), &[shifted, shifted])?;
            let shifted_square_sum = add(graph, Op::Sum { axes }, &[squares])?;
            // Σ(z − K)² − (Σ(z − K))² / n
            let squared_sum = add(graph, Op::Binary(Binary::Mul), &[shifted_sum, shifted_sum])?;
            let correction = add(graph, Op::Binary(Binary::Mul), &[squared_sum, scale])?;
            let one_pass = add(graph, Op::Binary(Binary::Sub), &[shifted_square_sum, correction])?;
            graph.replace_uses(square_sum, one_pass);
        }
        Ok(())
    }
}
