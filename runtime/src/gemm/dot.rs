//! Products with a narrow C whose operands both run along the depth: an output layer's
//! forward `x·Wᵀ` (n = 10 classes). Each element is a dot product of a row of `x` and a row
//! of `W`, so no operand is packed: the blocked kernel would have to transpose all of `x`
//! into panels for ten columns of work. Vectors run along k; the lanes of each sum are
//! added by a fixed tree at the end, so the result depends on neither the thread count nor
//! the row a thread starts at.

use super::View;

/// Widest C computed here: two rows of up to 12 sums are 24 accumulators, which with two
/// vectors of A and one of B fit the 32 AVX-512 registers.
pub(super) const MAX_COLUMNS: usize = 12;

/// Whether `op(A)·op(B)` is computed here: AVX-512, a narrow C, and both operands
/// contiguous along k (row-major A, B stored transposed).
pub(super) fn applies<T>(avx512: bool, k: usize, n: usize, a: View<T>, b: View<T>) -> bool {
    avx512 && n <= MAX_COLUMNS && k >= 16 && a.cs == 1 && b.rs == 1
}

/// Generates the kernel for one element type: `$lanes` per register.
macro_rules! dot_kernel {
    ($name:ident, $columns:ident, $t:ty, $lanes:expr, $mask:ty, $zero:ident, $mask_load:ident,
     $fmadd:ident, $reduce:ident) => {
        /// `C[i, j] = Σₚ A[i, p]·B[p, j]` for `i < m`, `j < n`, C with row stride `ldc`.
        ///
        /// # Safety
        /// The CPU has AVX-512F; A is m × k with `cs == 1`, B k × n with `rs == 1`, and C
        /// holds m rows of `ldc ≥ n`, overlapping neither; `n ≤ MAX_COLUMNS`.
        #[cfg(target_arch = "x86_64")]
        pub(super) unsafe fn $name(m: usize, k: usize, n: usize, a: View<$t>, b: View<$t>, c: *mut $t, ldc: usize) {
            // The accumulators stay in registers only if their count is a constant.
            // SAFETY (every arm): forwarded.
            unsafe {
                match n {
                    1 => $columns::<1>(m, k, a, b, c, ldc),
                    2 => $columns::<2>(m, k, a, b, c, ldc),
                    3 => $columns::<3>(m, k, a, b, c, ldc),
                    4 => $columns::<4>(m, k, a, b, c, ldc),
                    5 => $columns::<5>(m, k, a, b, c, ldc),
                    6 => $columns::<6>(m, k, a, b, c, ldc),
                    7 => $columns::<7>(m, k, a, b, c, ldc),
                    8 => $columns::<8>(m, k, a, b, c, ldc),
                    9 => $columns::<9>(m, k, a, b, c, ldc),
                    10 => $columns::<10>(m, k, a, b, c, ldc),
                    11 => $columns::<11>(m, k, a, b, c, ldc),
                    12 => $columns::<12>(m, k, a, b, c, ldc),
                    _ => unreachable!("at most MAX_COLUMNS columns"),
                }
            }
        }

        /// [`$name`] for `N` columns.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        unsafe fn $columns<const N: usize>(m: usize, k: usize, a: View<$t>, b: View<$t>, c: *mut $t, ldc: usize) {
            use std::arch::x86_64::*;
            const LANES: usize = $lanes;
            let whole = k - k % LANES;
            let tail: $mask = ((1u32 << (k % LANES)) - 1) as $mask;
            let mut w_rows = [b.ptr; N];
            for (j, row) in w_rows.iter_mut().enumerate() {
                // SAFETY: column j < N of op(B) starts there, k contiguous elements.
                *row = unsafe { b.ptr.offset(j as isize * b.cs) };
            }
            let mut i = 0;
            while i < m {
                let rows = if i + 1 < m { 2 } else { 1 };
                let mut acc = [[$zero(); N]; 2];
                // SAFETY: rows i and i + rows - 1 < m of A hold k contiguous elements.
                let (a0, a1) =
                    unsafe { (a.ptr.offset(i as isize * a.rs), a.ptr.offset((i + rows - 1) as isize * a.rs)) };
                // One vector of depth; `mask` keeps the loads inside the rows.
                let mut step = |p: usize, mask: $mask| {
                    // SAFETY: the masked lanes p.. stay inside the rows of A and B.
                    unsafe {
                        let (x0, x1) = ($mask_load(mask, a0.add(p)), $mask_load(mask, a1.add(p)));
                        for j in 0..N {
                            let w = $mask_load(mask, w_rows[j].add(p));
                            acc[0][j] = $fmadd(x0, w, acc[0][j]);
                            acc[1][j] = $fmadd(x1, w, acc[1][j]);
                        }
                    }
                };
                let mut p = 0;
                while p < whole {
                    step(p, <$mask>::MAX);
                    p += LANES;
                }
                if whole < k {
                    step(whole, tail);
                }
                for (r, acc) in acc.iter().enumerate().take(rows) {
                    let mut padded = [$zero(); MAX_COLUMNS];
                    padded[..N].copy_from_slice(acc);
                    let sums = $reduce(&padded);
                    for (j, &s) in sums.iter().enumerate().take(N) {
                        // SAFETY: row i + r < m, column j < N ≤ ldc.
                        unsafe { *c.add((i + r) * ldc + j) = s };
                    }
                }
                i += rows;
            }
        }
    };
}

