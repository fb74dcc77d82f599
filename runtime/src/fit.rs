//! `fit`: the training loop every user would otherwise write, with validation, learning-rate
//! schedules, early stopping, a keep-best checkpoint, callbacks and progress display.
//!
//! The hand-written loop (`train_step` over `Dataset::shuffled_batches`) stays available and
//! gives the same result for the same order of batches: `fit` adds nothing to a step.

use std::path::PathBuf;
use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::data::Dataset;
use crate::distributed::{Collective, DataParallel};
use crate::history::{EpochLog, History};
use crate::progress::{Progress, Verbosity};
use crate::schedule::Schedule;
use crate::targets::check_targets;
use crate::{Error, Float, Model, ParamStore, Result};

/// The training examples (the first ones, in the data set's order) whose activation
/// statistics `fit` records each epoch at [`Verbosity::Diagnostics`], in training mode
/// ([`crate::Mode::Training`]): enough for stable fractions, few enough to cost little next
/// to an epoch.
pub const DIAGNOSTIC_ROWS: usize = 256;
use num_traits::Float as _;

/// The value early stopping and the keep-best checkpoint watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    /// The training loss (lower is better).
    Loss,
    /// The training accuracy (higher is better).
    Accuracy,
    /// The validation loss (lower is better).
    ValLoss,
    /// The validation accuracy (higher is better).
    ValAccuracy,
}

impl Monitor {
    fn name(self) -> &'static str {
        match self {
            Monitor::Loss => "loss",
            Monitor::Accuracy => "accuracy",
            Monitor::ValLoss => "val_loss",
            Monitor::ValAccuracy => "val_accuracy",
        }
    }

    fn higher_is_better(self) -> bool {
        matches!(self, Monitor::Accuracy | Monitor::ValAccuracy)
    }

    fn value(self, log: &EpochLog) -> Option<f64> {
        match self {
            Monitor::Loss => Some(log.loss),
            Monitor::Accuracy => log.accuracy,
            Monitor::ValLoss => log.val_loss,
            Monitor::ValAccuracy => log.val_accuracy,
        }
    }

    /// Whether `value` improves on `best` by more than `min_delta`.
    fn improves(self, value: f64, best: Option<f64>, min_delta: f64) -> bool {
        match best {
            None => value.is_finite(),
            Some(best) if self.higher_is_better() => value > best + min_delta,
            Some(best) => value < best - min_delta,
        }
    }
}

/// Stops training when the monitored value has not improved for `patience` epochs (Keras'
/// `EarlyStopping`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// What to watch.
    pub monitor: Monitor,
    /// Epochs without improvement to wait before stopping.
    pub patience: usize,
    /// The least change that counts as an improvement.
    pub min_delta: f64,
    /// At the end of training, put back the parameters (running statistics included) of the
    /// best epoch.
    pub restore_best: bool,
}

impl EarlyStopping {
    /// Watches `monitor` with a patience of 5 epochs, any improvement counting, restoring the
    /// best parameters at the end.
    pub fn new(monitor: Monitor) -> Self {
        EarlyStopping { monitor, patience: 5, min_delta: 0.0, restore_best: true }
    }

    /// Epochs without improvement before stopping.
    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = epochs;
        self
    }

    /// The least change that counts as an improvement.
    pub fn min_delta(mut self, delta: f64) -> Self {
        self.min_delta = delta;
        self
    }

    /// Whether to restore the best epoch's parameters at the end.
    pub fn restore_best(mut self, restore: bool) -> Self {
        self.restore_best = restore;
        self
    }
}

/// Where `fit` measures the model between epochs.
#[derive(Clone, Copy, Debug, Default)]
pub enum Validation<'a, T> {
    /// Nowhere.
    #[default]
    None,
    /// On this data set.
    Data(&'a Dataset<T>),
    /// On this fraction of the training data, held out (stratified by class, from the seed).
    Split(f64),
}

