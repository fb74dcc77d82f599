//! Kernels over `[B, C, H, W]` images: convolution (im2col + the crate's GEMM), pooling, and
//! per-channel reductions and broadcasts. Conventions are PyTorch's: convolution is
//! cross-correlation, padded cells are zeros for convolution and average pooling (counted in
//! the mean) and never win a max pool, and max-pool gradients go to the first maximum.
//!
//! The convolutions take a `columns` workspace that the generated code sizes once per batch
//! size ([`Window::columns_len`], [`Window::weight_grad_columns_len`]), so a warm step
//! allocates nothing.

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

    /// The workspace a forward or input-gradient convolution needs.
    pub fn columns_len(&self) -> usize {
        self.taps() * self.output_pixels()
    }

    /// The workspace a weight-gradient convolution needs: the columns and one group's
    /// weight gradient for one example.
    pub fn weight_grad_columns_len(&self) -> usize {
        self.columns_len() + self.channels_out / self.groups * self.taps()
    }

    /// The input row (or column) that output position `out` and kernel tap `tap` read on
    /// `axis`, if it is inside the image.
    #[inline(always)]
    fn source(&self, axis: usize, out: usize, tap: usize) -> Option<usize> {
        let size = if axis == 0 { self.height } else { self.width };
        (out * self.stride[axis] + tap * self.dilation[axis]).checked_sub(self.padding[axis]).filter(|&p| p < size)
    }
}

/// The columns of one example and group: row (c, i, j) holds, for every output pixel, the
/// input value under kernel tap (i, j) of channel c (0 in the padding).
fn im2col<T: Float>(w: &Window, image: &[T], group: usize, columns: &mut [T]) {
    let [out_h, out_w] = w.output();
    let per_group = w.channels_in / w.groups;
    let mut row = 0;
    for c in group * per_group..(group + 1) * per_group {
        let channel = &image[c * w.height * w.width..(c + 1) * w.height * w.width];
        for i in 0..w.kernel[0] {
            for j in 0..w.kernel[1] {
                let dest = &mut columns[row * out_h * out_w..(row + 1) * out_h * out_w];
                for oy in 0..out_h {
                    let y = w.source(0, oy, i);
                    for ox in 0..out_w {
                        dest[oy * out_w + ox] = match (y, w.source(1, ox, j)) {
                            (Some(y), Some(x)) => channel[y * w.width + x],
                            _ => T::zero(),
                        };
                    }
                }
                row += 1;
            }
        }
    }
}