/// The lane sums of 16 registers of f32 (at most [`MAX_COLUMNS`] used), by halving: 128-bit
/// blocks first, then lanes within blocks. Sum `j` ends in lane `4·(j % 4) + j / 4`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn reduce_f32(acc: &[std::arch::x86_64::__m512; MAX_COLUMNS]) -> [f32; 16] {
    use std::arch::x86_64::*;
    let mut v = [_mm512_setzero_ps(); 16];
    v[..MAX_COLUMNS].copy_from_slice(acc);
    // Blocks: [a0+a2, a1+a3, b0+b2, b1+b3], then [a, b, c, d] whole-block partial sums.
    let halve_blocks =
        |x: __m512, y: __m512| _mm512_add_ps(_mm512_shuffle_f32x4::<0x44>(x, y), _mm512_shuffle_f32x4::<0xEE>(x, y));
    let fold_blocks =
        |x: __m512, y: __m512| _mm512_add_ps(_mm512_shuffle_f32x4::<0x88>(x, y), _mm512_shuffle_f32x4::<0xDD>(x, y));
    let halve_lanes =
        |x: __m512, y: __m512| _mm512_add_ps(_mm512_shuffle_ps::<0x44>(x, y), _mm512_shuffle_ps::<0xEE>(x, y));
    let fold_lanes =
        |x: __m512, y: __m512| _mm512_add_ps(_mm512_shuffle_ps::<0x88>(x, y), _mm512_shuffle_ps::<0xDD>(x, y));
    // Plain loops, not `array::from_fn`: a generic helper would not inherit AVX-512.
    let mut s = [_mm512_setzero_ps(); 8];
    for q in 0..8 {
        s[q] = halve_blocks(v[2 * q], v[2 * q + 1]);
    }
    let mut u = [_mm512_setzero_ps(); 4];
    for q in 0..4 {
        u[q] = fold_blocks(s[2 * q], s[2 * q + 1]);
    }
    let w = [halve_lanes(u[0], u[1]), halve_lanes(u[2], u[3])];
    let z = fold_lanes(w[0], w[1]);
    let mut lanes = [0.0f32; 16];
    // SAFETY: 16 f32 fit the array.
    unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), z) };
    let mut sums = [0.0f32; 16];
    for (j, sum) in sums.iter_mut().enumerate() {
        *sum = lanes[4 * (j % 4) + j / 4];
    }
    sums
}

/// [`reduce_f32`] for f64, in groups of 8 registers: sum `j` of a group in lane
/// `2·(j % 4) + j / 4`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn reduce_f64(acc: &[std::arch::x86_64::__m512d; MAX_COLUMNS]) -> [f64; 16] {
    use std::arch::x86_64::*;
    let halve_blocks =
        |x: __m512d, y: __m512d| _mm512_add_pd(_mm512_shuffle_f64x2::<0x44>(x, y), _mm512_shuffle_f64x2::<0xEE>(x, y));
    let fold_blocks =
        |x: __m512d, y: __m512d| _mm512_add_pd(_mm512_shuffle_f64x2::<0x88>(x, y), _mm512_shuffle_f64x2::<0xDD>(x, y));
    let fold_lanes =
        |x: __m512d, y: __m512d| _mm512_add_pd(_mm512_shuffle_pd::<0x00>(x, y), _mm512_shuffle_pd::<0xFF>(x, y));
    let mut out = [0.0f64; 16];
    for group in 0..2 {
        let mut v = [_mm512_setzero_pd(); 8];
        let used = (MAX_COLUMNS - 8 * group).min(8);
        v[..used].copy_from_slice(&acc[8 * group..8 * group + used]);
        let mut s = [_mm512_setzero_pd(); 4];
        for q in 0..4 {
            s[q] = halve_blocks(v[2 * q], v[2 * q + 1]);
        }
        let u = [fold_blocks(s[0], s[1]), fold_blocks(s[2], s[3])];
        let z = fold_lanes(u[0], u[1]);
        let mut lanes = [0.0f64; 8];
        // SAFETY: 8 f64 fit the array.
        unsafe { _mm512_storeu_pd(lanes.as_mut_ptr(), z) };
        for j in 0..8 {
            out[8 * group + j] = lanes[2 * (j % 4) + j / 4];
        }
    }
    out
}

dot_kernel!(
    dot_f32,
    dot_f32_columns,
    f32,
    16,
    u16,
    _mm512_setzero_ps,
    _mm512_maskz_loadu_ps,
    _mm512_fmadd_ps,
    reduce_f32
);
dot_kernel!(
    dot_f64,
    dot_f64_columns,
    f64,
    8,
    u8,
    _mm512_setzero_pd,
    _mm512_maskz_loadu_pd,
    _mm512_fmadd_pd,
    reduce_f64
);
