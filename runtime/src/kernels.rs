//! The primitive kernels that generated code calls: GEMM, elementwise maps, reductions,
//! row-wise softmax, the losses and the optimizer updates.
//!
//! All buffers are row-major slices; sizes are passed explicitly, so a kernel never guesses a
//! shape. The compiler checks shapes when it builds the graph, and the generated code sizes its
//! buffers from those shapes, so the length assertions here are internal invariants.
//!
//! GEMM is the crate's own blocked kernel ([`crate::gemm`]), measured against
//! `matrixmultiply` and `gemm` on this project's shapes (`bench/gemm-candidates`); unlike
//! them it reuses its packing buffers, so a warm training step allocates nothing.

use crate::Float;

/// `out[m×n] = op(a)·op(b)` where `op(a)` is m×k and `op(b)` is k×n; `op` transposes when its
/// flag is set (`a` is then stored k×m, `b` n×k). `out` is overwritten.
#[allow(clippy::too_many_arguments)]
pub fn matmul<T: Float>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    a_transposed: bool,
    b: &[T],
    b_transposed: bool,
    out: &mut [T],
) {
    assert!(a.len() == m * k && b.len() == k * n && out.len() == m * n, "matmul sizes");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.fill(T::zero());
        return;
    }
    let (rsa, csa) = if a_transposed { (1, m as isize) } else { (k as isize, 1) };
    let (rsb, csb) = if b_transposed { (1, k as isize) } else { (n as isize, 1) };
    let a = crate::gemm::View { ptr: a.as_ptr(), rs: rsa, cs: csa };
    let b = crate::gemm::View { ptr: b.as_ptr(), rs: rsb, cs: csb };
    // SAFETY: the strides describe exactly the asserted lengths, and `out` is a distinct
    // `&mut` borrow, so it cannot alias `a` or `b`.
    unsafe { crate::gemm::gemm(m, k, n, a, b, out.as_mut_ptr()) }
}

