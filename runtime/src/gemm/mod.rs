//! Matrix multiplication with a reusable packing workspace.
//!
//! A blocked GEMM in the Goto/BLIS scheme: panels of A and B are packed into contiguous,
//! zero-padded micro-panels, and an MR × NR tile of C is accumulated in registers per pair of
//! micro-panels. The packing buffers live in a per-thread workspace that only grows, so once a
//! training step has run at a batch size, later steps allocate nothing (the GEMM crates this
//! was measured against allocate their packing buffers on every call). On x86-64 the tile
//! kernel uses AVX-512 or AVX2 + FMA intrinsics when the CPU has them, chosen at run time;
//! elsewhere a portable kernel runs.

use std::any::TypeId;
use std::cell::RefCell;

use crate::Float;

mod transpose;

/// The register tile (rows × columns of C) of each kernel: AVX-512 holds 8 rows of two
/// 16-lane registers (16 accumulators of 32 registers); AVX2 has 16 registers, so 6 rows of two
/// vectors (12 accumulators, 2 for B, 1 broadcast), the shape BLIS uses there.
const WIDE: (usize, usize) = (8, 32);
/// The AVX-512 tile for f64: 8 rows of two 8-lane registers, so that a packed panel of B
/// (KC × 16) takes the same 32 KiB of L1 as f32's does.
#[cfg(target_arch = "x86_64")]
const WIDE_F64: (usize, usize) = (8, 16);
/// Largest MR × NR of any kernel (the portable one's scratch tile).
const MAX_TILE: usize = 10 * 32;
/// Largest MR and NR of any kernel.
const MAX_TILE_ROWS: usize = 10;
const MAX_TILE_COLUMNS: usize = 32;
/// Depth of a packed panel.
const KC: usize = 256;
/// Rows of A per packed block.
const MC: usize = 128;
/// Columns of B per packed block.
const NC: usize = 2048;
/// A is read in place when at most this many tiles of columns reuse a panel (16 made W1 no
/// faster).
const A_IN_PLACE_MAX_TILES: usize = 4;

/// `op(M)` as a pointer and strides: element (r, c) is at `ptr + r·rs + c·cs`.
#[derive(Clone, Copy)]
pub(crate) struct View<T> {
    pub(crate) ptr: *const T,
    pub(crate) rs: isize,
    pub(crate) cs: isize,
}

impl<T: Copy> View<T> {
    #[inline(always)]
    unsafe fn at(&self, r: usize, c: usize) -> T {
        // SAFETY: the caller keeps (r, c) inside the matrix.
        unsafe { *self.ptr.offset(r as isize * self.rs + c as isize * self.cs) }
    }
}

/// The packing buffers of one thread for one element type; they only grow.
struct Workspace<T> {
    a: Vec<T>,
    b: Vec<T>,
}

thread_local! {
    static WORKSPACE_F32: RefCell<Workspace<f32>> = const { RefCell::new(Workspace { a: Vec::new(), b: Vec::new() }) };
    static WORKSPACE_F64: RefCell<Workspace<f64>> = const { RefCell::new(Workspace { a: Vec::new(), b: Vec::new() }) };
}

/// Which tile kernel this CPU runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kernel {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

fn kernel() -> Kernel {
    #[cfg(test)]
    if let Some(forced) = FORCED_KERNEL.with(std::cell::Cell::get) {
        return forced;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Kernel::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return Kernel::Avx2Fma;
        }
    }
    Kernel::Portable
}

