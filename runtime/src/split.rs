//! Element-wise work split across the thread pool.
//!
//! A loop whose every element is computed from that element's inputs only (an optimizer
//! update, a map) gives the same bits however its range is cut, so large ones are cut into one
//! contiguous part per thread. [`Disjoint`] hands each part its own piece of an output slice.

use std::marker::PhantomData;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

/// Loops shorter than this run on the calling thread: waking a worker costs about as much as
/// this many element updates.
pub const PARALLEL_MIN_ELEMENTS: usize = 1 << 15;

/// Parts start at multiples of this many elements (a cache line of f64 and of f32 twice).
const ALIGN: usize = 16;

/// Runs `work` over `0..len` cut into one contiguous range per thread (a single range when
/// `len` is below [`PARALLEL_MIN_ELEMENTS`] or there is one thread); true if every part
/// returned true.
pub fn split_range(len: usize, work: &(dyn Fn(Range<usize>) -> bool + Sync)) -> bool {
    let threads = if len < PARALLEL_MIN_ELEMENTS { 1 } else { crate::threads::threads() };
    if threads <= 1 {
        return work(0..len);
    }
    let chunk = len.div_ceil(threads).next_multiple_of(ALIGN);
    let all = AtomicBool::new(true);
    crate::threads::run_parts(len.div_ceil(chunk), &|part| {
        let range = part * chunk..((part + 1) * chunk).min(len);
        if !work(range) {
            all.store(false, Ordering::Relaxed);
        }
    });
    all.load(Ordering::Relaxed)
}

/// A mutable slice whose disjoint ranges are handed to different threads.
pub struct Disjoint<'a, T> {
    ptr: *mut T,
    len: usize,
    _slice: PhantomData<&'a mut [T]>,
}

// SAFETY: it only hands out `&mut` to ranges that its users keep disjoint (see `part`).
unsafe impl<T: Send> Sync for Disjoint<'_, T> {}
unsafe impl<T: Send> Send for Disjoint<'_, T> {}

impl<'a, T> Disjoint<'a, T> {
    /// Borrows `slice` for the duration of the split.
    pub fn new(slice: &'a mut [T]) -> Self {
        Disjoint { ptr: slice.as_mut_ptr(), len: slice.len(), _slice: PhantomData }
    }

    /// The elements in `range`.
    ///
    /// # Safety
    /// No two live results may overlap: each part of a split asks for its own range once.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn part(&self, range: Range<usize>) -> &mut [T] {
        assert!(range.start <= range.end && range.end <= self.len, "range inside the slice");
        // SAFETY: inside the slice (checked), and not aliased (the caller's promise).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }
}

/// Most buffers one [`columns`] call can split (a fused kernel's written buffers).
pub const MAX_STRIPED_BUFFERS: usize = 16;

/// Columns `cols` of a row-major matrix `width` wide: the part of one buffer that one
/// thread of a [`columns`] split owns.
pub struct Stripe<'a, T> {
    ptr: *mut T,
    width: usize,
    rows: usize,
    cols: Range<usize>,
    _buffer: PhantomData<&'a mut [T]>,
}

impl<T> Stripe<'_, T> {
    /// Row `r` of the stripe: its elements in columns `cols` (index `c − cols.start`).
    #[inline]
    pub fn row(&mut self, r: usize) -> &mut [T] {
        assert!(r < self.rows, "row {r} of a stripe of {} rows", self.rows);
        // SAFETY: row r lies inside the buffer, and no other stripe holds these columns; the
        // borrow of `self` keeps one row slice alive at a time.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r * self.width + self.cols.start), self.cols.len()) }
    }
}

/// The columns a fused kernel's row sums accumulate at a time, in registers, for a batch
/// `width` columns wide: 32 or 16 where they divide `width`, else 8. Every stripe of a
/// [`columns`] split is a whole number of them, so a kernel that blocks its columns by
/// this (a generated one does when `width` is a multiple of 16) needs no remainder loop.
pub const fn column_block(width: usize) -> usize {
    if width.is_multiple_of(32) {
        32
    } else if width.is_multiple_of(16) {
        16
    } else {
        8
    }
}

