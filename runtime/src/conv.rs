//! Kernels over `[B, C, H, W]` images: convolution (im2col + the crate's GEMM), pooling, and
//! per-channel reductions and broadcasts. Conventions are PyTorch's: convolution is
//! cross-correlation, padded cells are zeros for convolution and average pooling (counted in
//! the mean) and never win a max pool, and max-pool gradients go to the first maximum.
//!
//! The convolutions take a `columns` workspace that the generated code sizes with its other
//! buffers ([`Window::workspace_per_example`] per example), so a warm step allocates nothing;
//! each group is one GEMM over the whole batch.

use crate::Float;
use crate::kernels::matmul;

/// Where a convolution or pooling window goes (mirrors the compiler's IR `Window`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Channel groups (pooling: one per channel).
    pub groups: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Step between windows.
    pub stride: [usize; 2],
    /// Zero padding `[top, left, bottom, right]`.
    pub padding: [usize; 4],
    /// Spacing of kernel taps.
    pub dilation: [usize; 2],
}

impl Window {
    /// Output height and width.
    pub fn output(&self) -> [usize; 2] {
        let along = |axis: usize, size: usize| {
            let padded = size + self.padding[axis] + self.padding[axis + 2];
            (padded - self.dilation[axis] * (self.kernel[axis] - 1) - 1) / self.stride[axis] + 1
        };
        [along(0, self.height), along(1, self.width)]
    }

    /// Rows of one group's column matrix: input channels per group × kernel taps.
    fn taps(&self) -> usize {
        self.channels_in / self.groups * self.kernel[0] * self.kernel[1]
    }

    fn output_pixels(&self) -> usize {
        let [h, w] = self.output();
        h * w
    }

    /// The workspace a convolution kernel (forward or either gradient) needs per example:
    /// one group's columns and one group's output, for the whole batch at once.
    pub fn workspace_per_example(&self) -> usize {
        (self.taps() + self.channels_out / self.groups) * self.output_pixels()
    }

    /// The input row (or column) that output position `out` and kernel tap `tap` read on
    /// `axis`, if it is inside the image.
    #[inline(always)]
    fn source(&self, axis: usize, out: usize, tap: usize) -> Option<usize> {
        let size = if axis == 0 { self.height } else { self.width };
        (out * self.stride[axis] + tap * self.dilation[axis]).checked_sub(self.padding[axis]).filter(|&p| p < size)
    }

    /// The output columns `ox` whose input column for tap `j` is inside the image.
    fn valid_columns(&self, j: usize) -> std::ops::Range<usize> {
        let out_w = self.output()[1];
        let offset = j * self.dilation[1];
        let (pad, stride) = (self.padding[1], self.stride[1]);
        // x = ox·s + offset − pad ∈ [0, W)
        let lo = pad.saturating_sub(offset).div_ceil(stride);
        let hi = (self.width + pad).saturating_sub(offset).div_ceil(stride).min(out_w);
        lo.min(hi)..hi
    }
}