#[cfg(test)]
thread_local! {
    /// The kernel this thread's products use in tests, instead of the CPU's best.
    static FORCED_KERNEL: std::cell::Cell<Option<Kernel>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` once with each tile kernel this CPU can run (its best, then the simpler ones),
/// on the calling thread: so that one machine tests them all.
#[cfg(test)]
pub(crate) fn with_each_kernel(mut f: impl FnMut(&str)) {
    let mut kernels = vec![(Kernel::Portable, "portable")];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            kernels.push((Kernel::Avx2Fma, "avx2"));
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            kernels.push((Kernel::Avx512, "avx512"));
        }
    }
    for (kernel, name) in kernels.into_iter().rev() {
        FORCED_KERNEL.with(|k| k.set(Some(kernel)));
        f(name);
    }
    FORCED_KERNEL.with(|k| k.set(None));
}

/// `C[m×n] = op(A)[m×k] · op(B)[k×n]`, C row-major with row stride `n`, overwritten.
///
/// # Safety
/// The views must describe valid matrices of the given sizes; `c` must hold `m·n` elements
/// and overlap neither.
pub(crate) unsafe fn gemm<T: Float>(m: usize, k: usize, n: usize, a: View<T>, b: View<T>, c: *mut T) {
    let parts = parts(m, k, n);
    if parts <= 1 {
        // SAFETY: forwarded.
        return unsafe { gemm_on_this_thread(m, k, n, a, b, c, n) };
    }
    // Stripes of C, whole register tiles wide: each element is computed by one thread, in
    // the same order as on one thread, so the split never changes a result.
    let by_columns = n >= m;
    let (extent, align) = if by_columns { (n, 32) } else { (m, 24) };
    let stripe = extent.div_ceil(parts).next_multiple_of(align);
    let split = Split { m, k, n, a, b, c, by_columns, stripe };
    // SAFETY: forwarded; the parts write disjoint stripes of C.
    crate::threads::run_parts(extent.div_ceil(stripe), &|part| unsafe { split.stripe(part) });
}

/// One product split into stripes of C, shared by the threads that compute them.
struct Split<T> {
    m: usize,
    k: usize,
    n: usize,
    a: View<T>,
    b: View<T>,
    c: *mut T,
    by_columns: bool,
    stripe: usize,
}

// SAFETY: A and B are only read, and every part writes its own stripe of C.
unsafe impl<T> Sync for Split<T> {}

impl<T: Float> Split<T> {
    /// Computes stripe `part` of C.
    ///
    /// # Safety
    /// As [`gemm`]; no two threads compute the same part.
    unsafe fn stripe(&self, part: usize) {
        let Split { m, k, n, a, b, c, by_columns, stripe } = *self;
        let start = part * stripe;
        let extent = if by_columns { n } else { m };
        if start >= extent {
            return;
        }
        let len = stripe.min(extent - start);
        // SAFETY: the views and the stripe stay inside A, B and C.
        unsafe {
            if by_columns {
                let b = View { ptr: b.ptr.offset(start as isize * b.cs), ..b };
                gemm_on_this_thread(m, k, len, a, b, c.add(start), n);
            } else {
                let a = View { ptr: a.ptr.offset(start as isize * a.rs), ..a };
                gemm_on_this_thread(len, k, n, a, b, c.add(start * n), n);
            }
        }
    }
}

/// Products below this many multiply-adds run on one thread: waking the workers costs more.
const PARALLEL_MIN_MADDS: usize = 1 << 22;

/// How many stripes to split a product into.
fn parts(m: usize, k: usize, n: usize) -> usize {
    let madds = m.saturating_mul(k).saturating_mul(n);
    if madds < PARALLEL_MIN_MADDS {
        return 1;
    }
    crate::threads::threads().min(madds / (PARALLEL_MIN_MADDS / 2)).max(1)
}

/// [`gemm`] on the calling thread, C with row stride `ldc`.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_on_this_thread<T: Float>(m: usize, k: usize, n: usize, a: View<T>, b: View<T>, c: *mut T, ldc: usize) {
    // Two monomorphic thread-locals behind one generic entry point: T is f32 or f64.
    let run = |ws: &mut Workspace<T>| unsafe { blocked(ws, m, k, n, a, b, c, ldc) };
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        WORKSPACE_F32.with(|w| {
            let mut w = w.borrow_mut();
            // SAFETY: T is f32, so the workspace has T's element type.
            run(unsafe { &mut *(&mut *w as *mut Workspace<f32>).cast::<Workspace<T>>() })
        })
    } else {
        assert!(TypeId::of::<T>() == TypeId::of::<f64>(), "Float is implemented for f32 and f64 only");
        WORKSPACE_F64.with(|w| {
            let mut w = w.borrow_mut();
            // SAFETY: T is f64.
            run(unsafe { &mut *(&mut *w as *mut Workspace<f64>).cast::<Workspace<T>>() })
        })
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn blocked<T: Float>(
    ws: &mut Workspace<T>,
    m: usize,
    k: usize,
    n: usize,
    a: View<T>,
    b: View<T>,
    c: *mut T,
    ldc: usize,
) {
    let kernel = kernel();
    let is_f32 = TypeId::of::<T>() == TypeId::of::<f32>();
    let nr = match kernel {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma if is_f32 => 16,
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => 8,
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if !is_f32 => WIDE_F64.1,
        _ => WIDE.1,
    };
    // A narrow C (an output layer's n = 10) fills the wide tiles badly along its columns; its
    // transpose Cᵀ = op(B)ᵀ·op(A)ᵀ puts the narrow side along the short rows of the tile.
    // Each element still sums its products in the same order, so the result is unchanged.
    // (Dot products along k, unpacked, ran x·Wᵀ with n = 10 1.7× faster on AVX-512, but their
    // lane sums would make results differ between AVX-512 and AVX2 machines: every FMA tile
    // here sums an element's products in p order within a KC block and adds the blocks in
    // order, so all of them agree bit for bit.)
    let (m, n, a, b, out) = if n < m && n < 2 * nr && !n.is_multiple_of(nr) {
        let transpose = |v: View<T>| View { ptr: v.ptr, rs: v.cs, cs: v.rs };
        (n, m, transpose(b), transpose(a), Out { c, rs: 1, cs: ldc })
    } else {
        (m, n, a, b, Out { c, rs: ldc, cs: 1 })
    };
    // A few rows (a weight gradient of an output layer, m = 10) fit tiles of 5 better than 6,
    // and of 10 better than 8: the padded rows of a tile cost as much as real ones.
    let five_rows = m < 32 && m.next_multiple_of(5) < m.next_multiple_of(6);
    let ten_rows = m < 64 && m.next_multiple_of(10) < m.next_multiple_of(WIDE.0);
    // SAFETY (every arm): forwarded; each tile shape is the one its kernel computes.
    match kernel {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma if is_f32 && five_rows => unsafe { blocked_tiles::<T, 5, 16>(ws, kernel, m, k, n, a, b, out) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma if is_f32 => unsafe { blocked_tiles::<T, 6, 16>(ws, kernel, m, k, n, a, b, out) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma if five_rows => unsafe { blocked_tiles::<T, 5, 8>(ws, kernel, m, k, n, a, b, out) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => unsafe { blocked_tiles::<T, 6, 8>(ws, kernel, m, k, n, a, b, out) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if is_f32 && ten_rows => unsafe { blocked_tiles::<T, 10, 32>(ws, kernel, m, k, n, a, b, out) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if ten_rows => unsafe { blocked_tiles::<T, 10, 16>(ws, kernel, m, k, n, a, b, out) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if !is_f32 => unsafe {
            blocked_tiles::<T, { WIDE_F64.0 }, { WIDE_F64.1 }>(ws, kernel, m, k, n, a, b, out)
        },
        _ => unsafe { blocked_tiles::<T, { WIDE.0 }, { WIDE.1 }>(ws, kernel, m, k, n, a, b, out) },
    }
}

/// Where C is: element (i, j) at `c + i·rs + j·cs`.
#[derive(Clone, Copy)]
struct Out<T> {
    c: *mut T,
    rs: usize,
    cs: usize,
}

impl<T> Out<T> {
    /// The tile of `rows × cols` elements at row `i`, column `j`.
    ///
    /// # Safety
    /// The tile must lie inside C.
    #[inline(always)]
    unsafe fn tile(self, i: usize, j: usize, rows: usize, cols: usize, overwrite: bool) -> Tile<T> {
        // SAFETY: the caller's promise.
        let c = unsafe { self.c.add(i * self.rs + j * self.cs) };
        Tile { c, rs: self.rs, cs: self.cs, rows, cols, overwrite }
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn blocked_tiles<T: Float, const MR: usize, const NR: usize>(
    ws: &mut Workspace<T>,
    kernel: Kernel,
    m: usize,
    k: usize,
    n: usize,
    a: View<T>,
    b: View<T>,
    out: Out<T>,
) {
    // Sized for the largest block of any product, once: which stripe of a split product a
    // thread computes varies from step to step, and a warm step must not find a buffer short.
    // (A block's last panel is padded to a whole tile; MC need not be a multiple of MR.)
    let a_len = (MC + MAX_TILE_ROWS) * KC;
    let b_len = (NC + MAX_TILE_COLUMNS) * KC;
    if ws.a.len() < a_len {
        ws.a.resize(a_len, T::zero());
    }
    if ws.b.len() < b_len {
        ws.b.resize(b_len, T::zero());
    }
    // With one tile of rows (an output layer's m = 10), each panel of B is read once, so
    // packing it would only copy it: the kernel reads a row-major B in place, but for a last
    // panel narrower than NR, which is packed (its rows would end inside the tile).
    let b_in_place = m <= MR && b.cs == 1;
    // Otherwise, with one tile of rows, each panel of B is packed just before its tile reads
    // it, while it is still in L1: packing the whole block first would write it out to L2 or
    // beyond and read it back (x·Wᵀ with n = 10, computed as Cᵀ, packs all of x).
    let pack_each_panel = m <= MR && !b_in_place;
    // Where few tiles of columns reuse a panel of A (W3's n = 64: two), packing it costs more
    // than the tile kernel reading it in place: a column-major A (a weight gradient's dYᵀ)
    // holds each panel's MR rows contiguous per column, a.cs apart; a row-major one holds
    // them a.rs apart, each row contiguous along k. (W3: 600-605 -> 637-664 steps/s.)
    let a_in_place = (a.rs == 1 || a.cs == 1) && a.rs > 0 && a.cs > 0 && n.div_ceil(NR) <= A_IN_PLACE_MAX_TILES;
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        let in_place_columns = if b_in_place { nc - nc % NR } else { 0 };
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            if pack_each_panel {
                // SAFETY: the blocks lie inside A and B, and the buffers were sized above.
                unsafe { pack_a::<T, MR>(&mut ws.a, a, 0, pc, m, kc) };
                for jr in (0..nc).step_by(NR) {
                    unsafe { pack_b::<T, NR>(&mut ws.b, b, pc, jc + jr, kc, NR.min(nc - jr)) };
                    // SAFETY: the tile's rows × cols corner is inside C.
                    let tile = unsafe { out.tile(0, jc + jr, m, NR.min(nc - jr), pc == 0) };
                    unsafe {
                        tile_kernel::<T, MR, NR>(
                            kernel,
                            kc,
                            PanelA { ptr: ws.a.as_ptr(), step: MR, row: 1 },
                            ws.b.as_ptr(),
                            NR,
                            tile,
                        )
                    };
                }
                continue;
            }
            // SAFETY: the block lies inside B and the buffer was sized above.
            unsafe { pack_b::<T, NR>(&mut ws.b, b, pc, jc + in_place_columns, kc, nc - in_place_columns) };
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                // Whole panels of an A read in place start here; the rest is packed.
                let packed_from = if a_in_place { mc - mc % MR } else { 0 };
                if packed_from < mc {
                    // SAFETY: as above, for A.
                    unsafe { pack_a::<T, MR>(&mut ws.a, a, ic + packed_from, pc, mc - packed_from, kc) };
                }
                for jr in (0..nc).step_by(NR) {
                    let (bp, b_step) = if jr < in_place_columns {
                        // SAFETY: row pc, column jc + jr of B; NR columns of kc rows follow.
                        (unsafe { b.ptr.offset(pc as isize * b.rs + (jc + jr) as isize) }, b.rs as usize)
                    } else {
                        (ws.b[(jr - in_place_columns) * kc..].as_ptr(), NR)
                    };
                    for ir in (0..mc).step_by(MR) {
                        let panel = if ir < packed_from {
                            // SAFETY: row ic + ir, column pc of A, which holds MR rows of kc
                            // columns from there (column-major or row-major).
                            let ptr = unsafe { a.ptr.offset((ic + ir) as isize * a.rs + pc as isize * a.cs) };
                            PanelA { ptr, step: a.cs as usize, row: a.rs as usize }
                        } else {
                            let ptr = ws.a[(ir - packed_from) * kc..(ir - packed_from + MR) * kc].as_ptr();
                            PanelA { ptr, step: MR, row: 1 }
                        };
                        // SAFETY: the tile's rows × cols corner is inside C.
                        let tile = unsafe { out.tile(ic + ir, jc + jr, MR.min(mc - ir), NR.min(nc - jr), pc == 0) };
                        unsafe { tile_kernel::<T, MR, NR>(kernel, kc, panel, bp, b_step, tile) };
                    }
                }
            }
        }
    }
}

/// Packs `op(A)[i0.., p0..]` (mc × kc) into micro-panels of MR rows: element (i, p) of a
/// panel at `p·MR + i`, rows past the matrix zero. Reads along whichever axis of A is
/// contiguous; full panels take a path without the per-element bounds test.
unsafe fn pack_a<T: Float, const MR: usize>(buf: &mut [T], a: View<T>, i0: usize, p0: usize, mc: usize, kc: usize) {
    for (panel, ir) in (0..mc).step_by(MR).enumerate() {
        let out = &mut buf[panel * MR * kc..(panel + 1) * MR * kc];
        let rows = MR.min(mc - ir);
        // SAFETY: rows i0 + ir.. of A hold columns p0..p0 + kc; the panel holds kc × MR.
        let row_major = a.cs == 1
            && unsafe {
                let first = a.ptr.offset((i0 + ir) as isize * a.rs + p0 as isize);
                transpose::panel(first, a.rs, rows, MR, kc, out.as_mut_ptr())
            };
        if row_major {
            continue;
        }
        if a.cs == 1 {
            for i in 0..MR {
                if i >= rows {
                    (0..kc).for_each(|p| out[p * MR + i] = T::zero());
                    continue;
                }
                // SAFETY: row i0 + ir + i of A holds columns p0..p0 + kc, contiguous.
                let row = unsafe {
                    std::slice::from_raw_parts(a.ptr.offset((i0 + ir + i) as isize * a.rs + p0 as isize), kc)
                };
                for (p, &v) in row.iter().enumerate() {
                    out[p * MR + i] = v;
                }
            }
        } else if a.rs == 1 && rows == MR {
            for (p, chunk) in out.chunks_exact_mut(MR).enumerate() {
                // SAFETY: column p0 + p of A holds rows i0 + ir.. i0 + ir + MR, contiguous.
                let column =
                    unsafe { &*(a.ptr.offset((p0 + p) as isize * a.cs + (i0 + ir) as isize) as *const [T; MR]) };
                // A fixed-size copy compiles to register moves, not a call to memmove.
                let chunk: &mut [T; MR] = chunk.try_into().expect("MR elements");
                *chunk = *column;
            }
        } else if a.rs == 1 {
            for (p, chunk) in out.chunks_exact_mut(MR).enumerate() {
                // SAFETY: column p0 + p of A holds rows i0 + ir.. i0 + ir + rows, contiguous.
                let column = unsafe {
                    std::slice::from_raw_parts(a.ptr.offset((p0 + p) as isize * a.cs + (i0 + ir) as isize), rows)
                };
                chunk[..rows].copy_from_slice(column);
                chunk[rows..].fill(T::zero());
            }
        } else {
            for p in 0..kc {
                for i in 0..MR {
                    // SAFETY: (i0 + ir + i, p0 + p) is inside A when i < rows.
                    out[p * MR + i] = if i < rows { unsafe { a.at(i0 + ir + i, p0 + p) } } else { T::zero() };
                }
            }
        }
    }
}

/// Packs `op(B)[p0.., j0..]` (kc × nc) into micro-panels of NR columns: element (p, j) of a
/// panel at `p·NR + j`, columns past the matrix zero. That is the packing of A applied to
/// `op(B)ᵀ`, whose rows are B's columns.
unsafe fn pack_b<T: Float, const NR: usize>(buf: &mut [T], b: View<T>, p0: usize, j0: usize, kc: usize, nc: usize) {
    let transposed = View { ptr: b.ptr, rs: b.cs, cs: b.rs };
    // SAFETY: forwarded; the transposed view covers the same elements.
    unsafe { pack_a::<T, NR>(buf, transposed, j0, p0, nc, kc) }
}

/// A panel of A as a tile kernel reads it: element (i, p) at `ptr + p·step + i·row`. Packed,
/// `step` is MR and `row` 1; read in place, they are A's own strides.
#[derive(Clone, Copy)]
struct PanelA<T> {
    ptr: *const T,
    step: usize,
    row: usize,
}

impl<T> PanelA<T> {
    fn cast<U>(self) -> PanelA<U> {
        PanelA { ptr: self.ptr.cast(), step: self.step, row: self.row }
    }
}

/// Where a tile's results go: its corner of C, and whether to overwrite or accumulate.
#[derive(Clone, Copy)]
struct Tile<T> {
    c: *mut T,
    rs: usize,
    cs: usize,
    rows: usize,
    cols: usize,
    overwrite: bool,
}

impl<T: Float> Tile<T> {
    /// Writes the results `acc` (row-major, `nr` per row) into the tile's corner of C.
    #[inline(always)]
    unsafe fn store(self, acc: &[T], nr: usize) {
        for i in 0..self.rows {
            for j in 0..self.cols {
                // SAFETY: i < rows and j < cols stay inside the tile.
                let cij = unsafe { &mut *self.c.add(i * self.rs + j * self.cs) };
                let v = acc[i * nr + j];
                *cij = if self.overwrite { v } else { *cij + v };
            }
        }
    }
}

#[inline(always)]
unsafe fn tile_kernel<T: Float, const MR: usize, const NR: usize>(
    kernel: Kernel,
    kc: usize,
    a: PanelA<T>,
    bp: *const T,
    b_step: usize,
    tile: Tile<T>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        let f32_tile = |t: Tile<T>| Tile {
            c: t.c.cast::<f32>(),
            rs: t.rs,
            cs: t.cs,
            rows: t.rows,
            cols: t.cols,
            overwrite: t.overwrite,
        };
        let f64_tile = |t: Tile<T>| Tile {
            c: t.c.cast::<f64>(),
            rs: t.rs,
            cs: t.cs,
            rows: t.rows,
            cols: t.cols,
            overwrite: t.overwrite,
        };
        let is_f32 = TypeId::of::<T>() == TypeId::of::<f32>();
        let is_f64 = TypeId::of::<T>() == TypeId::of::<f64>();
        // SAFETY (every arm): T is the kernel's element type, so the panels and C have it, and
        // the CPU has the kernel's features (checked by `kernel()`).
        match kernel {
            Kernel::Avx512 if is_f32 && (MR, NR) == WIDE => {
                return unsafe { tile_f32_avx512(kc, a.cast(), bp.cast(), b_step, f32_tile(tile)) };
            }
            Kernel::Avx512 if is_f64 && (MR, NR) == WIDE_F64 => {
                return unsafe { tile_f64_avx512(kc, a.cast(), bp.cast(), b_step, f64_tile(tile)) };
            }
            Kernel::Avx512 if is_f32 && (MR, NR) == (10, 32) => {
                return unsafe { tile_f32_avx512_10(kc, a.cast(), bp.cast(), b_step, f32_tile(tile)) };
            }
            Kernel::Avx512 if is_f64 && (MR, NR) == (10, 16) => {
                return unsafe { tile_f64_avx512_10(kc, a.cast(), bp.cast(), b_step, f64_tile(tile)) };
            }
            Kernel::Avx2Fma if is_f32 && (MR, NR) == (6, 16) => {
                return unsafe { tile_f32_avx2(kc, a.cast(), bp.cast(), b_step, f32_tile(tile)) };
            }
            Kernel::Avx2Fma if is_f64 && (MR, NR) == (6, 8) => {
                return unsafe { tile_f64_avx2(kc, a.cast(), bp.cast(), b_step, f64_tile(tile)) };
            }
            Kernel::Avx2Fma if is_f32 && (MR, NR) == (5, 16) => {
                return unsafe { tile_f32_avx2_5(kc, a.cast(), bp.cast(), b_step, f32_tile(tile)) };
            }
            Kernel::Avx2Fma if is_f64 && (MR, NR) == (5, 8) => {
                return unsafe { tile_f64_avx2_5(kc, a.cast(), bp.cast(), b_step, f64_tile(tile)) };
            }
            _ => {}
        }
    }
    let _ = kernel;
    let mut acc = [T::zero(); MAX_TILE];
    for p in 0..kc {
        // SAFETY: row p of the B panel holds NR elements.
        let b = unsafe { std::slice::from_raw_parts(bp.add(p * b_step), NR) };
        // SAFETY: the A panel holds MR rows of kc columns.
        let column: [T; MAX_TILE_ROWS] =
            std::array::from_fn(|i| if i < MR { unsafe { *a.ptr.add(p * a.step + i * a.row) } } else { T::zero() });
        for i in 0..MR {
            for j in 0..NR {
                acc[i * NR + j] += column[i] * b[j];
            }
        }
    }
    // SAFETY: forwarded.
    unsafe { tile.store(&acc, NR) }
}

/// A vector tile kernel: `MR` rows of accumulators, each `NR / $lanes` registers of `$lanes`
/// lanes. Generated per element type and instruction set; the shapes keep the accumulators
/// within the register file.
macro_rules! tile_kernel {
    ($name:ident, $t:ty, $feature:literal, $mr:expr, $nr:expr, $lanes:expr,
     $zero:ident, $load:ident, $store:ident, $set1:ident, $fmadd:ident, $add:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $name(kc: usize, a: PanelA<$t>, bp: *const $t, b_step: usize, tile: Tile<$t>) {
            use std::arch::x86_64::*;
            const MR: usize = $mr;
            const NR: usize = $nr;
            const VECTORS: usize = NR / $lanes;
            let mut out = [0.0 as $t; MR * NR];
            // Fetch the tile of C while the products run: with a deep k split into blocks, C
            // is read and written once per block and would otherwise stall the stores.
            for r in 0..if tile.cs == 1 { tile.rows } else { 0 } {
                // SAFETY: prefetching is a hint; the addresses are the tile's rows in C.
                unsafe {
                    let row = tile.c.add(r * tile.rs);
                    _mm_prefetch::<_MM_HINT_T0>(row.cast());
                    _mm_prefetch::<_MM_HINT_T0>(row.add(tile.cols - 1).cast());
                }
            }
            let mut acc = [[$zero(); VECTORS]; MR];
            // One step of depth: a row of the B panel times a column of the A panel.
            let step = |p: usize, acc: &mut [[_; VECTORS]; MR]| {
                // SAFETY: the A panel holds kc columns of MR rows, and B kc rows of NR
                // from bp on, b_step apart; p < kc.
                unsafe {
                    let b = bp.add(p * b_step);
                    let mut bs = [$zero(); VECTORS];
                    for (v, bv) in bs.iter_mut().enumerate() {
                        *bv = $load(b.add(v * $lanes));
                    }
                    let column = a.ptr.add(p * a.step);
                    for (i, acc) in acc.iter_mut().enumerate() {
                        let ai = $set1(*column.add(i * a.row));
                        for (acc, bv) in acc.iter_mut().zip(bs) {
                            *acc = $fmadd(ai, bv, *acc);
                        }
                    }
                }
            };
            // Four steps per iteration: the loop's own instructions would otherwise take
            // issue slots from the FMAs.
            let mut p = 0;
            while p + 4 <= kc {
                step(p, &mut acc);
                step(p + 1, &mut acc);
                step(p + 2, &mut acc);
                step(p + 3, &mut acc);
                p += 4;
            }
            while p < kc {
                step(p, &mut acc);
                p += 1;
            }
            let whole = tile.rows == MR && tile.cols == NR && tile.cs == 1;
            for (r, acc) in acc.iter().enumerate() {
                for (v, acc) in acc.iter().enumerate() {
                    // SAFETY: a whole tile has MR rows of NR elements inside C; else
                    // each row of `out` has NR lanes.
                    unsafe {
                        if whole {
                            let cp = tile.c.add(r * tile.rs + v * $lanes);
                            let sum = if tile.overwrite { *acc } else { $add($load(cp), *acc) };
                            $store(cp, sum);
                        } else {
                            $store(out.as_mut_ptr().add(r * NR + v * $lanes), *acc);
                        }
                    }
                }
            }
            if whole {
                return;
            }
            // SAFETY: forwarded.
            unsafe { tile.store(&out, NR) }
        }
    };
}

/// The tile kernels of one vector type: its element type, target feature, lanes and
/// intrinsics (zero, load, store, broadcast, fused multiply-add, add), then each kernel's name,
/// rows and columns.
macro_rules! tile_kernels {
    ($t:ty, $feature:literal, $lanes:expr,
     [$zero:ident, $load:ident, $store:ident, $set1:ident, $fmadd:ident, $add:ident]:
     $($name:ident: $mr:expr, $nr:expr;)*) => {
        $(tile_kernel!($name, $t, $feature, $mr, $nr, $lanes, $zero, $load, $store, $set1, $fmadd, $add);)*
    };
}

// Ten rows for the outputs of ten classes: 20 accumulators, 2 of B and a broadcast still
// fit the 32 registers.
tile_kernels!(f32, "avx512f", 16,
    [_mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps]:
    tile_f32_avx512: 8, 32;
    tile_f32_avx512_10: 10, 32;
);
tile_kernels!(f64, "avx512f", 8,
    [_mm512_setzero_pd, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_add_pd]:
    tile_f64_avx512: 8, 16;
    tile_f64_avx512_10: 10, 16;
);
tile_kernels!(f32, "avx2,fma", 8,
    [_mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps]:
    tile_f32_avx2: 6, 16;
    tile_f32_avx2_5: 5, 16;
);
tile_kernels!(f64, "avx2,fma", 4,
    [_mm256_setzero_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_add_pd]:
    tile_f64_avx2: 6, 8;
    tile_f64_avx2_5: 5, 8;
);
