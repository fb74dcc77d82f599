//! The geometry of a sliding window over `[B, C, H, W]` images: convolutions and pooling.
//! The layer vocabulary checks shapes with it and the IR's image ops carry it; the runtime's
//! `conv::Window` mirrors it (the compiler does not depend on the runtime).

use std::fmt;

/// Where a convolution or pooling window goes. Pooling has `groups = channels_in =
/// channels_out` (every channel on its own) and dilation 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Channel groups.
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
    /// A pooling window over `channels` channels.
    pub fn pooling(
        channels: usize,
        input: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Self {
        let [height, width] = input;
        let padding = [padding[0], padding[1], padding[0], padding[1]];
        Window {
            channels_in: channels,
            channels_out: channels,
            groups: channels,
            height,
            width,
            kernel,
            stride,
            padding,
            dilation: [1, 1],
        }
    }

    /// Input height and width with the padding.
    pub fn padded(&self) -> [usize; 2] {
        [self.height + self.padding[0] + self.padding[2], self.width + self.padding[1] + self.padding[3]]
    }

    /// Whether the (dilated) kernel fits in the padded input, so there is an output.
    pub fn fits(&self) -> bool {
        let padded = self.padded();
        (0..2).all(|axis| self.dilation[axis] * (self.kernel[axis] - 1) < padded[axis])
    }

    /// Output height and width (the kernel must fit).
    pub fn output(&self) -> [usize; 2] {
        let along = |axis: usize, size: usize| {
            let padded = size + self.padding[axis] + self.padding[axis + 2];
            (padded - self.dilation[axis] * (self.kernel[axis] - 1) - 1) / self.stride[axis] + 1
        };
        [along(0, self.height), along(1, self.width)]
    }
}

impl fmt::Display for Window {
    /// Compact: the kernel, then only what differs from the defaults (`3x3 pad 1`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.kernel[0], self.kernel[1])?;
        if self.stride != [1, 1] {
            write!(f, " stride {}x{}", self.stride[0], self.stride[1])?;
        }
        let [t, l, b, r] = self.padding;
        if (t, l) == (b, r) && t == l && t > 0 {
            write!(f, " pad {t}")?;
        } else if self.padding != [0; 4] {
            write!(f, " pad {t},{l},{b},{r}")?;
        }
        if self.dilation != [1, 1] {
            write!(f, " dilation {}x{}", self.dilation[0], self.dilation[1])?;
        }
        if self.groups > 1 && self.groups != self.channels_in {
            write!(f, " groups {}", self.groups)?;
        }
        Ok(())
    }
}
