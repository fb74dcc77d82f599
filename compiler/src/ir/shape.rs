//! Tensor shapes with a symbolic batch dimension.

use std::fmt;

/// One dimension: the run-time batch size `B`, or a size fixed at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dim {
    /// The batch size, known only at run time.
    Batch,
    /// A compile-time size.
    Fixed(usize),
}

/// A row-major shape; `[]` is a scalar.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Shape(pub Vec<Dim>);

impl Shape {
    /// `[]`.
    pub fn scalar() -> Self {
        Shape(vec![])
    }

    /// `[B]`.
    pub fn batch() -> Self {
        Shape(vec![Dim::Batch])
    }

    /// `[B, width]`.
    pub fn batch_rows(width: usize) -> Self {
        Shape(vec![Dim::Batch, Dim::Fixed(width)])
    }

    /// `[B, dims..]`: a batch of examples of shape `dims`.
    pub fn batch_of(dims: &[usize]) -> Self {
        Shape(std::iter::once(Dim::Batch).chain(dims.iter().map(|&d| Dim::Fixed(d))).collect())
    }

    /// The sizes after the batch axis (`[B, C, H, W]` → `[C, H, W]`).
    pub fn as_fixed_after_batch(&self) -> Vec<usize> {
        self.0[1..].iter().map(|d| if let Dim::Fixed(n) = d { *n } else { 1 }).collect()
    }

    /// `[H, W]` of an image batch `[B, C, H, W]` (`[1, 1]` for any other shape).
    pub fn spatial(&self) -> [usize; 2] {
        match self.0.as_slice() {
            [_, _, Dim::Fixed(h), Dim::Fixed(w)] => [*h, *w],
            _ => [1, 1],
        }
    }

    /// The iteration space of a fusible value: `(features, Some(pixels))` for a batch of rows
    /// `[B, n]` (1 pixel) or images `[B, C, H, W]` (H·W pixels per channel), `(n, None)` for a
    /// per-feature vector `[n]`, which fits any batch with n features.
    pub fn feature_space(&self) -> Option<(usize, Option<usize>)> {
        match self.0.as_slice() {
            [Dim::Batch, Dim::Fixed(n)] => Some((*n, Some(1))),
            [Dim::Batch, Dim::Fixed(c), Dim::Fixed(h), Dim::Fixed(w)] => Some((*c, Some(h * w))),
            [Dim::Fixed(n)] => Some((*n, None)),
            _ => None,
        }
    }

    /// A shape of fixed sizes.
    pub fn fixed(dims: &[usize]) -> Self {
        Shape(dims.iter().map(|&d| Dim::Fixed(d)).collect())
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// The last axis, if any.
    pub fn last(&self) -> Option<Dim> {
        self.0.last().copied()
    }

    /// Whether any axis is the batch.
    pub fn has_batch(&self) -> bool {
        self.0.contains(&Dim::Batch)
    }

    /// The product of the fixed axes (the element count per batch example when `has_batch`).
    pub fn fixed_numel(&self) -> usize {
        self.0.iter().map(|d| if let Dim::Fixed(n) = d { *n } else { 1 }).product()
    }

    /// The fixed sizes, if no axis is the batch.
    pub fn as_fixed(&self) -> Option<Vec<usize>> {
        self.0.iter().map(|d| if let Dim::Fixed(n) = d { Some(*n) } else { None }).collect()
    }

    /// Whether the shape holds exactly one element (`[]` or `[1]`).
    pub fn is_single(&self) -> bool {
        self.as_fixed().is_some_and(|d| d.iter().product::<usize>() == 1)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Batch => write!(f, "B"),
            Dim::Fixed(n) => write!(f, "{n}"),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ",")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}