/// Runs `work` over the columns `0..width` of a batch, cut into one stripe of columns per
/// thread when `rows × width` reaches [`PARALLEL_MIN_ELEMENTS`]. `buffers` are the
/// row-major matrices `width` wide that the work writes (a `[B, width]` activation, or a
/// `[width]` column statistic as one row); each part gets its stripe of every one, in order.
///
/// A fused kernel's passes treat columns independently (a row sum runs down a column), so
/// each column is computed by one thread in one-thread order: results do not depend on the
/// split.
///
/// `work` is generic, so the generated kernel it calls is compiled in the user's crate into
/// this function's [`wide`](crate::simd::wide) body: its loops use eight lanes where the CPU
/// has them, whatever the crate's own target.
pub fn columns<T: Send, F>(rows: usize, width: usize, buffers: &mut [&mut [T]], work: &F)
where
    F: Fn(Range<usize>, &mut [Stripe<'_, T>]) + Sync,
{
    assert!(buffers.len() <= MAX_STRIPED_BUFFERS, "at most {MAX_STRIPED_BUFFERS} striped buffers");
    assert!(width > 0 && buffers.iter().all(|b| b.len() % width == 0), "buffers are whole rows");
    // Pointers and row counts, shared with the parts (each takes its own columns of them).
    let mut raw = [(0usize, 0usize); MAX_STRIPED_BUFFERS];
    for (slot, buffer) in raw.iter_mut().zip(buffers.iter_mut()) {
        *slot = (buffer.as_mut_ptr() as usize, buffer.len() / width);
    }
    let count = buffers.len();
    let run = |cols: Range<usize>| {
        let mut stripes: [Stripe<'_, T>; MAX_STRIPED_BUFFERS] = std::array::from_fn(|b| Stripe {
            ptr: raw[b].0 as *mut T,
            width,
            rows: raw[b].1,
            cols: cols.clone(),
            _buffer: PhantomData,
        });
        crate::simd::wide(|| work(cols, &mut stripes[..count]));
    };
    let threads = if rows.saturating_mul(width) < PARALLEL_MIN_ELEMENTS { 1 } else { crate::threads::threads() };
    // Stripes of whole blocks (at least whole vectors of 8 f32 lanes), and no more of them
    // than columns allow.
    let stripe = width.div_ceil(threads).next_multiple_of(column_block(width));
    if threads <= 1 || stripe >= width {
        return run(0..width);
    }
    crate::threads::run_parts(width.div_ceil(stripe), &|part| run(part * stripe..((part + 1) * stripe).min(width)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_range_covers_every_element_once_and_ands_the_results() {
        crate::threads::set_threads(3);
        for len in [0, 5, PARALLEL_MIN_ELEMENTS - 1, PARALLEL_MIN_ELEMENTS, 3 * PARALLEL_MIN_ELEMENTS + 7] {
            let mut seen = vec![0u8; len];
            let cells = Disjoint::new(&mut seen);
            // SAFETY: every part takes its own range.
            let all = split_range(len, &|r| {
                unsafe { cells.part(r) }.iter_mut().for_each(|c| *c += 1);
                true
            });
            assert!(all && seen.iter().all(|&c| c == 1), "len {len}");
            assert!(!split_range(len.max(1), &|r| r.start != 0), "a false part makes the whole false");
        }
    }

    #[test]
    fn column_stripes_are_disjoint_and_cover_the_buffers() {
        crate::threads::set_threads(3);
        for (rows, width) in [(1, 1), (3, 7), (128, 512), (256, 333), (300, 48), (400, 96), (200, 200)] {
            let mut matrix = vec![0u32; rows * width];
            let mut sums = vec![0u32; width];
            let stripes_seen = std::sync::Mutex::new(Vec::new());
            columns(rows, width, &mut [&mut matrix, &mut sums], &|cols, stripes| {
                stripes_seen.lock().unwrap().push(cols.clone());
                let [matrix, sums] = stripes else { unreachable!() };
                let sums = sums.row(0);
                for r in 0..rows {
                    let row = matrix.row(r);
                    for c in cols.clone() {
                        row[c - cols.start] += (r * width + c) as u32 + 1;
                        sums[c - cols.start] += 1;
                    }
                }
            });
            assert!(matrix.iter().enumerate().all(|(i, &v)| v == i as u32 + 1), "{rows}x{width}");
            assert!(sums.iter().all(|&s| s == rows as u32), "{rows}x{width}");
            // Blocked kernels rely on whole blocks in every stripe.
            let stripes_seen = stripes_seen.into_inner().unwrap();
            assert!(stripes_seen.len() > 1 || rows * width < PARALLEL_MIN_ELEMENTS, "{rows}x{width} was not split");
            for cols in stripes_seen {
                assert!(
                    cols.len().is_multiple_of(column_block(width).min(width)) || !width.is_multiple_of(16),
                    "{cols:?}"
                );
            }
        }
    }
}
