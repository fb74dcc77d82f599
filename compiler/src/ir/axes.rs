//! Sets of axes, the operand of the reduction, broadcast and selection ops.
//!
//! Every such op keeps one contiguous block of its operand's axes and sums over (or repeats
//! along, or takes index 0 of) the axes before and after it. That covers the reductions the
//! networks need (a per-feature sum over `[B, n]` or `[B, C, H, W]`, a per-example sum) and
//! gives every kernel the same `outer × kept × inner` loop.

use std::fmt;

use super::shape::{Dim, Shape};

/// A set of axes, bit `i` for axis `i` (ranks up to 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Axes(u8);

impl Axes {
    /// The set of `axes`.
    pub fn of(axes: &[usize]) -> Self {
        Axes(axes.iter().fold(0, |bits, &a| bits | 1 << a))
    }

    /// Every axis of a rank-`rank` shape except `keep`.
    pub fn all_but(rank: usize, keep: usize) -> Self {
        Axes(((1u16 << rank) - 1) as u8 & !(1 << keep))
    }

    /// Whether axis `a` is in the set.
    pub fn contains(self, a: usize) -> bool {
        a < 8 && self.0 & (1 << a) != 0
    }

    /// The axes in increasing order.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..8).filter(move |&a| self.contains(a))
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The shape with these axes removed (a reduction's result).
    pub fn remove_from(self, shape: &Shape) -> Shape {
        Shape(shape.0.iter().enumerate().filter(|&(a, _)| !self.contains(a)).map(|(_, &d)| d).collect())
    }

    /// Whether `shape` has every axis of the set and the axes it keeps are contiguous, so a
    /// kernel can walk it as `outer × kept × inner`.
    pub fn fits(self, shape: &Shape) -> bool {
        let rank = shape.rank();
        if self.iter().any(|a| a >= rank) {
            return false;
        }
        let kept: Vec<usize> = (0..rank).filter(|&a| !self.contains(a)).collect();
        kept.windows(2).all(|w| w[1] == w[0] + 1)
    }

    /// The number of elements each kept element spans in `shape` (the product of the summed
    /// axes after the kept block; every axis after a kept one is fixed, the batch being
    /// axis 0), or `None` if the set does not fit.
    pub fn inner(self, shape: &Shape) -> Option<usize> {
        if !self.fits(shape) {
            return None;
        }
        let last_kept = (0..shape.rank()).rfind(|&a| !self.contains(a));
        let Some(last_kept) = last_kept else { return Some(1) };
        shape.0[last_kept + 1..]
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => Some(*n),
                Dim::Batch => None,
            })
            .product()
    }

    /// The set as the second operand of a binary op sees it: `b` repeated along these axes
    /// of `a` when `a` without them is `b`.
    pub fn broadcasts(self, a: &Shape, b: &Shape) -> bool {
        self.fits(a) && self.remove_from(a) == *b
    }
}

impl fmt::Display for Axes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let axes: Vec<String> = self.iter().map(|a| a.to_string()).collect();
        write!(f, "{}", axes.join(","))
    }
}

impl Shape {
    /// The axes a per-feature statistic sums over: every axis but the feature axis 1 of a
    /// batch of rows `[B, n]` or images `[B, C, H, W]`.
    pub fn per_feature_axes(&self) -> Option<Axes> {
        match self.0.as_slice() {
            [Dim::Batch, Dim::Fixed(_)] | [Dim::Batch, Dim::Fixed(_), Dim::Fixed(_), Dim::Fixed(_)] => {
                Some(Axes::all_but(self.rank(), 1))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_feature_axes_keep_the_feature_axis() {
        let rows = Shape::batch_rows(5);
        let images = Shape::batch_of(&[3, 4, 6]);
        assert_eq!(rows.per_feature_axes(), Some(Axes::of(&[0])));
        assert_eq!(images.per_feature_axes(), Some(Axes::of(&[0, 2, 3])));
        assert_eq!(Axes::of(&[0, 2, 3]).remove_from(&images), Shape::fixed(&[3]));
        assert_eq!(Axes::of(&[0, 2, 3]).inner(&images), Some(24));
        assert_eq!(Axes::of(&[0]).inner(&rows), Some(1));
        assert_eq!(Shape::fixed(&[5]).per_feature_axes(), None);
    }

    #[test]
    fn kept_axes_must_be_contiguous() {
        let images = Shape::batch_of(&[3, 4, 6]);
        assert!(Axes::of(&[0, 3]).fits(&images));
        assert!(!Axes::of(&[0, 2]).fits(&images));
        assert!(!Axes::of(&[4]).fits(&images));
        // Summing everything keeps nothing: one block of one element.
        assert_eq!(Axes::of(&[0, 1, 2, 3]).inner(&images), Some(1));
        // A per-example sum keeps the batch axis.
        assert_eq!(Axes::of(&[1, 2, 3]).inner(&images), Some(72));
        assert_eq!(Axes::of(&[0, 2, 3]).to_string(), "0,2,3");
    }

    #[test]
    fn broadcasts_checks_the_remaining_shape() {
        let images = Shape::batch_of(&[3, 4, 6]);
        assert!(Axes::of(&[0, 2, 3]).broadcasts(&images, &Shape::fixed(&[3])));
        assert!(!Axes::of(&[0, 2, 3]).broadcasts(&images, &Shape::fixed(&[4])));
    }
}
