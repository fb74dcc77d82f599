//! The `Model` trait that every generated network implements.
//!
//! The generated code supplies the network-specific parts (its tables and the compiled
//! forward, backward and update functions); everything that is the same for every network —
//! validation, access by name, weights files, the summary — is written once here as provided
//! methods.

use std::path::Path;

use ndarray::{Array2, ArrayView2, ArrayViewD, IxDyn};

use crate::targets::{check_input, check_targets};
use crate::{Error, Float, LossKind, ParamSpec, ParamStore, Result, Targets};

/// One layer as the summary shows it.
#[derive(Clone, Copy, Debug)]
pub struct LayerInfo {
    /// Layer name (`fc1`, or its position `"0"` when unnamed).
    pub name: &'static str,
    /// The DSL keyword of its kind (`dense`, `relu`, `batch_norm`).
    pub kind: &'static str,
    /// The layer as declared, with defaults resolved (`dense(128, init = he_normal)`).
    pub description: &'static str,
    /// The shape of one example's output (`[features]` or `[C, H, W]`).
    pub output_shape: &'static [usize],
    /// Declared `#[frozen]`.
    pub frozen: bool,
}

/// Everything the compiler knows about a network that the runtime needs.
#[derive(Clone, Copy, Debug)]
pub struct NetworkInfo {
    /// The struct's name.
    pub name: &'static str,
    /// Input values per example (`C·H·W` for images, given as rows in NCHW order).
    pub input_width: usize,
    /// The shape of one input example (`[features]` or `[C, H, W]`).
    pub input_shape: &'static [usize],
    /// Output features per example.
    pub output_width: usize,
    /// The smallest training batch (2 when a batch norm computes batch statistics).
    pub min_train_batch: usize,
    /// The loss.
    pub loss: LossKind,
    /// The optimizer as declared, defaults resolved.
    pub optimizer: &'static str,
    /// Layers in order.
    pub layers: &'static [LayerInfo],
    /// Parameters in weights-file order.
    pub params: &'static [ParamSpec],
    /// The weight penalties the training loss includes.
    pub penalties: &'static [Penalty],
}

/// A regularizer's term of the training loss: `l1·‖W‖₁ + l2/2·‖W‖²` of one weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Penalty {
    /// The weight's weights-file name (`fc1.weight`).
    pub param: &'static str,
    /// The L1 coefficient.
    pub l1: f64,
    /// The L2 coefficient (PyTorch's `weight_decay`).
    pub l2: f64,
}

/// What one training step reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    /// The mean loss of the batch before the update (regularizers included).
    pub loss: f64,
    /// Examples in the batch.
    pub batch: usize,
}

/// Training state that is not a parameter: learning rate, step count, random generator.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    /// The learning rate.
    pub lr: f64,
    /// Updates applied so far.
    pub steps: u64,
    /// The generator dropout masks are drawn from.
    pub rng: crate::Rng,
}

impl TrainState {
    /// The state of a new network: its declared learning rate, and a generator derived from
    /// `seed` on a stream no parameter initializer uses.
    pub fn new(lr: f64, seed: u64) -> Self {
        use rand::SeedableRng;
        let mut rng = crate::Rng::seed_from_u64(seed);
        rng.set_stream(u64::MAX);
        TrainState { lr, steps: 0, rng }
    }
}

/// A compiled network. The `network!` macro implements this for the struct it generates, and
/// also gives the struct inherent methods of the same names, so callers need not import it.
pub trait Model {
    /// `f32` or `f64`, from `dtype:`.
    type Scalar: Float;

    // ---- supplied by the generated code

