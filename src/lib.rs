//! gradc: a compiler for neural-network training.
//!
//! Declare a network once in [`network!`]; at compile time the macro builds a graph IR,
//! derives the gradient graph symbolically, optimizes it, and emits Rust specialized for that
//! network: a struct with the parameters and its forward, backward and update functions.
//!
//! ```
//! use gradc::network;
//!
//! network! {
//!     /// A tiny classifier.
//!     pub struct Tiny {
//!         input: [4],
//!         hidden: dense(8),
//!         act: relu,
//!         out: dense(3),
//!         loss: softmax_cross_entropy,
//!         optimizer: sgd(lr = 0.1),
//!     }
//! }
//!
//! # fn main() -> Result<(), gradc::Error> {
//! let mut net = Tiny::new(42);
//! let x = gradc::ndarray::Array2::<f32>::ones((2, 4));
//! let stats = net.train_step(x.view(), &[0, 2])?;
//! assert!(stats.loss.is_finite());
//! assert_eq!(net.forward(x.view())?.dim(), (2, 3));
//! assert!(Tiny::TRAIN_IR.contains("sgd_update"));
//! # Ok(())
//! # }
//! ```

pub use gradc_macros::network;
pub use gradc_runtime::threads::{set_threads, threads};
pub use gradc_runtime::{
    ActivationStats, Activations, Callback, ConfusionMatrix, Control, DIAGNOSTIC_ROWS, EarlyStopping, EpochLog, Error,
    Evaluation, FitOptions, Float, History, Init, LayerActivations, LayerInfo, LoadReport, LossKind, Mismatch, Mode,
    Model, Monitor, NameMap, NetworkInfo, OptimizerState, ParamKind, ParamSpec, Penalty, Predictions, Result,
    StepStats, Targets, Validation, Verbosity, data, distributed, init, kernels, plot, scalar, schedule, weights,
};
pub use ndarray;

/// What generated code names. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use gradc_runtime::{
        Init, LayerInfo, LossKind, NetworkInfo, OptimizerState, ParamKind, ParamSpec, ParamStore, Penalty, Rng, Staged,
        TrainState, UpdateStaging, conv, kernels, optim, resident, scalar, simd, split,
    };
}
