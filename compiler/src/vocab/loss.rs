//! Losses (`loss: mse`), each a mean over the batch as PyTorch's `reduction = "mean"`.

use super::Spec;

/// A loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Loss {
    /// Softmax then cross-entropy, on class indices.
    SoftmaxCrossEntropy,
    /// Sigmoid then binary cross-entropy, on a target matrix.
    BinaryCrossEntropy,
    /// Mean squared error, on a target matrix.
    MeanSquaredError,
}

/// Every loss of the DSL.
pub const LOSSES: &[Spec<Loss>] = &[
    Spec {
        name: "softmax_cross_entropy",
        doc: "softmax then cross-entropy; targets are class indices",
        args: &[],
        positional: 0,
        build: |_| Loss::SoftmaxCrossEntropy,
    },
    Spec {
        name: "binary_cross_entropy",
        doc: "sigmoid then binary cross-entropy; targets in [0, 1]",
        args: &[],
        positional: 0,
        build: |_| Loss::BinaryCrossEntropy,
    },
    Spec { name: "mse", doc: "mean squared error", args: &[], positional: 0, build: |_| Loss::MeanSquaredError },
];

impl Loss {
    /// The DSL name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::SoftmaxCrossEntropy => "softmax_cross_entropy",
            Loss::BinaryCrossEntropy => "binary_cross_entropy",
            Loss::MeanSquaredError => "mse",
        }
    }

    /// The runtime's `LossKind` variant, which checks targets and computes metrics.
    pub fn runtime_kind(self) -> &'static str {
        match self {
            Loss::SoftmaxCrossEntropy => "SoftmaxCrossEntropy",
            Loss::BinaryCrossEntropy => "BinaryCrossEntropy",
            Loss::MeanSquaredError => "MeanSquaredError",
        }
    }

    /// Whether the targets are class indices (otherwise a matrix shaped like the output).
    pub fn takes_class_indices(self) -> bool {
        match self {
            Loss::SoftmaxCrossEntropy => true,
            Loss::BinaryCrossEntropy | Loss::MeanSquaredError => false,
        }
    }
}