/// Adds the columns of one example and group back onto the image positions they came from.
fn col2im_add<T: Float>(w: &Window, columns: &[T], group: usize, image: &mut [T]) {
    let [out_h, out_w] = w.output();
    let per_group = w.channels_in / w.groups;
    let mut row = 0;
    for c in group * per_group..(group + 1) * per_group {
        let channel = &mut image[c * w.height * w.width..(c + 1) * w.height * w.width];
        for i in 0..w.kernel[0] {
            for j in 0..w.kernel[1] {
                let source = &columns[row * out_h * out_w..(row + 1) * out_h * out_w];
                for oy in 0..out_h {
                    let Some(y) = w.source(0, oy, i) else { continue };
                    for ox in 0..out_w {
                        if let Some(x) = w.source(1, ox, j) {
                            channel[y * w.width + x] += source[oy * out_w + ox];
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// `out = conv(x, weight)`: per example and group, `weight_g [out/g, taps] · columns [taps, pixels]`.
pub fn conv2d<T: Float>(w: &Window, x: &[T], weight: &[T], out: &mut [T], columns: &mut [T]) {
    let (image_len, out_len) = (w.channels_in * w.height * w.width, w.channels_out * w.output_pixels());
    let (per_group_out, taps, pixels) = (w.channels_out / w.groups, w.taps(), w.output_pixels());
    let columns = &mut columns[..taps * pixels];
    for (image, out) in x.chunks_exact(image_len).zip(out.chunks_exact_mut(out_len)) {
        for g in 0..w.groups {
            im2col(w, image, g, columns);
            let weight_g = &weight[g * per_group_out * taps..(g + 1) * per_group_out * taps];
            let out_g = &mut out[g * per_group_out * pixels..(g + 1) * per_group_out * pixels];
            matmul(per_group_out, taps, pixels, weight_g, false, columns, false, out_g);
        }
    }
}

/// `dx` of a convolution: per example and group, `weight_gᵀ · g` back through col2im.
pub fn conv2d_grad_input<T: Float>(w: &Window, grad: &[T], weight: &[T], dx: &mut [T], columns: &mut [T]) {
    let (image_len, out_len) = (w.channels_in * w.height * w.width, w.channels_out * w.output_pixels());
    let (per_group_out, taps, pixels) = (w.channels_out / w.groups, w.taps(), w.output_pixels());
    let columns = &mut columns[..taps * pixels];
    dx.fill(T::zero());
    for (image, grad) in dx.chunks_exact_mut(image_len).zip(grad.chunks_exact(out_len)) {
        for g in 0..w.groups {
            let weight_g = &weight[g * per_group_out * taps..(g + 1) * per_group_out * taps];
            let grad_g = &grad[g * per_group_out * pixels..(g + 1) * per_group_out * pixels];
            matmul(taps, per_group_out, pixels, weight_g, true, grad_g, false, columns);
            col2im_add(w, columns, g, image);
        }
    }
}

/// `dweight` of a convolution: Σ over the batch of `g [out/g, pixels] · columnsᵀ`.
pub fn conv2d_grad_weight<T: Float>(w: &Window, x: &[T], grad: &[T], dweight: &mut [T], columns: &mut [T]) {
    let (image_len, out_len) = (w.channels_in * w.height * w.width, w.channels_out * w.output_pixels());
    let (per_group_out, taps, pixels) = (w.channels_out / w.groups, w.taps(), w.output_pixels());
    let (columns, partial) = columns[..w.weight_grad_columns_len()].split_at_mut(taps * pixels);
    dweight.fill(T::zero());
    for (image, grad) in x.chunks_exact(image_len).zip(grad.chunks_exact(out_len)) {
        for g in 0..w.groups {
            im2col(w, image, g, columns);
            let grad_g = &grad[g * per_group_out * pixels..(g + 1) * per_group_out * pixels];
            matmul(per_group_out, pixels, taps, grad_g, false, columns, true, partial);
            let dweight_g = &mut dweight[g * per_group_out * taps..(g + 1) * per_group_out * taps];
            for (d, &p) in dweight_g.iter_mut().zip(partial.iter()) {
                *d += p;
            }
        }
    }
}

/// Calls `visit(output index, input index)` for every in-image cell of every window of a
/// pooling `w` over one channel plane, windows in output order and cells row-major.
#[inline(always)]
fn windows(w: &Window, mut visit: impl FnMut(usize, Option<usize>)) {
    let [out_h, out_w] = w.output();
    for oy in 0..out_h {
        for ox in 0..out_w {
            for i in 0..w.kernel[0] {
                for j in 0..w.kernel[1] {
                    let cell = w.source(0, oy, i).zip(w.source(1, ox, j)).map(|(y, x)| y * w.width + x);
                    visit(oy * out_w + ox, cell);
                }
            }
        }
    }
}

/// The planes (one channel of one example) of an input and an output of a pooling `w`.
fn planes<'a, T: Float>(w: &Window, input: &'a [T], out_len: usize) -> impl Iterator<Item = (usize, &'a [T])> {
    input.chunks_exact(w.height * w.width).enumerate().map(move |(p, plane)| (p * out_len, plane))
}

/// `out` = the maximum of each window; padding never wins.
pub fn max_pool2d<T: Float>(w: &Window, x: &[T], out: &mut [T]) {
    let out_len = w.output_pixels();
    out.fill(T::neg_infinity());
    for (base, plane) in planes(w, x, out_len) {
        let out = &mut out[base..base + out_len];
        windows(w, |o, cell| {
            if let Some(cell) = cell
                && (plane[cell] > out[o] || plane[cell].is_nan())
            {
                out[o] = plane[cell];
            }
        });
    }
}

/// `dx` of a max pool: each window's gradient to its first maximum (as PyTorch's CPU kernel).
pub fn max_pool2d_grad<T: Float>(w: &Window, x: &[T], grad: &[T], dx: &mut [T]) {
    let out_len = w.output_pixels();
    dx.fill(T::zero());
    let out_w = w.output()[1];
    for (p, plane) in x.chunks_exact(w.height * w.width).enumerate() {
        let dx = &mut dx[p * w.height * w.width..(p + 1) * w.height * w.width];
        let grad = &grad[p * out_len..(p + 1) * out_len];
        for (o, &g) in grad.iter().enumerate() {
            let (oy, ox) = (o / out_w, o % out_w);
            let mut best: Option<usize> = None;
            for i in 0..w.kernel[0] {
                for j in 0..w.kernel[1] {
                    if let (Some(y), Some(x)) = (w.source(0, oy, i), w.source(1, ox, j)) {
                        let cell = y * w.width + x;
                        if best.is_none_or(|b| plane[cell] > plane[b] || plane[cell].is_nan()) {
                            best = Some(cell);
                        }
                    }
                }
            }
            if let Some(b) = best {
                dx[b] += g;
            }
        }
    }
}

/// `out` = the mean of each window, padding counted as zeros (PyTorch's default).
pub fn avg_pool2d<T: Float>(w: &Window, x: &[T], out: &mut [T]) {
    let out_len = w.output_pixels();
    let scale = T::one() / T::from_f64((w.kernel[0] * w.kernel[1]) as f64);
    out.fill(T::zero());
    for (base, plane) in planes(w, x, out_len) {
        let out = &mut out[base..base + out_len];
        windows(w, |o, cell| {
            if let Some(cell) = cell {
                out[o] += plane[cell];
            }
        });
        out.iter_mut().for_each(|v| *v *= scale);
    }
}

/// `dx` of an average pool: each window's gradient spread evenly over its cells.
pub fn avg_pool2d_grad<T: Float>(w: &Window, grad: &[T], dx: &mut [T]) {
    let out_len = w.output_pixels();
    let scale = T::one() / T::from_f64((w.kernel[0] * w.kernel[1]) as f64);
    dx.fill(T::zero());
    for (plane, grad) in dx.chunks_exact_mut(w.height * w.width).zip(grad.chunks_exact(out_len)) {
        windows(w, |o, cell| {
            if let Some(cell) = cell {
                plane[cell] += grad[o] * scale;
            }
        });
    }
}

/// `out[c] = Σ over examples and pixels of x[b, c, ..]`, `pixels` per channel plane.
pub fn sum_channels<T: Float>(pixels: usize, x: &[T], out: &mut [T]) {
    out.fill(T::zero());
    let channels = out.len();
    for (p, plane) in x.chunks_exact(pixels).enumerate() {
        out[p % channels] += plane.iter().copied().sum::<T>();
    }
}

/// `out[b, c, ..] = v[c]` for every example and pixel, `pixels` per channel plane.
pub fn broadcast_channels<T: Float>(pixels: usize, v: &[T], out: &mut [T]) {
    let channels = v.len();
    for (p, plane) in out.chunks_exact_mut(pixels).enumerate() {
        plane.fill(v[p % channels]);
    }
}

/// `out[b, c, ..] = f(a[b, c, ..], v[c])`: a per-channel operand, `pixels` per plane.
pub fn zip_channel<T: Float>(pixels: usize, a: &[T], v: &[T], out: &mut [T], f: impl Fn(T, T) -> T) {
    let channels = v.len();
    for (p, (a, out)) in a.chunks_exact(pixels).zip(out.chunks_exact_mut(pixels)).enumerate() {
        let c = v[p % channels];
        for (o, &x) in out.iter_mut().zip(a) {
            *o = f(x, c);
        }
    }
}
