//! Packing by register transposes: the operands whose packed order runs across their storage
//! order (Wᵀ in a forward product, a row-major activation as A) are copied 8 × 8 (f32) or
//! 4 × 4 (f64) blocks at a time instead of one element at a time. Reading 8 sources at once
//! also keeps 8 memory streams in flight, which the one-column-at-a-time copy did not.

/// `out[p·width + j] = src[j·stride + p]` for `p < len`, `j < count`, and zero for
/// `count ≤ j < width`: `count` strided sources of `len` contiguous elements, written as
/// rows of a packed panel `width` wide.
///
/// # Safety
/// The CPU has AVX2; each source holds `len` elements; `out` holds `len · width`; `count ≤
/// width`; `width` is a multiple of 8, 6 or 10.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn panel_f32(src: *const f32, stride: isize, count: usize, width: usize, len: usize, out: *mut f32) {
    use std::arch::x86_64::*;
    let whole = len - len % 8;
    for group in (0..width).step_by(8) {
        let lanes = (width - group).min(8);
        let sources: [Option<*const f32>; 8] = sources(src, stride, group, count);
        for p in (0..whole).step_by(8) {
            // SAFETY: p + 8 ≤ len elements of each source; the stores stay in row p + q.
            unsafe {
                let mut rows = [_mm256_setzero_ps(); 8];
                for (row, s) in rows.iter_mut().zip(sources) {
                    if let Some(s) = s {
                        *row = _mm256_loadu_ps(s.add(p));
                    }
                }
                let columns = transpose_8x8(rows);
                for (q, column) in columns.iter().enumerate() {
                    let to = out.add((p + q) * width + group);
                    match lanes {
                        8 => _mm256_storeu_ps(to, *column),
                        2 => _mm_storel_pd(to.cast(), _mm_castps_pd(_mm256_castps256_ps128(*column))),
                        _ => {
                            _mm_storeu_ps(to, _mm256_castps256_ps128(*column));
                            let high = _mm256_extractf128_ps::<1>(*column);
                            _mm_storel_pd(to.add(4).cast(), _mm_castps_pd(high));
                        }
                    }
                }
            }
        }
        // SAFETY: forwarded; rows whole..len of the panel.
        unsafe { tail(&sources, whole..len, width, group, lanes, out) };
    }
}

/// [`panel_f32`] sixteen sources at a time, by 16 × 16 transposes in AVX-512 registers (64
/// shuffles per 256 elements, against 96 for four 8 × 8 blocks).
///
/// # Safety
/// As [`panel_f32`], but the CPU has AVX-512F and `width` is a multiple of 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn panel_f32_wide(
    src: *const f32,
    stride: isize,
    count: usize,
    width: usize,
    len: usize,
    out: *mut f32,
) {
    use std::arch::x86_64::*;
    let whole = len - len % 16;
    for group in (0..width).step_by(16) {
        let sources: [Option<*const f32>; 16] = sources(src, stride, group, count);
        for p in (0..whole).step_by(16) {
            // SAFETY: p + 16 ≤ len elements of each source; the stores stay in row p + q.
            unsafe {
                let mut r = [_mm512_setzero_ps(); 16];
                for (row, s) in r.iter_mut().zip(sources) {
                    if let Some(s) = s {
                        *row = _mm512_loadu_ps(s.add(p));
                    }
                }
                // Within 128-bit lanes: pairs of rows interleaved, then pairs of pairs, so
                // lane l of `s[4g + c]` holds rows 4g..4g + 4 at depth 4l + c.
                let mut t = [_mm512_setzero_ps(); 16];
                for pair in 0..8 {
                    t[2 * pair] = _mm512_unpacklo_ps(r[2 * pair], r[2 * pair + 1]);
                    t[2 * pair + 1] = _mm512_unpackhi_ps(r[2 * pair], r[2 * pair + 1]);
                }
                let mut s = [_mm512_setzero_pd(); 16];
                for quad in 0..4 {
                    let (a, b) = (4 * quad, 4 * quad + 2);
                    s[a] = _mm512_unpacklo_pd(_mm512_castps_pd(t[a]), _mm512_castps_pd(t[b]));
                    s[a + 1] = _mm512_unpackhi_pd(_mm512_castps_pd(t[a]), _mm512_castps_pd(t[b]));
                    s[a + 2] = _mm512_unpacklo_pd(_mm512_castps_pd(t[a + 1]), _mm512_castps_pd(t[b + 1]));
                    s[a + 3] = _mm512_unpackhi_pd(_mm512_castps_pd(t[a + 1]), _mm512_castps_pd(t[b + 1]));
                }
                let mut lanes = [_mm512_setzero_ps(); 16];
                for (l, s) in lanes.iter_mut().zip(s) {
                    *l = _mm512_castpd_ps(s);
                }
                let s = lanes;
                // Then the lanes: depth 4l + c gathers lane l of s[c], s[4 + c], s[8 + c],
                // s[12 + c].
                for c in 0..4 {
                    let even_low = _mm512_shuffle_f32x4::<0x88>(s[c], s[4 + c]);
                    let odd_low = _mm512_shuffle_f32x4::<0xDD>(s[c], s[4 + c]);
                    let even_high = _mm512_shuffle_f32x4::<0x88>(s[8 + c], s[12 + c]);
                    let odd_high = _mm512_shuffle_f32x4::<0xDD>(s[8 + c], s[12 + c]);
                    let columns = [
                        (c, _mm512_shuffle_f32x4::<0x88>(even_low, even_high)),
                        (4 + c, _mm512_shuffle_f32x4::<0x88>(odd_low, odd_high)),
                        (8 + c, _mm512_shuffle_f32x4::<0xDD>(even_low, even_high)),
                        (12 + c, _mm512_shuffle_f32x4::<0xDD>(odd_low, odd_high)),
                    ];
                    for (q, column) in columns {
                        _mm512_storeu_ps(out.add((p + q) * width + group), column);
                    }
                }
            }
        }
        // SAFETY: forwarded; rows whole..len of the panel.
        unsafe { tail(&sources, whole..len, width, group, sources.len(), out) };
    }
}