/// The columns of group `group` for a whole batch: row (c, i, j), column `b·pixels + p`, holds
/// the input value under kernel tap (i, j) of channel c for output pixel p of example b (0 in
/// the padding).
fn im2col<T: Float>(w: &Window, x: &[T], group: usize, columns: &mut [T]) {
    let [out_h, out_w] = w.output();
    let (plane, pixels) = (w.height * w.width, out_h * out_w);
    let image_len = w.channels_in * plane;
    let batch = x.len() / image_len;
    let per_group = w.channels_in / w.groups;
    // One fill for the padding, then only the cells inside the image are copied.
    columns[..w.taps() * batch * pixels].fill(T::zero());
    let mut row = 0;
    for c in group * per_group..(group + 1) * per_group {
        for i in 0..w.kernel[0] {
            for j in 0..w.kernel[1] {
                let valid = w.valid_columns(j);
                let dest_row = &mut columns[row * batch * pixels..(row + 1) * batch * pixels];
                for b in 0..batch {
                    let channel = &x[b * image_len + c * plane..b * image_len + (c + 1) * plane];
                    for oy in 0..out_h {
                        let dest = &mut dest_row[b * pixels + oy * out_w..b * pixels + (oy + 1) * out_w];
                        let Some(y) = w.source(0, oy, i) else { continue };
                        let src_row = &channel[y * w.width..(y + 1) * w.width];
                        let first = valid.start * w.stride[1] + j * w.dilation[1] - w.padding[1];
                        if w.stride[1] == 1 {
                            dest[valid.clone()].copy_from_slice(&src_row[first..first + valid.len()]);
                        } else {
                            for (k, d) in dest[valid.clone()].iter_mut().enumerate() {
                                *d = src_row[first + k * w.stride[1]];
                            }
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// Adds columns laid out as [`im2col`]'s back onto the input positions they came from.
fn col2im_add<T: Float>(w: &Window, columns: &[T], group: usize, dx: &mut [T]) {
    let [out_h, out_w] = w.output();
    let (plane, pixels) = (w.height * w.width, out_h * out_w);
    let image_len = w.channels_in * plane;
    let batch = dx.len() / image_len;
    let per_group = w.channels_in / w.groups;
    let mut row = 0;
    for c in group * per_group..(group + 1) * per_group {
        for i in 0..w.kernel[0] {
            for j in 0..w.kernel[1] {
                let valid = w.valid_columns(j);
                let source_row = &columns[row * batch * pixels..(row + 1) * batch * pixels];
                for b in 0..batch {
                    let channel = &mut dx[b * image_len + c * plane..b * image_len + (c + 1) * plane];
                    for oy in 0..out_h {
                        let Some(y) = w.source(0, oy, i) else { continue };
                        let source = &source_row[b * pixels + oy * out_w..b * pixels + (oy + 1) * out_w];
                        let dest_row = &mut channel[y * w.width..(y + 1) * w.width];
                        let first = valid.start * w.stride[1] + j * w.dilation[1] - w.padding[1];
                        for (k, &v) in source[valid.clone()].iter().enumerate() {
                            dest_row[first + k * w.stride[1]] += v;
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// Copies group `group`'s channels of an NCHW output-shaped tensor into `[out/g, B·pixels]`.
fn gather_group<T: Float>(w: &Window, nchw: &[T], group: usize, dest: &mut [T]) {
    let (per_group, pixels) = (w.channels_out / w.groups, w.output_pixels());
    let batch = nchw.len() / (w.channels_out * pixels);
    for o in 0..per_group {
        for b in 0..batch {
            let src = &nchw[(b * w.channels_out + group * per_group + o) * pixels..][..pixels];
            dest[(o * batch + b) * pixels..][..pixels].copy_from_slice(src);
        }
    }
}

/// Copies `[out/g, B·pixels]` into group `group`'s channels of an NCHW output.
fn scatter_group<T: Float>(w: &Window, source: &[T], group: usize, nchw: &mut [T]) {
    let (per_group, pixels) = (w.channels_out / w.groups, w.output_pixels());
    let batch = nchw.len() / (w.channels_out * pixels);
    for o in 0..per_group {
        for b in 0..batch {
            let dest = &mut nchw[(b * w.channels_out + group * per_group + o) * pixels..][..pixels];
            dest.copy_from_slice(&source[(o * batch + b) * pixels..][..pixels]);
        }
    }
}

/// Splits the workspace into one group's columns `[taps, B·pixels]` and its outputs
/// `[out/g, B·pixels]`.
fn workspace<'a, T>(w: &Window, batch: usize, columns: &'a mut [T]) -> (&'a mut [T], &'a mut [T]) {
    let n = batch * w.output_pixels();
    let (cols, rest) = columns.split_at_mut(w.taps() * n);
    (cols, &mut rest[..w.channels_out / w.groups * n])
}

/// `out = conv(x, weight)`: per group, one GEMM `weight_g [out/g, taps] · columns [taps, B·pixels]`.
pub fn conv2d<T: Float>(w: &Window, x: &[T], weight: &[T], out: &mut [T], columns: &mut [T]) {
    let batch = x.len() / (w.channels_in * w.height * w.width);
    let (per_group_out, taps, n) = (w.channels_out / w.groups, w.taps(), batch * w.output_pixels());
    let (cols, product) = workspace(w, batch, columns);
    for g in 0..w.groups {
        im2col(w, x, g, cols);
        let weight_g = &weight[g * per_group_out * taps..(g + 1) * per_group_out * taps];
        matmul(per_group_out, taps, n, weight_g, false, cols, false, product);
        scatter_group(w, product, g, out);
    }
}

/// `dx` of a convolution: per group, `weight_gᵀ · g` back through col2im.
pub fn conv2d_grad_input<T: Float>(w: &Window, grad: &[T], weight: &[T], dx: &mut [T], columns: &mut [T]) {
    let batch = dx.len() / (w.channels_in * w.height * w.width);
    let (per_group_out, taps, n) = (w.channels_out / w.groups, w.taps(), batch * w.output_pixels());
    let (cols, grad_g) = workspace(w, batch, columns);
    dx.fill(T::zero());
    for g in 0..w.groups {
        gather_group(w, grad, g, grad_g);
        let weight_g = &weight[g * per_group_out * taps..(g + 1) * per_group_out * taps];
        matmul(taps, per_group_out, n, weight_g, true, grad_g, false, cols);
        col2im_add(w, cols, g, dx);
    }
}

/// `dweight` of a convolution: per group, `g [out/g, B·pixels] · columnsᵀ`, the sum over the
/// batch done by the GEMM.
pub fn conv2d_grad_weight<T: Float>(w: &Window, x: &[T], grad: &[T], dweight: &mut [T], columns: &mut [T]) {
    let batch = x.len() / (w.channels_in * w.height * w.width);
    let (per_group_out, taps, n) = (w.channels_out / w.groups, w.taps(), batch * w.output_pixels());
    let (cols, grad_g) = workspace(w, batch, columns);
    for g in 0..w.groups {
        im2col(w, x, g, cols);
        gather_group(w, grad, g, grad_g);
        let dweight_g = &mut dweight[g * per_group_out * taps..(g + 1) * per_group_out * taps];
        matmul(per_group_out, n, taps, grad_g, false, cols, true, dweight_g);
    }
}

/// The input rows (or columns) under window `out` on `axis`, clipped to the image.
#[inline(always)]
fn window_range(w: &Window, axis: usize, out: usize) -> std::ops::Range<usize> {
    let size = if axis == 0 { w.height } else { w.width };
    let start = out * w.stride[axis];
    let (lo, hi) = (start.saturating_sub(w.padding[axis]), (start + w.kernel[axis]).saturating_sub(w.padding[axis]));
    lo.min(size)..hi.min(size)
}

/// The position of the first maximum of window (oy, ox) in `plane` (NaN wins, as in PyTorch).
#[inline(always)]
fn argmax_in<T: Float>(w: &Window, plane: &[T], oy: usize, ox: usize) -> usize {
    let (rows, cols) = (window_range(w, 0, oy), window_range(w, 1, ox));
    let mut best = rows.start * w.width + cols.start;
    let mut best_value = plane[best];
    for y in rows {
        let row = y * w.width + cols.start;
        for (x, &v) in plane[row..y * w.width + cols.end].iter().enumerate() {
            // PyTorch's rule: a larger value or a NaN takes over.
            if v > best_value || v.is_nan() {
                (best, best_value) = (row + x, v);
            }
        }
    }
    best
}

/// `out` = the maximum of each window; padding never wins.
pub fn max_pool2d<T: Float>(w: &Window, x: &[T], out: &mut [T]) {
    max_pool::<T, false>(w, x, out, &mut []);
}

/// [`max_pool2d`] that also saves, for every output, the position of its maximum in the
/// input plane, for the backward pass.
pub fn max_pool2d_argmax<T: Float>(w: &Window, x: &[T], out: &mut [T], argmax: &mut [u32]) {
    assert_eq!(out.len(), argmax.len(), "max_pool2d_argmax sizes");
    max_pool::<T, true>(w, x, out, argmax);
}

/// Max pooling, saving the positions when `SAVE`.
fn max_pool<T: Float, const SAVE: bool>(w: &Window, x: &[T], out: &mut [T], argmax: &mut [u32]) {
    let [out_h, out_w] = w.output();
    let plane_len = w.height * w.width;
    // The common 2×2 window with stride 2 and no padding reads two input rows per output row
    // with fixed offsets, without clipping windows to the image.
    let two_by_two = w.kernel == [2, 2] && w.stride == [2, 2] && w.padding == [0; 4] && w.dilation == [1, 1];
    for (p, (plane, out)) in x.chunks_exact(plane_len).zip(out.chunks_exact_mut(out_h * out_w)).enumerate() {
        let saved: &mut [u32] = if SAVE { &mut argmax[p * out_h * out_w..(p + 1) * out_h * out_w] } else { &mut [] };
        for oy in 0..out_h {
            let out_row = &mut out[oy * out_w..(oy + 1) * out_w];
            if two_by_two {
                let top = 2 * oy * w.width;
                let bottom = top + w.width;
                let (upper, lower) = (&plane[top..top + 2 * out_w], &plane[bottom..bottom + 2 * out_w]);
                for (ox, o) in out_row.iter_mut().enumerate() {
                    let c = 2 * ox;
                    let (mut best, mut at) = (upper[c], top + c);
                    // PyTorch's rule: a larger value or a NaN takes over.
                    for (v, i) in [(upper[c + 1], top + c + 1), (lower[c], bottom + c), (lower[c + 1], bottom + c + 1)]
                    {
                        if v > best || v.is_nan() {
                            (best, at) = (v, i);
                        }
                    }
                    *o = best;
                    if SAVE {
                        saved[oy * out_w + ox] = at as u32;
                    }
                }
            } else {
                for (ox, o) in out_row.iter_mut().enumerate() {
                    let at = argmax_in(w, plane, oy, ox);
                    *o = plane[at];
                    if SAVE {
                        saved[oy * out_w + ox] = at as u32;
                    }
                }
            }
        }
    }
}

/// `dx` of a max pool: each window's gradient to the first maximum the forward pass saved
/// (as PyTorch's CPU kernel).
pub fn max_pool2d_grad<T: Float>(w: &Window, argmax: &[u32], grad: &[T], dx: &mut [T]) {
    let [out_h, out_w] = w.output();
    let plane_len = w.height * w.width;
    assert!(
        argmax.len() == grad.len() && dx.len() / plane_len == grad.len() / (out_h * out_w),
        "max_pool2d_grad sizes"
    );
    dx.fill(T::zero());
    for ((argmax, grad), dx) in
        argmax.chunks_exact(out_h * out_w).zip(grad.chunks_exact(out_h * out_w)).zip(dx.chunks_exact_mut(plane_len))
    {
        for (&at, &g) in argmax.iter().zip(grad) {
            dx[at as usize] += g;
        }
    }
}

/// `out` = the mean of each window, padding counted as zeros (PyTorch's default).
pub fn avg_pool2d<T: Float>(w: &Window, x: &[T], out: &mut [T]) {
    let [out_h, out_w] = w.output();
    let scale = T::one() / T::from_f64((w.kernel[0] * w.kernel[1]) as f64);
    for (plane, out) in x.chunks_exact(w.height * w.width).zip(out.chunks_exact_mut(out_h * out_w)) {
        for oy in 0..out_h {
            for ox in 0..out_w {
                let (rows, cols) = (window_range(w, 0, oy), window_range(w, 1, ox));
                let mut sum = T::zero();
                for y in rows {
                    sum += plane[y * w.width + cols.start..y * w.width + cols.end].iter().copied().sum::<T>();
                }
                out[oy * out_w + ox] = sum * scale;
            }
        }
    }
}

/// `dx` of an average pool: each window's gradient spread evenly over its cells.
pub fn avg_pool2d_grad<T: Float>(w: &Window, grad: &[T], dx: &mut [T]) {
    let [out_h, out_w] = w.output();
    let scale = T::one() / T::from_f64((w.kernel[0] * w.kernel[1]) as f64);
    dx.fill(T::zero());
    for (dx, grad) in dx.chunks_exact_mut(w.height * w.width).zip(grad.chunks_exact(out_h * out_w)) {
        for oy in 0..out_h {
            for ox in 0..out_w {
                let share = grad[oy * out_w + ox] * scale;
                let (rows, cols) = (window_range(w, 0, oy), window_range(w, 1, ox));
                for y in rows {
                    dx[y * w.width + cols.start..y * w.width + cols.end].iter_mut().for_each(|d| *d += share);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 2×2 fast path picks what the general window search picks, including ties (the
    /// first maximum) and NaN (which takes over), and the gradient goes where it saved.
    #[test]
    fn two_by_two_max_pool_agrees_with_the_general_search() {
        let w = Window {
            channels_in: 2,
            channels_out: 2,
            groups: 2,
            height: 4,
            width: 5,
            kernel: [2, 2],
            stride: [2, 2],
            padding: [0; 4],
            dilation: [1, 1],
        };
        let mut x: Vec<f64> = (0..2 * 2 * 20).map(|i| ((i * 7) % 5) as f64).collect();
        x[6] = f64::NAN;
        x[27] = f64::NAN;
        x[28] = f64::NAN;
        let [out_h, out_w] = w.output();
        let outputs = 2 * 2 * out_h * out_w;
        let (mut out, mut argmax) = (vec![0.0; outputs], vec![0u32; outputs]);
        max_pool2d_argmax(&w, &x, &mut out, &mut argmax);
        for (p, plane) in x.chunks_exact(20).enumerate() {
            for oy in 0..out_h {
                for ox in 0..out_w {
                    let k = p * out_h * out_w + oy * out_w + ox;
                    let expected = argmax_in(&w, plane, oy, ox);
                    assert_eq!(argmax[k] as usize, expected, "plane {p} window ({oy}, {ox})");
                    assert!(out[k].to_bits() == plane[expected].to_bits());
                }
            }
        }
        let mut pooled = vec![0.0; outputs];
        max_pool2d(&w, &x, &mut pooled);
        assert!(pooled.iter().zip(&out).all(|(a, b)| a.to_bits() == b.to_bits()));
        let grad: Vec<f64> = (0..outputs).map(|i| i as f64 + 1.0).collect();
        let mut dx = vec![0.0; x.len()];
        max_pool2d_grad(&w, &argmax, &grad, &mut dx);
        for (k, &g) in grad.iter().enumerate() {
            let plane = k / (out_h * out_w);
            assert_eq!(dx[plane * 20 + argmax[k] as usize], g);
        }
        assert_eq!(dx.iter().filter(|&&d| d != 0.0).count(), outputs);
    }
}