/// How `fit` trains. Built from [`FitOptions::new`] with chained setters.
#[derive(Clone, Debug)]
pub struct FitOptions<'a, T> {
    /// Passes over the training data.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Seeds the order of examples (and the validation split).
    pub seed: u64,
    /// Whether each epoch visits the examples in a new random order.
    pub shuffle: bool,
    /// Whether a final batch smaller than `batch_size` is skipped. Either way, a final batch
    /// smaller than the network's smallest training batch (2 with batch norm, which needs
    /// two examples for batch statistics) is skipped; shuffling puts its examples in other
    /// batches in other epochs.
    pub drop_last: bool,
    /// Validation data.
    pub validation: Validation<'a, T>,
    /// The learning rate of each epoch (`t` = epoch − 1); the network's own rate if `None`.
    pub schedule: Option<Schedule>,
    /// Early stopping.
    pub early_stopping: Option<EarlyStopping>,
    /// Saves a checkpoint here whenever the monitored value improves (the early-stopping
    /// monitor, else `val_loss` with validation data, else `loss`).
    pub keep_best: Option<PathBuf>,
    /// What is printed.
    pub verbosity: Verbosity,
    /// Data-parallel training over a group of processes (see [`crate::distributed`]).
    pub distributed: Option<&'a dyn Collective>,
}

impl<T> Default for FitOptions<'_, T> {
    fn default() -> Self {
        FitOptions {
            epochs: 10,
            batch_size: 32,
            seed: 0,
            shuffle: true,
            drop_last: false,
            validation: Validation::None,
            schedule: None,
            early_stopping: None,
            keep_best: None,
            verbosity: Verbosity::default(),
            distributed: None,
        }
    }
}

impl<'a, T> FitOptions<'a, T> {
    /// 10 epochs of batches of 32 in a shuffled order from seed 0, no validation, a progress
    /// bar.
    pub fn new() -> Self {
        Self::default()
    }

    /// Passes over the training data.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Examples per step.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Seeds the order of examples and the validation split.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether to visit the examples in a new random order each epoch.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Whether to skip a final batch smaller than `batch_size`.
    pub fn drop_last(mut self, drop: bool) -> Self {
        self.drop_last = drop;
        self
    }

    /// Measures on `data` after each epoch.
    pub fn validation_data(mut self, data: &'a Dataset<T>) -> Self {
        self.validation = Validation::Data(data);
        self
    }

    /// Holds out `fraction` of the training data to measure on after each epoch.
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation = Validation::Split(fraction);
        self
    }

    /// Sets the learning rate of each epoch from `schedule`.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = Some(schedule);
        self
    }

    /// Stops early when `stopping` says so.
    pub fn early_stopping(mut self, stopping: EarlyStopping) -> Self {
        self.early_stopping = Some(stopping);
        self
    }

    /// Saves a checkpoint at `path` whenever the monitored value improves.
    pub fn keep_best(mut self, path: impl Into<PathBuf>) -> Self {
        self.keep_best = Some(path.into());
        self
    }

    /// What to print.
    pub fn verbosity(mut self, verbosity: Verbosity) -> Self {
        self.verbosity = verbosity;
        self
    }

    /// Prints nothing.
    pub fn quiet(self) -> Self {
        self.verbosity(Verbosity::Quiet)
    }

    /// Trains data-parallel with the other processes of `group`, each calling `fit` with the
    /// same data and options: rank 0's parameters are copied to all; each epoch's shuffled
    /// order is split into one share per process (`len / size` examples each), on which each
    /// takes batches of `batch_size` (per process, as in PyTorch); the gradients of each step
    /// are averaged over the processes (one all-reduce), so the replicas stay identical.
    /// Batch norm's running statistics are averaged at the end of each epoch, before
    /// validation, so every process evaluates the same network. Only rank 0 prints and saves
    /// `keep_best` checkpoints. An epoch's training loss is that of all processes' batches;
    /// its training accuracy is this process's share's. Callbacks must stop all processes
    /// alike.
    pub fn distributed(mut self, group: &'a dyn Collective) -> Self {
        self.distributed = Some(group);
        self
    }
}