/// The transpose of 8 rows of 8 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn transpose_8x8(r: [std::arch::x86_64::__m256; 8]) -> [std::arch::x86_64::__m256; 8] {
    use std::arch::x86_64::*;
    // Interleave pairs of rows, then pairs of pairs within each 128-bit half, then swap halves.
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// [`panel_f32`] for f64, 4 × 4 blocks: `width` a multiple of 4 or 2.
///
/// # Safety
/// As [`panel_f32`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn panel_f64(src: *const f64, stride: isize, count: usize, width: usize, len: usize, out: *mut f64) {
    use std::arch::x86_64::*;
    let whole = len - len % 4;
    for group in (0..width).step_by(4) {
        let lanes = (width - group).min(4);
        let sources: [Option<*const f64>; 4] = sources(src, stride, group, count);
        for p in (0..whole).step_by(4) {
            // SAFETY: p + 4 ≤ len elements of each source; the stores stay in row p + q.
            unsafe {
                let mut r = [_mm256_setzero_pd(); 4];
                for (row, s) in r.iter_mut().zip(sources) {
                    if let Some(s) = s {
                        *row = _mm256_loadu_pd(s.add(p));
                    }
                }
                let t0 = _mm256_unpacklo_pd(r[0], r[1]);
                let t1 = _mm256_unpackhi_pd(r[0], r[1]);
                let t2 = _mm256_unpacklo_pd(r[2], r[3]);
                let t3 = _mm256_unpackhi_pd(r[2], r[3]);
                let columns = [
                    _mm256_permute2f128_pd::<0x20>(t0, t2),
                    _mm256_permute2f128_pd::<0x20>(t1, t3),
                    _mm256_permute2f128_pd::<0x31>(t0, t2),
                    _mm256_permute2f128_pd::<0x31>(t1, t3),
                ];
                for (q, column) in columns.iter().enumerate() {
                    let to = out.add((p + q) * width + group);
                    match lanes {
                        4 => _mm256_storeu_pd(to, *column),
                        _ => _mm_storeu_pd(to, _mm256_castpd256_pd128(*column)),
                    }
                }
            }
        }
        // SAFETY: forwarded; rows whole..len of the panel.
        unsafe { tail(&sources, whole..len, width, group, lanes, out) };
    }
}

