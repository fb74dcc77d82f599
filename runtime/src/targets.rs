//! Training targets and their validation against the network's loss.

use ndarray::{Array2, ArrayView2, CowArray, Ix2};

use crate::{Error, Float, Result};

/// The loss a network was compiled with; it decides which targets `train_step` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossKind {
    /// Class indices `&[usize]`.
    SoftmaxCrossEntropy,
    /// A `[batch, outputs]` matrix of probabilities in [0, 1].
    BinaryCrossEntropy,
    /// A `[batch, outputs]` matrix of finite values.
    MeanSquaredError,
}

impl LossKind {
    /// The DSL name.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::SoftmaxCrossEntropy => "softmax_cross_entropy",
            LossKind::BinaryCrossEntropy => "binary_cross_entropy",
            LossKind::MeanSquaredError => "mse",
        }
    }
}

/// Targets for one batch: class indices or a matrix, depending on the loss.
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a, T> {
    /// One class index per example (softmax cross-entropy).
    Classes(&'a [usize]),
    /// One row of target values per example (binary cross-entropy, mse).
    Values(ArrayView2<'a, T>),
}

impl<'a, T> From<&'a [usize]> for Targets<'a, T> {
    fn from(labels: &'a [usize]) -> Self {
        Targets::Classes(labels)
    }
}

impl<'a, T> From<&'a Vec<usize>> for Targets<'a, T> {
    fn from(labels: &'a Vec<usize>) -> Self {
        Targets::Classes(labels)
    }
}

impl<'a, T, const N: usize> From<&'a [usize; N]> for Targets<'a, T> {
    fn from(labels: &'a [usize; N]) -> Self {
        Targets::Classes(labels)
    }
}

impl<'a, T> From<ArrayView2<'a, T>> for Targets<'a, T> {
    fn from(values: ArrayView2<'a, T>) -> Self {
        Targets::Values(values)
    }
}

impl<'a, T> From<&'a Array2<T>> for Targets<'a, T> {
    fn from(values: &'a Array2<T>) -> Self {
        Targets::Values(values.view())
    }
}

/// Validated targets, flattened for the generated kernels.
#[derive(Debug)]
pub enum TargetData<'a, T> {
    /// Class indices, each `< outputs`.
    Classes(&'a [usize]),
    /// Row-major `[batch, outputs]` values (borrowed when the input already is row-major).
    Values(CowArray<'a, T, Ix2>),
}

impl<T: Float> TargetData<'_, T> {
    /// The class indices, or an empty slice.
    pub fn classes(&self) -> &[usize] {
        match self {
            TargetData::Classes(c) => c,
            TargetData::Values(_) => &[],
        }
    }

    /// The target values, or an empty slice.
    pub fn values(&self) -> &[T] {
        match self {
            TargetData::Classes(_) => &[],
            TargetData::Values(v) => v.as_slice().expect("standard layout is contiguous"),
        }
    }
}

/// Checks `targets` for a batch of `batch` examples against `loss` with `outputs` columns.
pub fn check_targets<'a, T: Float>(
    loss: LossKind,
    targets: Targets<'a, T>,
    batch: usize,
    outputs: usize,
) -> Result<TargetData<'a, T>> {
    match (loss, targets) {
        (LossKind::SoftmaxCrossEntropy, Targets::Classes(labels)) => {
            if labels.len() != batch {
                return Err(Error::TargetCount { expected: batch, found: labels.len() });
            }
            if let Some((example, &index)) = labels.iter().enumerate().find(|(_, l)| **l >= outputs) {
                return Err(Error::ClassIndex { example, index, classes: outputs });
            }
            Ok(TargetData::Classes(labels))
        }
        (LossKind::SoftmaxCrossEntropy, Targets::Values(_)) => {
            Err(Error::TargetKind { loss: loss.name(), expected: "class indices (&[usize])" })
        }
        (_, Targets::Classes(_)) => Err(Error::TargetKind { loss: loss.name(), expected: "a [batch, outputs] matrix" }),
        (_, Targets::Values(values)) => {
            if values.nrows() != batch {
                return Err(Error::TargetCount { expected: batch, found: values.nrows() });
            }
            if values.ncols() != outputs {
                return Err(Error::TargetWidth { expected: outputs, found: values.ncols() });
            }
            for ((example, column), &v) in values.indexed_iter() {
                let why = if !v.is_finite() {
                    "must be finite"
                } else if loss == LossKind::BinaryCrossEntropy && !(T::zero()..=T::one()).contains(&v) {
                    "binary cross-entropy takes targets in [0, 1]"
                } else {
                    continue;
                };
                return Err(Error::TargetValue { example, column, value: v.as_f64(), why });
            }
            Ok(TargetData::Values(if values.is_standard_layout() {
                CowArray::from(values)
            } else {
                CowArray::from(values.as_standard_layout().into_owned())
            }))
        }
    }
}

/// Checks an input batch: at least one example, `width` features, all finite.
/// Returns the batch size.
pub fn check_input<T: Float>(x: &ArrayView2<'_, T>, width: usize) -> Result<usize> {
    if x.ncols() != width {
        return Err(Error::InputWidth { expected: width, found: x.ncols() });
    }
    if x.nrows() == 0 {
        return Err(Error::EmptyBatch);
    }
    // The check reads every input of every step: in vector-wide blocks where the rows are
    // contiguous, and element by element (to name the culprit) only when one is not finite.
    let all_finite = match x.as_slice() {
        Some(values) => crate::simd::wide(|| {
            values.chunks(1024).all(|block| block.iter().fold(true, |finite, v| finite & v.is_finite()))
        }),
        None => false,
    };
    if all_finite {
        return Ok(x.nrows());
    }
    if let Some(((example, feature), v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFiniteInput { example, feature, value: v.as_f64() });
    }
    Ok(x.nrows())
}