/// `out[i] = f(x[i])`.
#[inline]
pub fn map<T: Float>(x: &[T], out: &mut [T], f: impl Fn(T) -> T) {
    assert_eq!(x.len(), out.len(), "map sizes");
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

/// `out[i] = f(a[i], b[i])`.
#[inline]
pub fn zip<T: Float>(a: &[T], b: &[T], out: &mut [T], f: impl Fn(T, T) -> T) {
    assert!(a.len() == out.len() && b.len() == out.len(), "zip sizes");
    for ((o, &u), &v) in out.iter_mut().zip(a).zip(b) {
        *o = f(u, v);
    }
}

/// `out[o, k, i] = f(a[o, k, i], v[k])`: `v` repeated along the axes before and after its
/// block, `inner` elements per value of `v` (1 for a row over `[B, n]`, H·W for a channel).
#[inline]
pub fn zip_along<T: Float>(inner: usize, a: &[T], v: &[T], out: &mut [T], f: impl Fn(T, T) -> T) {
    let block = v.len() * inner;
    assert!(block > 0 && a.len() == out.len() && a.len().is_multiple_of(block), "zip_along sizes");
    for (o_block, a_block) in out.chunks_exact_mut(block).zip(a.chunks_exact(block)) {
        if inner == 1 {
            for ((o, &u), &c) in o_block.iter_mut().zip(a_block).zip(v) {
                *o = f(u, c);
            }
            continue;
        }
        for ((o, a), &c) in o_block.chunks_exact_mut(inner).zip(a_block.chunks_exact(inner)).zip(v) {
            for (o, &u) in o.iter_mut().zip(a) {
                *o = f(u, c);
            }
        }
    }
}

/// `out[i] = f(a[i], s)` for a scalar `s`.
#[inline]
pub fn zip_scalar<T: Float>(a: &[T], s: T, out: &mut [T], f: impl Fn(T, T) -> T) {
    assert_eq!(a.len(), out.len(), "zip_scalar sizes");
    for (o, &u) in out.iter_mut().zip(a) {
        *o = f(u, s);
    }
}

/// `out[k] = Σ_{o, i} x[o, k, i]`: the sum over the axes before and after a kept block of
/// `out.len()` values, `inner` elements per kept value (the gradient of [`broadcast_along`]).
pub fn sum_along<T: Float>(inner: usize, x: &[T], out: &mut [T]) {
    let block = out.len() * inner;
    assert!(block > 0 && x.len().is_multiple_of(block), "sum_along sizes");
    out.fill(T::zero());
    for x_block in x.chunks_exact(block) {
        if inner == 1 {
            for (o, &v) in out.iter_mut().zip(x_block) {
                *o += v;
            }
            continue;
        }
        for (o, plane) in out.iter_mut().zip(x_block.chunks_exact(inner)) {
            *o += plane.iter().copied().sum::<T>();
        }
    }
}

/// `out[k] = x[0, k, 0]`: index 0 of the axes before and after a kept block of `out.len()`
/// values, `inner` elements per kept value.
pub fn first_along<T: Float>(inner: usize, x: &[T], out: &mut [T]) {
    assert!(x.len() >= out.len() * inner, "first_along sizes");
    for (k, o) in out.iter_mut().enumerate() {
        *o = x[k * inner];
    }
}

/// `out[0] = Σ_i x[i]` (the gradient of a scalar broadcast).
pub fn sum_all<T: Float>(x: &[T], out: &mut [T]) {
    out[0] = x.iter().copied().sum();
}

/// Row-wise softmax, shifted by the row maximum so `exp` cannot overflow.
pub fn softmax_rows<T: Float>(cols: usize, z: &[T], out: &mut [T]) {
    assert!(z.len() == out.len() && cols > 0 && z.len().is_multiple_of(cols), "softmax sizes");
    for (o, row) in out.chunks_exact_mut(cols).zip(z.chunks_exact(cols)) {
        let max = row.iter().copied().fold(T::neg_infinity(), T::max);
        let mut total = T::zero();
        for (o, &v) in o.iter_mut().zip(row) {
            *o = (v - max).exp();
            total += *o;
        }
        for o in o.iter_mut() {
            *o = *o / total;
        }
    }
}

/// The softmax vector-Jacobian product: `out = p ⊙ (dp − Σ_j dp_j p_j)` per row.
pub fn softmax_vjp_rows<T: Float>(cols: usize, p: &[T], dp: &[T], out: &mut [T]) {
    assert!(p.len() == out.len() && dp.len() == out.len() && p.len().is_multiple_of(cols), "softmax_vjp sizes");
    for ((o, p), dp) in out.chunks_exact_mut(cols).zip(p.chunks_exact(cols)).zip(dp.chunks_exact(cols)) {
        let dot: T = p.iter().zip(dp).map(|(&a, &b)| a * b).sum();
        for ((o, &p), &g) in o.iter_mut().zip(p).zip(dp) {
            *o = p * (g - dot);
        }
    }
}

/// `out[r, j] = 1` where `j = labels[r]`, else 0.
pub fn one_hot<T: Float>(classes: usize, labels: &[usize], out: &mut [T]) {
    assert_eq!(out.len(), labels.len() * classes, "one_hot sizes");
    out.fill(T::zero());
    for (row, &label) in out.chunks_exact_mut(classes).zip(labels) {
        row[label] = T::one();
    }
}

/// Mean of `−ln p[r, y_r]` over the rows, from probabilities.
pub fn cross_entropy<T: Float>(classes: usize, p: &[T], labels: &[usize], out: &mut [T]) {
    let total: f64 = p.chunks_exact(classes).zip(labels).map(|(row, &y)| -row[y].as_f64().ln()).sum();
    out[0] = T::from_f64(total / labels.len() as f64);
}

/// ∂/∂p of [`cross_entropy`]: `−onehot(y) / (B·p)`.
pub fn cross_entropy_grad<T: Float>(classes: usize, p: &[T], labels: &[usize], out: &mut [T]) {
    let batch = T::from_f64(labels.len() as f64);
    out.fill(T::zero());
    for ((o, row), &y) in out.chunks_exact_mut(classes).zip(p.chunks_exact(classes)).zip(labels) {
        o[y] = -T::one() / (batch * row[y]);
    }
}

/// Mean over rows of `logsumexp(z_r) − z[r, y_r]`: cross-entropy on logits, stable.
pub fn softmax_cross_entropy<T: Float>(classes: usize, z: &[T], labels: &[usize], out: &mut [T]) {
    let mut total = 0.0f64;
    for (row, &y) in z.chunks_exact(classes).zip(labels) {
        let max = row.iter().copied().fold(T::neg_infinity(), T::max).as_f64();
        let sum: f64 = row.iter().map(|&v| (v.as_f64() - max).exp()).sum();
        total += max + sum.ln() - row[y].as_f64();
    }
    out[0] = T::from_f64(total / labels.len() as f64);
}

/// PyTorch clamps each log term of binary cross-entropy at −100, so a saturated
/// probability gives a large finite loss instead of infinity.
const BCE_LOG_FLOOR: f64 = -100.0;

/// Mean of `−(t ln s + (1−t) ln(1−s))` from probabilities `s`.
pub fn binary_cross_entropy<T: Float>(s: &[T], t: &[T], out: &mut [T]) {
    let total: f64 = s
        .iter()
        .zip(t)
        .map(|(&s, &t)| {
            let (s, t) = (s.as_f64(), t.as_f64());
            -(t * s.ln().max(BCE_LOG_FLOOR) + (1.0 - t) * (1.0 - s).ln().max(BCE_LOG_FLOOR))
        })
        .sum();
    out[0] = T::from_f64(total / s.len() as f64);
}

/// ∂/∂s of [`binary_cross_entropy`]: `(s − t) / (s(1−s)·N)`, the denominator floored at
/// 1e-12 as PyTorch does.
pub fn binary_cross_entropy_grad<T: Float>(s: &[T], t: &[T], out: &mut [T]) {
    let n = T::from_f64(s.len() as f64);
    let floor = T::from_f64(1e-12);
    zip(s, t, out, |s, t| (s - t) / ((T::one() - s) * s).max(floor) / n);
}

/// Mean of `max(z,0) − z·t + ln(1 + e^{−|z|})`: binary cross-entropy on logits, stable.
pub fn binary_cross_entropy_with_logits<T: Float>(z: &[T], t: &[T], out: &mut [T]) {
    let total: f64 = z
        .iter()
        .zip(t)
        .map(|(&z, &t)| {
            let (z, t) = (z.as_f64(), t.as_f64());
            z.max(0.0) - z * t + (-z.abs()).exp().ln_1p()
        })
        .sum();
    out[0] = T::from_f64(total / z.len() as f64);
}

/// Mean of `(p − t)²` over all elements.
pub fn mean_squared_error<T: Float>(p: &[T], t: &[T], out: &mut [T]) {
    let total: f64 = p.iter().zip(t).map(|(&p, &t)| (p.as_f64() - t.as_f64()).powi(2)).sum();
    out[0] = T::from_f64(total / p.len() as f64);
}

/// `out[o, k, i] = v[k]`: `v` repeated along the axes before and after its block, `inner`
/// elements per value.
pub fn broadcast_along<T: Float>(inner: usize, v: &[T], out: &mut [T]) {
    let block = v.len() * inner;
    assert!(block > 0 && out.len().is_multiple_of(block), "broadcast_along sizes");
    for o_block in out.chunks_exact_mut(block) {
        for (o, &c) in o_block.chunks_exact_mut(inner).zip(v) {
            o.fill(c);
        }
    }
}

/// `out[i, :] = w[i, :] · scale[i]` (a per-unit scale folded into a weight matrix).
pub fn scale_rows<T: Float>(w: &[T], scale: &[T], out: &mut [T]) {
    assert!(w.len() == out.len() && !scale.is_empty() && w.len().is_multiple_of(scale.len()), "scale_rows sizes");
    let cols = w.len() / scale.len();
    for ((o, row), &s) in out.chunks_exact_mut(cols).zip(w.chunks_exact(cols)).zip(scale) {
        for (o, &v) in o.iter_mut().zip(row) {
            *o = v * s;
        }
    }
}

/// `out[0] = Σ x²`.
pub fn sum_squares<T: Float>(x: &[T], out: &mut [T]) {
    out[0] = x.iter().map(|&v| v * v).sum();
}

/// `out[0] = Σ |x|`.
pub fn sum_abs<T: Float>(x: &[T], out: &mut [T]) {
    out[0] = x.iter().map(|&v| v.abs()).sum();
}

/// An inverted-dropout mask: each element 0 with probability `p`, else 1/(1−p).
pub fn dropout_mask<T: Float>(rng: &mut crate::Rng, p: T, out: &mut [T]) {
    use rand::RngExt;
    let keep = T::one() / (T::one() - p);
    let p = p.as_f64();
    for o in out.iter_mut() {
        *o = if rng.random::<f64>() < p { T::zero() } else { keep };
    }
}

/// `running ← (1 − m)·running + m·correction·stat` (batch norm's running statistics;
/// `correction` is B/(B−1) for the unbiased variance, else 1), written to the staged buffer;
/// whether the new values are finite.
pub fn running_update<T: Float>(staged: crate::Staged<'_, T>, stat: &[T], momentum: T, correction: T) -> bool {
    let crate::Staged { old, new, .. } = staged;
    let mut finite = true;
    for ((n, &r), &s) in new.iter_mut().zip(old).zip(stat) {
        *n = (T::one() - momentum) * r + momentum * correction * s;
        finite &= n.is_finite();
    }
    finite
}

/// `num_batches_tracked += 1`, written to the staged buffer.
pub fn count_batch<T: Float>(staged: crate::Staged<'_, T>) -> bool {
    staged.new[0] = staged.old[0] + T::one();
    true
}

/// The clip factor `min(1, c / (‖g‖ + 1e-6))`, ‖g‖ the L2 norm of all `grads` together
/// (`torch.nn.utils.clip_grad_norm_`).
pub fn clip_scale<T: Float>(grads: &[&[T]], max_norm: T, out: &mut [T]) {
    let total: f64 = grads.iter().flat_map(|g| g.iter()).map(|v| v.as_f64() * v.as_f64()).sum();
    let factor = max_norm.as_f64() / (total.sqrt() + 1e-6);
    out[0] = T::from_f64(factor.min(1.0));
}

/// Whether every value is finite (checked before an update is applied).
pub fn all_finite<T: Float>(x: &[T]) -> bool {
    x.iter().all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, k: usize, n: usize, a: &[f64], ta: bool, b: &[f64], tb: bool) -> Vec<f64> {
        let at = |i: usize, p: usize| if ta { a[p * m + i] } else { a[i * k + p] };
        let bt = |p: usize, j: usize| if tb { b[j * k + p] } else { b[p * n + j] };
        (0..m * n).map(|ij| (0..k).map(|p| at(ij / n, p) * bt(p, ij % n)).sum()).collect()
    }

    #[test]
    fn matmul_matches_naive_for_every_transpose() {
        let (m, k, n) = (3, 5, 4);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.91).cos()).collect();
        for ta in [false, true] {
            for tb in [false, true] {
                let mut out = vec![0.0; m * n];
                matmul(m, k, n, &a, ta, &b, tb, &mut out);
                let want = naive(m, k, n, &a, ta, &b, tb);
                for (x, y) in out.iter().zip(&want) {
                    assert!((x - y).abs() < 1e-12, "ta={ta} tb={tb}");
                }
            }
        }
    }

    #[test]
    fn matmul_crosses_every_block_boundary() {
        // Sizes past the packing blocks, none a multiple of the register tile; narrow outputs
        // (computed transposed) and few rows (tiles of 5 or 10, B read in place), deep enough
        // for two blocks of depth.
        let shapes =
            [(137, 261, 19), (9, 5, 2050), (1, 300, 3), (130, 2, 17), (70, 33, 10), (10, 33, 70), (10, 300, 70)];
        // W3's shapes and whole-panel ones two blocks deep: a transposed A is read in place.
        let more =
            [(18, 40, 64), (70, 300, 10), (128, 256, 10), (4, 7, 40), (64, 256, 64), (256, 64, 64), (64, 300, 100)];
        // Every tile kernel this CPU has, so that an AVX-512 machine tests the AVX2 and portable
        // ones too (products this small run on the calling thread).
        crate::gemm::with_each_kernel(|kernel| {
            for &(m, k, n) in shapes.iter().chain(&more) {
                let a: Vec<f64> = (0..m * k).map(|i| ((i * 7) % 23) as f64 - 11.0).collect();
                let b: Vec<f64> = (0..k * n).map(|i| ((i * 5) % 19) as f64 - 9.0).collect();
                for (ta, tb) in [(false, true), (true, false), (false, false), (true, true)] {
                    let mut out = vec![f64::NAN; m * n];
                    matmul(m, k, n, &a, ta, &b, tb, &mut out);
                    assert_eq!(out, naive(m, k, n, &a, ta, &b, tb), "{kernel}: {m}x{k}x{n} ta={ta} tb={tb}");
                    let (a32, b32): (Vec<f32>, Vec<f32>) =
                        (a.iter().map(|&v| v as f32).collect(), b.iter().map(|&v| v as f32).collect());
                    let mut out32 = vec![f32::NAN; m * n];
                    matmul(m, k, n, &a32, ta, &b32, tb, &mut out32);
                    let want = naive(m, k, n, &a, ta, &b, tb);
                    let close = |(x, y): (&f32, &f64)| (f64::from(*x) - y).abs() <= 1e-6 * y.abs().max(1.0);
                    assert!(out32.iter().zip(&want).all(close), "{kernel}: {m}x{k}x{n} ta={ta} tb={tb}");
                }
            }
        });
    }

    #[test]
    fn softmax_cross_entropy_equals_cross_entropy_of_softmax() {
        let z = [1.0f64, -2.0, 0.5, 3.0, 0.0, -1.0];
        let labels = [2usize, 0];
        let mut p = [0.0; 6];
        softmax_rows(3, &z, &mut p);
        let (mut a, mut b) = ([0.0], [0.0]);
        cross_entropy(3, &p, &labels, &mut a);
        softmax_cross_entropy(3, &z, &labels, &mut b);
        assert!((a[0] - b[0]).abs() < 1e-12);
        // Large logits: the stable form stays finite.
        softmax_cross_entropy(3, &[1000.0, 0.0, -1000.0], &[1], &mut b);
        assert!((b[0] - 1000.0).abs() < 1e-9);
    }

    #[test]
    fn bce_with_logits_equals_bce_of_sigmoid() {
        let z = [0.3f64, -1.2, 2.5];
        let t = [1.0, 0.0, 0.25];
        let s: Vec<f64> = z.iter().map(|&v| crate::scalar::sigmoid(v)).collect();
        let (mut a, mut b) = ([0.0], [0.0]);
        binary_cross_entropy(&s, &t, &mut a);
        binary_cross_entropy_with_logits(&z, &t, &mut b);
        assert!((a[0] - b[0]).abs() < 1e-12);
    }
}
