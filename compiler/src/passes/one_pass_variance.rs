//! One-pass batch statistics: the variance's sum of squares from the same pass as the mean.
//!
//! Σ(z − μ)² needs μ first, which costs a second pass over the batch. With a shift K close to
//! the data, Σ(z − μ)² = Σ(z − K)² − (Σ(z − K))² / B exactly, and both sums come from one
//! pass; taking K as the batch's first row keeps the subtraction from cancelling the way the
//! unshifted Σz² − Bμ² does. The gradient graph still reads the centered values and the
//! variance, whose values do not change, so the pass runs after autodiff and rewrites only
//! how the forward statistic is computed. With fusion only: unfused kernels gain nothing.

use super::Pass;
use crate::ir::{Binary, Const, Graph, Op, Phase};

/// The pass.
pub struct OnePassVariance;

impl Pass for OnePassVariance {
    fn name(&self) -> &'static str {
        "one_pass_variance"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        for square_sum in graph.node_ids() {
            if !graph.contains(square_sum) || graph.op(square_sum) != &Op::SumRows {
                continue;
            }
            // square_sum = Σ c·c,  c = z − mean,  mean = Σz · 1/B
            let Some((c, c2)) = graph.binary_operands(graph.operands(square_sum)[0], Binary::Mul) else { continue };
            let Some((z, mean)) = graph.binary_operands(c, Binary::Sub) else { continue };
            let Some((sum, scale)) = graph.binary_operands(mean, Binary::Mul) else { continue };
            let is_mean = graph.op(sum) == &Op::SumRows
                && graph.operands(sum)[0] == z
                && matches!(graph.op(scale), Op::Const(k) if k.is_one_per_batch());
            // Only on a GEMM's output (dense → batch_norm), whose first row the fused kernel reads
            // straight from the stored product.
            if c != c2 || !is_mean || !matches!(graph.op(z), Op::MatMul { .. }) {
                continue;
            }
            let add =
                |graph: &mut Graph, op: Op, operands: &[_]| graph.add_like(square_sum, Phase::Forward, op, operands);
            let shift = add(graph, Op::FirstRow, &[z])?;
            let shifted = add(graph, Op::Binary(Binary::Sub), &[z, shift])?;
            let shifted_sum = add(graph, Op::SumRows, &[shifted])?;
            let squares = add(graph, Op::Binary(Binary::Mul), &[shifted, shifted])?;
            let shifted_square_sum = add(graph, Op::SumRows, &[squares])?;
            // Σ(z − K)² − (Σ(z − K))² / B
            let squared_sum = add(graph, Op::Binary(Binary::Mul), &[shifted_sum, shifted_sum])?;
            let per_batch = add(graph, Op::Const(Const::per_batch(1.0)), &[])?;
            let correction = add(graph, Op::Binary(Binary::Mul), &[squared_sum, per_batch])?;
            let one_pass = add(graph, Op::Binary(Binary::Sub), &[shifted_square_sum, correction])?;
            graph.replace_uses(square_sum, one_pass);
        }
        Ok(())
    }
}