    /// The network's tables.
    fn info() -> &'static NetworkInfo;
    /// The parameters.
    fn params(&self) -> &ParamStore<Self::Scalar>;
    /// The parameters, mutably.
    fn params_mut(&mut self) -> &mut ParamStore<Self::Scalar>;
    /// The optimizer's state tensors.
    fn optimizer(&self) -> &crate::OptimizerState<Self::Scalar>;
    /// The optimizer's state tensors, mutably.
    fn optimizer_mut(&mut self) -> &mut crate::OptimizerState<Self::Scalar>;
    /// Learning rate and step count.
    fn state(&self) -> &TrainState;
    /// Learning rate and step count, mutably.
    fn state_mut(&mut self) -> &mut TrainState;
    /// The gradient of parameter `index` from the last backward pass, if one was computed.
    fn gradient(&self, index: usize) -> Option<&[Self::Scalar]>;
    /// Runs the compiled inference graph on a validated, row-major batch.
    fn run_forward(&self, batch: usize, x: &[Self::Scalar]) -> Vec<Self::Scalar>;
    /// Runs the compiled inspection graph on a validated, row-major batch: every layer's
    /// output, in layer order.
    fn run_inspect(&self, batch: usize, x: &[Self::Scalar], training: bool) -> Vec<Vec<Self::Scalar>>;
    /// Runs the compiled training graph up to the update; returns the loss.
    fn run_loss_and_grads(
        &mut self,
        batch: usize,
        x: &[Self::Scalar],
        labels: &[usize],
        targets: &[Self::Scalar],
    ) -> f64;
    /// The network's output for the batch of the last training step (training mode, before
    /// its update), row-major `[batch, outputs]`, if a step ran.
    fn training_output(&self) -> Option<&[Self::Scalar]>;
    /// Bytes held by the training step's buffers (every intermediate value and gradient) at
    /// the last batch size.
    fn workspace_bytes(&self) -> usize;
    /// Applies the compiled updates (optimizer, running statistics) with the gradients of the
    /// last backward pass, all or nothing: if a new value would not be finite, nothing changes
    /// and the index of the parameter whose update failed is returned.
    fn run_update(&mut self) -> std::result::Result<(), usize>;
    /// The gradient of parameter `index` from the last backward pass, writable (to replace it
    /// by its average over processes), if the step computed one into a buffer of its own.
    fn gradient_mut(&mut self, index: usize) -> Option<&mut [Self::Scalar]>;
    /// Recomputes what the update reads from the gradients besides the gradients themselves
    /// (the `clip_norm` factor), after they were replaced.
    fn run_finish_gradients(&mut self);

    // ---- provided

    /// Inference: evaluation mode, returns the last layer's output `[batch, outputs]`.
    fn forward(&self, x: ArrayView2<'_, Self::Scalar>) -> Result<Array2<Self::Scalar>> {
        let info = Self::info();
        let batch = check_input(&x, info.input_width)?;
        let x = x.as_standard_layout();
        let out = self.run_forward(batch, x.as_slice().expect("standard layout is contiguous"));
        Ok(Array2::from_shape_vec((batch, info.output_width), out).expect("generated code sizes its output"))
    }

    /// Every layer's output for the rows of `x`, for inspection, batch norm as `mode` says.
    /// It runs a compiled graph of its own (every output kept), so `forward` and the training
    /// step are not slowed by it.
    fn activations(
        &self,
        x: ArrayView2<'_, Self::Scalar>,
        mode: crate::Mode,
    ) -> Result<crate::Activations<Self::Scalar>> {
        let info = Self::info();
        let batch = check_input(&x, info.input_width)?;
        if mode == crate::Mode::Training && batch < info.min_train_batch {
            return Err(Error::BatchTooSmall {
                found: batch,
                why: "batch norm needs at least 2 examples to compute batch statistics",
            });
        }
        let x = x.as_standard_layout();
        let training = mode == crate::Mode::Training;
        let outputs = self.run_inspect(batch, x.as_slice().expect("standard layout is contiguous"), training);
        Ok(crate::Activations::new(info, batch, outputs))
    }

    /// Each layer's activation statistics on the rows of `x`: mean, std, the saturated
    /// fraction of sigmoid/tanh outputs, the dead fraction of ReLU units.
    fn activation_stats(
        &self,
        x: ArrayView2<'_, Self::Scalar>,
        mode: crate::Mode,
    ) -> Result<Vec<crate::ActivationStats>> {
        Ok(self.activations(x, mode)?.stats())
    }

