//! The one error type of gradc at run time.

/// Everything that can go wrong when a network runs, loads or saves.
///
/// Every fallible operation checks its input before it changes anything, so an `Err` means
/// the network (parameters, optimizer state, running statistics) is exactly as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input matrix does not have the network's number of features per example.
    #[error("input has {found} features per example, but the network expects {expected}")]
    InputWidth { expected: usize, found: usize },
    /// A batch with no examples.
    #[error("empty batch: the input has 0 examples, at least 1 is needed")]
    EmptyBatch,
    /// A batch that is too small for the operation (batch norm needs two examples to train).
    #[error("batch of {found} examples is too small: {why}")]
    BatchTooSmall { found: usize, why: &'static str },
    /// The input contains NaN or an infinity.
    #[error("the input contains a non-finite value ({value}) at example {example}, feature {feature}")]
    NonFiniteInput { example: usize, feature: usize, value: f64 },
    /// The number of targets does not match the number of examples.
    #[error("got {found} targets for a batch of {expected} examples")]
    TargetCount { expected: usize, found: usize },
    /// A class index outside `0..classes`.
    #[error(
        "class index {index} of example {example} is out of range: the network has {classes} classes (0..{classes})"
    )]
    ClassIndex { example: usize, index: usize, classes: usize },
    /// A target matrix of the wrong width.
    #[error("targets have {found} columns, but the network's output has {expected}")]
    TargetWidth { expected: usize, found: usize },
    /// A target value outside the range the loss accepts, or not finite.
    #[error("target value {value} of example {example}, column {column} is invalid: {why}")]
    TargetValue { example: usize, column: usize, value: f64, why: &'static str },
    /// Class indices were given to a loss that takes a matrix, or the other way round.
    #[error("wrong kind of targets: the loss `{loss}` takes {expected}")]
    TargetKind { loss: &'static str, expected: &'static str },
    /// The loss came out NaN or infinite; no update was made.
    #[error("the loss is not finite ({loss}); the parameters were left unchanged (try a smaller learning rate)")]
    NonFiniteLoss { loss: f64 },
    /// The loss is finite but a gradient came out NaN or infinite; no update was made.
    #[error(
        "the gradient of `{param}` is not finite (the loss is {loss}); the parameters were left unchanged (try a smaller learning rate or clip_norm)"
    )]
    NonFiniteGradient { param: &'static str, loss: f64 },
    /// Loss and gradients are finite but the update would make a parameter, its optimizer
    /// state or a running statistic NaN or infinite; no update was made.
    #[error(
        "the update of `{param}` would make it or its optimizer state non-finite (the loss is {loss}); the parameters were left unchanged (try a smaller learning rate)"
    )]
    NonFiniteUpdate { param: &'static str, loss: f64 },
    /// No parameter, gradient or layer of that name.
    #[error("no {what} named `{name}`; known names: {known}")]
    UnknownName { what: &'static str, name: String, known: String },
    /// `set_trainable(layer, true)` on a layer declared `#[frozen]`.
    #[error(
        "layer `{layer}` is #[frozen] in the declaration, so no gradient is compiled for it; remove #[frozen] to train it"
    )]
    FrozenLayer { layer: String },
    /// A tensor of the wrong shape for a parameter.
    #[error("`{name}` has shape {found:?}, but the network expects {expected:?}")]
    ShapeMismatch { name: String, expected: Vec<usize>, found: Vec<usize> },
    /// A value given to a setter that it cannot take.
    #[error("invalid {what}: {value} ({why})")]
    InvalidValue { what: &'static str, value: f64, why: &'static str },
    /// A weights file that cannot be used: corrupt, missing or extra tensors, wrong dtype.
    #[error("weights file {path}: {why}")]
    WeightsFile { path: String, why: String },
    /// An I/O error while reading or writing a file.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// A data file that cannot be parsed.
    #[error("data: {0}")]
    Data(String),
    /// Data-parallel training could not go on: a collective operation failed, or another
    /// process's step did (then this process changed nothing either).
    #[error("data-parallel training: {0}")]
    Distributed(String),
}

/// `Result` with gradc's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