/// [`panel_f64`] eight sources at a time, by 8 × 8 transposes in AVX-512 registers (24
/// shuffles per 64 elements, against 32 for four 4 × 4 blocks).
///
/// # Safety
/// As [`panel_f32`], but the CPU has AVX-512F and `width` is a multiple of 8.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn panel_f64_wide(
    src: *const f64,
    stride: isize,
    count: usize,
    width: usize,
    len: usize,
    out: *mut f64,
) {
    use std::arch::x86_64::*;
    let whole = len - len % 8;
    for group in (0..width).step_by(8) {
        let sources: [Option<*const f64>; 8] = sources(src, stride, group, count);
        for p in (0..whole).step_by(8) {
            // SAFETY: p + 8 ≤ len elements of each source; the stores stay in row p + q.
            unsafe {
                let mut r = [_mm512_setzero_pd(); 8];
                for (row, s) in r.iter_mut().zip(sources) {
                    if let Some(s) = s {
                        *row = _mm512_loadu_pd(s.add(p));
                    }
                }
                // Pairs of rows interleaved, then 128-bit lanes gathered twice: lane l of
                // `columns[q]` ends up holding rows 2l and 2l + 1 at depth q.
                let mut t = [_mm512_setzero_pd(); 8];
                for pair in 0..4 {
                    t[2 * pair] = _mm512_unpacklo_pd(r[2 * pair], r[2 * pair + 1]);
                    t[2 * pair + 1] = _mm512_unpackhi_pd(r[2 * pair], r[2 * pair + 1]);
                }
                let u = [
                    _mm512_shuffle_f64x2::<0x88>(t[0], t[2]),
                    _mm512_shuffle_f64x2::<0xDD>(t[0], t[2]),
                    _mm512_shuffle_f64x2::<0x88>(t[1], t[3]),
                    _mm512_shuffle_f64x2::<0xDD>(t[1], t[3]),
                    _mm512_shuffle_f64x2::<0x88>(t[4], t[6]),
                    _mm512_shuffle_f64x2::<0xDD>(t[4], t[6]),
                    _mm512_shuffle_f64x2::<0x88>(t[5], t[7]),
                    _mm512_shuffle_f64x2::<0xDD>(t[5], t[7]),
                ];
                let columns = [
                    _mm512_shuffle_f64x2::<0x88>(u[0], u[4]),
                    _mm512_shuffle_f64x2::<0x88>(u[2], u[6]),
                    _mm512_shuffle_f64x2::<0x88>(u[1], u[5]),
                    _mm512_shuffle_f64x2::<0x88>(u[3], u[7]),
                    _mm512_shuffle_f64x2::<0xDD>(u[0], u[4]),
                    _mm512_shuffle_f64x2::<0xDD>(u[2], u[6]),
                    _mm512_shuffle_f64x2::<0xDD>(u[1], u[5]),
                    _mm512_shuffle_f64x2::<0xDD>(u[3], u[7]),
                ];
                for (q, column) in columns.iter().enumerate() {
                    _mm512_storeu_pd(out.add((p + q) * width + group), *column);
                }
            }
        }
        // SAFETY: forwarded; rows whole..len of the panel.
        unsafe { tail(&sources, whole..len, width, group, sources.len(), out) };
    }
}

/// The sources `group..group + N` of a panel, `None` from `count` on.
#[inline(always)]
fn sources<T, const N: usize>(src: *const T, stride: isize, group: usize, count: usize) -> [Option<*const T>; N] {
    std::array::from_fn(|j| (group + j < count).then(|| src.wrapping_offset((group + j) as isize * stride)))
}

/// Rows `rows` of a panel, one element at a time: columns `group..group + lanes` from
/// `sources`, zero where a source is missing.
///
/// # Safety
/// Each source holds `rows.end` elements; `out` holds `rows.end · width`.
#[inline(always)]
unsafe fn tail<T: Copy + Default>(
    sources: &[Option<*const T>],
    rows: std::ops::Range<usize>,
    width: usize,
    group: usize,
    lanes: usize,
    out: *mut T,
) {
    for p in rows {
        for (j, s) in sources.iter().enumerate().take(lanes) {
            // SAFETY: the element is inside row p of the panel and of its source (the
            // caller's promise).
            unsafe { *out.add(p * width + group + j) = s.map_or(T::default(), |s| *s.add(p)) };
        }
    }
}

/// Packs `count` strided sources into a panel `width` wide as [`panel_f32`] does, with
/// register transposes where the CPU and the element type allow; returns `false`, having
/// written nothing, where they do not.
///
/// # Safety
/// As [`panel_f32`], except for the CPU requirement.
pub(super) unsafe fn panel<T: crate::Float>(
    src: *const T,
    stride: isize,
    count: usize,
    width: usize,
    len: usize,
    out: *mut T,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::any::TypeId;
        if std::arch::is_x86_feature_detected!("avx2") {
            if TypeId::of::<T>() == TypeId::of::<f32>()
                && width.is_multiple_of(16)
                && std::arch::is_x86_feature_detected!("avx512f")
            {
                // SAFETY: T is f32 and the CPU has AVX-512F.
                unsafe { panel_f32_wide(src.cast(), stride, count, width, len, out.cast()) };
                return true;
            }
            if TypeId::of::<T>() == TypeId::of::<f32>() && (width.is_multiple_of(8) || width == 6 || width == 10) {
                // SAFETY: T is f32 and the CPU has AVX2.
                unsafe { panel_f32(src.cast(), stride, count, width, len, out.cast()) };
                return true;
            }
            if TypeId::of::<T>() == TypeId::of::<f64>()
                && width.is_multiple_of(8)
                && std::arch::is_x86_feature_detected!("avx512f")
            {
                // SAFETY: T is f64 and the CPU has AVX-512F.
                unsafe { panel_f64_wide(src.cast(), stride, count, width, len, out.cast()) };
                return true;
            }
            if TypeId::of::<T>() == TypeId::of::<f64>() && width.is_multiple_of(2) {
                // SAFETY: T is f64 and the CPU has AVX2.
                unsafe { panel_f64(src.cast(), stride, count, width, len, out.cast()) };
                return true;
            }
        }
    }
    let _ = (src, stride, count, width, len, out);
    false
}