    /// Forward and backward in training mode without an update; gradients are readable after.
    fn loss_and_grads<'a>(
        &mut self,
        x: ArrayView2<'a, Self::Scalar>,
        targets: impl Into<Targets<'a, Self::Scalar>>,
    ) -> Result<StepStats> {
        let info = Self::info();
        let batch = check_input(&x, info.input_width)?;
        if batch < info.min_train_batch {
            return Err(Error::BatchTooSmall {
                found: batch,
                why: "batch norm needs at least 2 examples per training batch to compute batch statistics",
            });
        }
        let targets = check_targets(info.loss, targets.into(), batch, info.output_width)?;
        let x = x.as_standard_layout();
        let x = x.as_slice().expect("standard layout is contiguous");
        // A failed step must leave the network as it was, dropout generator included.
        let rng = self.state().rng.clone();
        let loss = self.run_loss_and_grads(batch, x, targets.classes(), targets.values());
        if !loss.is_finite() {
            self.state_mut().rng = rng;
            return Err(Error::NonFiniteLoss { loss });
        }
        Ok(StepStats { loss, batch })
    }

    /// One training step: forward, loss, backward, update. On `Err` nothing was updated.
    fn train_step<'a>(
        &mut self,
        x: ArrayView2<'a, Self::Scalar>,
        targets: impl Into<Targets<'a, Self::Scalar>>,
    ) -> Result<StepStats> {
        let rng = self.state().rng.clone();
        let stats = self.loss_and_grads(x, targets)?;
        apply_update(self, rng, stats)
    }

    /// The loss (as training defines it, penalties included), accuracy and confusion matrix
    /// of `data` in evaluation mode (no dropout; batch norm uses its running statistics).
    fn evaluate(&self, data: &crate::data::Dataset<Self::Scalar>) -> Result<crate::Evaluation> {
        crate::evaluate::evaluate(self, data.features.view(), data.targets(), &data.class_names)
    }

    /// [`Model::evaluate`] on a matrix of examples and their targets.
    fn evaluate_on<'a>(
        &self,
        x: ArrayView2<'a, Self::Scalar>,
        targets: impl Into<Targets<'a, Self::Scalar>>,
    ) -> Result<crate::Evaluation> {
        crate::evaluate::evaluate(self, x, targets.into(), &[])
    }

    /// Evaluation-mode predictions: probabilities (softmax or sigmoid of the outputs, as the
    /// loss applies them; the values themselves for mse) and classes.
    fn predict(&self, x: ArrayView2<'_, Self::Scalar>) -> Result<crate::Predictions<Self::Scalar>> {
        let outputs = self.forward(x)?;
        Ok(crate::evaluate::predictions(Self::info().loss, outputs))
    }

    /// Trains on `train` as `options` say (epochs, batches, validation, schedule, early
    /// stopping, keep-best checkpoint, progress) and returns the history. On `Err` the
    /// network keeps the updates of the steps before the failing one; that step changed
    /// nothing.
    fn fit(
        &mut self,
        train: &crate::data::Dataset<Self::Scalar>,
        options: &crate::FitOptions<'_, Self::Scalar>,
    ) -> Result<crate::History>
    where
        Self: Sized,
    {
        crate::fit::fit(self, train, options, &mut [])
    }

    /// [`Model::fit`] with callbacks that run after every step and epoch.
    fn fit_with(
        &mut self,
        train: &crate::data::Dataset<Self::Scalar>,
        options: &crate::FitOptions<'_, Self::Scalar>,
        callbacks: &mut [&mut dyn crate::Callback<Self>],
    ) -> Result<crate::History>
    where
        Self: Sized,
    {
        crate::fit::fit(self, train, options, callbacks)
    }

    /// The parameter called `name` (weights-file name, e.g. `fc1.weight`).
    fn param(&self, name: &str) -> Result<ArrayViewD<'_, Self::Scalar>> {
        self.params().get(name)
    }

    /// Overwrites the parameter called `name`; the shape must match.
    fn set_param(&mut self, name: &str, value: ArrayViewD<'_, Self::Scalar>) -> Result<()> {
        self.params_mut().set(name, value)
    }

    /// The gradient of the parameter called `name` from the last backward pass.
    fn grad(&self, name: &str) -> Result<ArrayViewD<'_, Self::Scalar>> {
        let index = self.params().index_of(name)?;
        let spec = &Self::info().params[index];
        let known =
            || Self::info().params.iter().filter(|s| s.differentiable).map(|s| s.name).collect::<Vec<_>>().join(", ");
        match self.gradient(index) {
            Some(g) => Ok(ArrayViewD::from_shape(IxDyn(spec.shape), g).expect("gradient has the parameter's shape")),
            None if !spec.differentiable => {
                Err(Error::UnknownName { what: "gradient (the layer is #[frozen])", name: name.into(), known: known() })
            }
            None => Err(Error::UnknownName {
                what: "gradient yet (run loss_and_grads or train_step first)",
                name: name.into(),
                known: known(),
            }),
        }
    }

    /// For each layer with trainable parameters, in layer order: the L2 norm of all its
    /// parameters' gradients from the last backward pass (0 before any, or while the layer is
    /// not trainable). The lecture's vanishing-gradient diagnostic; `fit` records their
    /// per-epoch means.
    fn layer_gradient_norms(&self) -> Vec<(&'static str, f64)> {
        let info = Self::info();
        let mut norms = Vec::new();
        for layer in info.layers {
            let own = || (0..info.params.len()).filter(|&i| info.params[i].layer == layer.name);
            if !own().any(|i| info.params[i].differentiable) {
                continue;
            }
            let squares: f64 = own()
                .filter(|&i| info.params[i].differentiable && self.params().is_trainable(i))
                .filter_map(|i| self.gradient(i))
                .map(|g| g.iter().map(|&v| v.as_f64() * v.as_f64()).sum::<f64>())
                .sum();
            norms.push((layer.name, squares.sqrt()));
        }
        norms
    }

    /// An optimizer state tensor by name: `<param>.<state>` with PyTorch's state names
    /// (`fc1.weight.exp_avg`, `fc1.weight.momentum_buffer`, `fc1.weight.square_avg`).
    fn optimizer_state(&self, name: &str) -> Result<ArrayViewD<'_, Self::Scalar>> {
        self.optimizer().get(Self::info().params, name)
    }

    /// Saves the optimizer state and the step count (Adam's bias correction uses it).
    fn save_optimizer(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::weights::save_optimizer(self.optimizer(), Self::info().params, self.state().steps, path.as_ref())
    }

    /// Loads optimizer state saved by `save_optimizer`, strictly; on `Err` nothing changed.
    fn load_optimizer(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let steps = crate::weights::load_optimizer(self.optimizer_mut(), Self::info().params, path.as_ref())?;
        self.state_mut().steps = steps;
        Ok(())
    }

    /// Weights-file names of all parameters, in file order.
    fn param_names(&self) -> Vec<&'static str> {
        Self::info().params.iter().map(|s| s.name).collect()
    }

    /// Saves all parameters as safetensors in PyTorch's `state_dict` layout.
    fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::weights::save(self.params(), path.as_ref())
    }

    /// Loads parameters saved by `save` or by `safetensors.torch.save_file(model.state_dict())`.
    /// Strict: every tensor present with its shape and dtype, no others. On `Err` nothing changed.
    fn load(&mut self, path: impl AsRef<Path>) -> Result<()> {
        crate::weights::load(self.params_mut(), path.as_ref())
    }

    /// Loads every tensor of the safetensors file at `path` whose name (after `map`) and
    /// shape match a parameter, like PyTorch's `load_state_dict(strict=False)`, and reports
    /// what was loaded, missing, unexpected and mismatched. The file may come from another
    /// network (a pretrained base with a different head) or from PyTorch. On `Err` (an
    /// unreadable file, a non-finite value to load, two names mapped to one) nothing changed.
    fn load_partial(&mut self, path: impl AsRef<Path>, map: &crate::NameMap) -> Result<crate::LoadReport> {
        crate::transfer::load_partial(self.params_mut(), path.as_ref(), map)
    }

    /// Copies every parameter of `other` whose name (after `map`) and shape match one of this
    /// network's, converting between f32 and f64 if the networks differ, and reports like
    /// [`Model::load_partial`].
    fn copy_params_from<M: Model>(&mut self, other: &M, map: &crate::NameMap) -> Result<crate::LoadReport> {
        let source = crate::transfer::store_tensors(other.params());
        crate::transfer::load_matching(self.params_mut(), source, map, M::info().name)
    }

    /// Saves everything training needs to resume exactly, in one file (atomically):
    /// parameters, optimizer state and step counts, learning rate and per-layer scales,
    /// trainable flags and the dropout generator's state.
    fn save_checkpoint(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::checkpoint::save(self.params(), self.optimizer(), self.state(), Self::info().name, path.as_ref())
    }

    /// Restores a checkpoint saved by `save_checkpoint`, strictly; on `Err` nothing changed.
    /// Training continues exactly as it would have without the interruption.
    fn load_checkpoint(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let (mut params, mut optimizer, mut state) =
            (self.params().clone(), self.optimizer().clone(), self.state().clone());
        crate::checkpoint::load(&mut params, &mut optimizer, &mut state, path.as_ref())?;
        *self.params_mut() = params;
        *self.optimizer_mut() = optimizer;
        *self.state_mut() = state;
        Ok(())
    }

    /// Sets the factor on the learning rate for `layer`'s parameters (PyTorch's parameter
    /// groups): they train at `lr × scale`, and schedules that change `lr` carry through.
    fn set_lr_scale(&mut self, layer: &str, scale: f64) -> Result<()> {
        let largest = self.params().lr_scales().iter().copied().fold(scale, f64::max);
        check_rate::<Self::Scalar>(self.lr() * largest, "learning rate × lr_scale")?;
        self.params_mut().set_layer_lr_scale(layer, scale)
    }

    /// Turns updates of `layer`'s parameters on or off (for fine-tuning).
    fn set_trainable(&mut self, layer: &str, trainable: bool) -> Result<()> {
        self.params_mut().set_layer_trainable(layer, trainable)?;
        // A parameter that is not trained keeps no optimizer state (re-enabled: zeroed).
        for (index, spec) in Self::info().params.iter().enumerate() {
            if spec.layer == layer && spec.differentiable {
                self.optimizer_mut().set_active(index, spec.len(), trainable);
            }
        }
        Ok(())
    }

    /// The learning rate.
    fn lr(&self) -> f64 {
        self.state().lr
    }

    /// Changes the learning rate for the next steps; it must be finite and non-negative.
    fn set_lr(&mut self, lr: f64) -> Result<()> {
        if !lr.is_finite() || lr < 0.0 {
            return Err(Error::InvalidValue {
                what: "learning rate",
                value: lr,
                why: "must be finite and non-negative",
            });
        }
        let largest = self.params().lr_scales().iter().copied().fold(1.0, f64::max);
        check_rate::<Self::Scalar>(lr * largest, "learning rate")?;
        self.state_mut().lr = lr;
        Ok(())
    }

    /// A table of the layers: output shapes, parameter counts, whether they train.
    fn summary(&self) -> String {
        crate::summary::render(Self::info(), self.params())
    }
}

