//! Run-time support for networks compiled by gradc.
//!
//! The `network!` macro emits code that calls into this crate: the [`kernels`] (GEMM,
//! elementwise maps, reductions, losses, updates), the [`scalar`] formulas of the
//! activations, [`ParamStore`] and [`weights`] for parameters and safetensors files, and the
//! [`Model`] trait whose provided methods validate input and implement everything that is the
//! same for every network. [`data`] holds the embedded digits set, splits and batching.
//!
//! ```
//! use gradc_runtime::{data, Init};
//! let digits = data::digits::<f32>().unwrap();
//! assert_eq!(digits.features.ncols(), 64);
//! assert_eq!(Init::HeNormal.name(), "he_normal");
//! ```

mod activations;
mod atomic;
mod checkpoint;
pub mod conv;
pub mod data;
pub mod distributed;
mod error;
mod evaluate;
pub mod fit;
mod float;
mod gemm;
mod history;
pub mod init;
pub mod kernels;
mod model;
pub mod optim;
mod optimizer;
mod params;
pub mod plot;
mod progress;
pub mod resident;
pub mod scalar;
pub mod schedule;
pub mod simd;
pub mod split;
mod staging;
mod summary;
mod targets;
pub mod threads;
mod transfer;
pub mod weights;

pub use activations::{ActivationStats, Activations, LayerActivations, Mode, SATURATION_MARGIN};
pub use distributed::{Collective, DataParallel};
pub use error::{Error, Result};
pub use evaluate::{ConfusionMatrix, Evaluation, Predictions};
pub use fit::{Callback, Control, DIAGNOSTIC_ROWS, EarlyStopping, FitOptions, Monitor, Validation};
pub use float::Float;
pub use history::{EpochLog, History};
pub use init::Init;
pub use model::{LayerInfo, Model, NetworkInfo, Penalty, StepStats, TrainState};
pub use optimizer::OptimizerState;
pub use params::{ParamKind, ParamSpec, ParamStore};
pub use progress::Verbosity;
pub use staging::{Staged, UpdateStaging};
/// The random generator of a network (dropout masks): ChaCha8, seeded from `new(seed)`.
pub type Rng = rand_chacha::ChaCha8Rng;
pub use targets::{LossKind, TargetData, Targets, check_input, check_targets};
pub use transfer::{LoadReport, Mismatch, NameMap};