/// What a callback tells `fit` to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on training.
    Continue,
    /// Stop after this epoch (or step).
    Stop,
}

/// User code that runs during `fit`. Every method has a default that does nothing.
pub trait Callback<M: Model> {
    /// After each training step, with the step's loss.
    fn on_step(&mut self, net: &mut M, epoch: usize, step: usize, loss: f64) -> Result<Control> {
        let _ = (net, epoch, step, loss);
        Ok(Control::Continue)
    }

    /// After each epoch (and its validation), with its record.
    fn on_epoch(&mut self, net: &mut M, log: &EpochLog) -> Result<Control> {
        let _ = (net, log);
        Ok(Control::Continue)
    }
}

/// A closure is an epoch callback.
impl<M: Model, F: FnMut(&mut M, &EpochLog) -> Control> Callback<M> for F {
    fn on_epoch(&mut self, net: &mut M, log: &EpochLog) -> Result<Control> {
        Ok(self(net, log))
    }
}

/// The best monitored value so far and what to keep of it.
struct Best<T> {
    monitor: Monitor,
    min_delta: f64,
    value: Option<f64>,
    epoch: Option<usize>,
    params: Option<ParamStore<T>>,
    epochs_without_improvement: usize,
}

/// Trains `net` on `train`; see [`Model::fit`].
pub(crate) fn fit<M: Model>(
    net: &mut M,
    train: &Dataset<M::Scalar>,
    options: &FitOptions<'_, M::Scalar>,
    callbacks: &mut [&mut dyn Callback<M>],
) -> Result<History> {
    let info = M::info();
    if options.batch_size == 0 {
        return Err(Error::InvalidValue { what: "batch size", value: 0.0, why: "must be at least 1" });
    }
    let (train_part, held_out);
    let (train, validation) = match options.validation {
        Validation::None => (train, None),
        Validation::Data(v) => (train, Some(v)),
        Validation::Split(fraction) => {
            if !(fraction > 0.0 && fraction < 1.0) {
                return Err(Error::InvalidValue {
                    what: "validation split",
                    value: fraction,
                    why: "must be between 0 and 1, exclusive",
                });
            }
            (train_part, held_out) = train.stratified_split(fraction, options.seed);
            (&train_part, Some(&held_out))
        }
    };
    // Every target is checked once, before anything changes.
    let examples = crate::targets::check_input(&train.features.view(), info.input_width)?;
    check_targets(info.loss, train.targets(), examples, info.output_width)?;
    if let Some(v) = validation {
        let rows = crate::targets::check_input(&v.features.view(), info.input_width)?;
        check_targets(info.loss, v.targets(), rows, info.output_width)?;
    }
    let monitor = options.early_stopping.map(|e| e.monitor).or_else(|| {
        options.keep_best.as_ref().map(|_| if validation.is_some() { Monitor::ValLoss } else { Monitor::Loss })
    });
    if let Some(m) = monitor
        && matches!(m, Monitor::ValLoss | Monitor::ValAccuracy)
        && validation.is_none()
    {
        return Err(Error::Data(format!("`{}` is monitored but there is no validation data", m.name())));
    }
    if let Some(schedule) = options.schedule {
        let largest = net.params().lr_scales().iter().copied().fold(1.0, f64::max);
        for epoch in 0..options.epochs {
            let lr = schedule.lr(epoch);
            if !lr.is_finite() || lr < 0.0 || !M::Scalar::from_f64(lr * largest).is_finite() {
                return Err(Error::InvalidValue {
                    what: "scheduled learning rate",
                    value: lr,
                    why: "must be finite and non-negative",
                });
            }
        }
    }

    let restore = options.early_stopping.is_some_and(|e| e.restore_best);
    let mut best = monitor.map(|monitor| Best::<M::Scalar> {
        monitor,
        min_delta: options.early_stopping.map_or(0.0, |e| e.min_delta),
        value: None,
        epoch: None,
        params: None,
        epochs_without_improvement: 0,
    });
    let mut history = History::default();
    // Data-parallel: this process's share of each epoch's order, and its own rank's display.
    let (rank, processes) = options.distributed.map_or((0, 1), |g| (g.rank(), g.size()));
    let share = train.len() / processes.max(1);
    let batches = batch_ranges(share, options.batch_size, options.drop_last, info.min_train_batch);
    if batches.is_empty() {
        return Err(Error::BatchTooSmall {
            found: share,
            why: "the training data does not make one full batch (see FitOptions::drop_last)",
        });
    }
    let mut parallel = options.distributed.map(|group| DataParallel::new(group, net, options.seed)).transpose()?;
    let verbosity = if rank == 0 { options.verbosity } else { Verbosity::Quiet };
    let mut progress = Progress::new(verbosity, options.epochs);
    let mut rng = crate::data::Rng::seed_from_u64(options.seed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut local_order: Vec<usize> = vec![0; share];

    for epoch in 1..=options.epochs {
        let start = Instant::now();
        if let Some(schedule) = options.schedule {
            net.set_lr(schedule.lr(epoch - 1))?;
        }
        // As `Dataset::shuffled_batches` does, so that a hand-written loop with the same
        // generator visits the same batches.
        if options.shuffle {
            order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
            order.shuffle(&mut rng);
        }
        for (k, position) in local_order.iter_mut().enumerate() {
            *position = order[k * processes + rank];
        }
        progress.start_epoch(epoch, batches.len());
        let (mut loss_sum, mut seen, mut correct, mut counted, mut steps) = (0.0, 0usize, 0usize, 0usize, 0usize);
        // Each layer's gradient norm, summed over the epoch's steps.
        let mut norms: Vec<(&'static str, f64)> = Vec::new();
        let mut stop = false;
        for (step, range) in batches.iter().enumerate() {
            let batch = train.select(&local_order[range.clone()]);
            let stats = match &mut parallel {
                Some(parallel) => parallel.train_step(net, batch.features.view(), batch.targets())?,
                None => net.train_step(batch.features.view(), batch.targets())?,
            };
            loss_sum += stats.loss * stats.batch as f64;
            seen += stats.batch;
            steps += 1;
            if let Some(outputs) = net.training_output() {
                let outputs = ndarray::ArrayView2::from_shape((stats.batch, info.output_width), outputs)
                    .expect("the training output has one row per example");
                let targets = check_targets(info.loss, batch.targets(), stats.batch, info.output_width)?;
                if let Some((c, n)) = crate::evaluate::hits(info.loss, outputs, &targets) {
                    correct += c;
                    counted += n;
                }
            }
            let step_norms = net.layer_gradient_norms();
            norms.resize(step_norms.len(), ("", 0.0));
            for (sum, (layer, norm)) in norms.iter_mut().zip(step_norms) {
                *sum = (layer, sum.1 + norm);
            }
            let accuracy = (counted > 0).then(|| correct as f64 / counted as f64);
            progress.step(loss_sum / seen as f64, accuracy);
            for callback in callbacks.iter_mut() {
                stop |= callback.on_step(net, epoch, step + 1, stats.loss)? == Control::Stop;
            }
            if stop {
                break;
            }
        }
        if let Some(parallel) = &mut parallel {
            parallel.average_running_statistics(net)?;
        }
        let evaluation = validation.map(|v| net.evaluate(v)).transpose()?;
        let log = EpochLog {
            epoch,
            loss: loss_sum / seen.max(1) as f64,
            accuracy: (counted > 0).then(|| correct as f64 / counted as f64),
            val_loss: evaluation.as_ref().map(|e| e.loss),
            val_accuracy: evaluation.as_ref().and_then(|e| e.accuracy),
            lr: net.lr(),
            seconds: start.elapsed().as_secs_f64(),
            steps,
            grad_norms: norms.iter().map(|&(l, n)| (l.to_string(), n / steps.max(1) as f64)).collect(),
            activations: match options.verbosity {
                Verbosity::Diagnostics => {
                    let sample = train.features.slice(ndarray::s![..train.len().min(DIAGNOSTIC_ROWS), ..]);
                    net.activation_stats(sample, crate::Mode::Training)?
                }
                _ => Vec::new(),
            },
        };
        progress.end_epoch(&log);
        for callback in callbacks.iter_mut() {
            stop |= callback.on_epoch(net, &log)? == Control::Stop;
        }
        if let Some(best) = &mut best {
            let value = best.monitor.value(&log).unwrap_or(f64::NAN);
            if best.monitor.improves(value, best.value, best.min_delta) {
                best.value = Some(value);
                best.epoch = Some(epoch);
                best.epochs_without_improvement = 0;
                if restore {
                    best.params = Some(net.params().clone());
                }
                if let Some(path) = &options.keep_best
                    && rank == 0
                {
                    net.save_checkpoint(path)?;
                }
            } else {
                best.epochs_without_improvement += 1;
            }
        }
        history.epochs.push(log);
        // As Keras: stop once `patience` epochs in a row brought no improvement.
        let patience_over = options
            .early_stopping
            .zip(best.as_ref())
            .is_some_and(|(e, b)| b.epochs_without_improvement >= e.patience.max(1));
        if patience_over {
            let b = best.as_ref().expect("early stopping keeps a best");
            progress.note(&format!(
                "early stopping: `{}` has not improved for {} epochs (best {:.4} at epoch {})",
                b.monitor.name(),
                b.epochs_without_improvement,
                b.value.unwrap_or(f64::NAN),
                b.epoch.unwrap_or(0)
            ));
        }
        if stop || patience_over {
            history.stopped_at = Some(epoch);
            break;
        }
    }
    if let Some(best) = best {
        history.best_epoch = best.epoch;
        if let (Some(params), Some(epoch)) = (best.params, best.epoch)
            && epoch != history.epochs.len()
        {
            *net.params_mut() = params;
            history.restored_best = true;
            progress.note(&format!("restored the parameters of epoch {epoch}"));
        }
    }
    Ok(history)
}

/// The row ranges of one epoch's batches over `len` shuffled examples.
fn batch_ranges(len: usize, batch_size: usize, drop_last: bool, min_batch: usize) -> Vec<std::ops::Range<usize>> {
    (0..len)
        .step_by(batch_size)
        .map(|start| start..(start + batch_size).min(len))
        .filter(|r| r.len() >= min_batch && !(drop_last && r.len() < batch_size))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_the_examples_and_skip_too_small_ones() {
        assert_eq!(batch_ranges(10, 4, false, 1), vec![0..4, 4..8, 8..10]);
        assert_eq!(batch_ranges(10, 4, true, 1), vec![0..4, 4..8]);
        assert_eq!(batch_ranges(9, 4, false, 2), vec![0..4, 4..8]);
        assert_eq!(batch_ranges(9, 4, false, 1), vec![0..4, 4..8, 8..9]);
        assert!(batch_ranges(1, 4, false, 2).is_empty());
    }

    #[test]
    fn improvement_respects_direction_and_min_delta() {
        assert!(Monitor::ValLoss.improves(0.5, Some(0.6), 0.05));
        assert!(!Monitor::ValLoss.improves(0.58, Some(0.6), 0.05));
        assert!(Monitor::ValAccuracy.improves(0.9, Some(0.8), 0.0));
        assert!(!Monitor::ValAccuracy.improves(0.8, Some(0.8), 0.0));
        assert!(!Monitor::Loss.improves(f64::NAN, None, 0.0));
    }
}