/// A learning rate (times a layer's scale) must be finite in the network's float type too:
/// 1e39 is a fine f64 but infinite in f32.
fn check_rate<T: Float>(rate: f64, what: &'static str) -> Result<()> {
    if T::from_f64(rate).is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidValue { what, value: rate, why: "must be finite in the network's float type" })
    }
}

/// The second half of a training step, after the gradients: the update, all or nothing. On
/// `Err` the dropout generator goes back to `rng`, its state before the step, and the error
/// names the cause.
pub(crate) fn apply_update<M: Model + ?Sized>(net: &mut M, rng: crate::Rng, stats: StepStats) -> Result<StepStats> {
    // The updates check their own results as they write them (a non-finite gradient makes
    // a non-finite update), so no separate pass over the gradients is needed.
    if let Err(failed) = net.run_update() {
        net.state_mut().rng = rng;
        // The slow search for the cause runs only on this error path.
        // The failed parameter's own gradient first, then any trained one (a clip factor
        // spreads one non-finite gradient to every update).
        let params = M::info().params;
        let loss = stats.loss;
        let non_finite =
            |i: usize| net.params().is_trainable(i) && net.gradient(i).is_some_and(|g| !crate::kernels::all_finite(g));
        let cause = std::iter::once(failed).chain(0..params.len()).find(|&i| non_finite(i));
        return Err(match cause {
            Some(i) => Error::NonFiniteGradient { param: params[i].name, loss },
            None => Error::NonFiniteUpdate { param: params[failed].name, loss },
        });
    }
    net.state_mut().steps += 1;
    Ok(stats)
}
