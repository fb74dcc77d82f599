//! Data-parallel training with the semantics of PyTorch's `DistributedDataParallel`, on any
//! group of processes that can sum and broadcast buffers (a [`Collective`]: MPI in the
//! `gradc-mpi` crate; threads in this crate's tests).
//!
//! Each process holds a replica of the network. [`DataParallel::new`] makes every replica
//! equal to rank 0's. Each step, every process computes the gradients of its own shard of the
//! batch; one all-reduce over a single flat buffer sums them (weighted by shard size, so
//! that shards of any sizes give the gradient of the whole batch; for equal shards that is
//! DDP's plain mean), with the loss, the shard sizes and a failure count in the same buffer;
//! then every process applies the same update, so the replicas stay bit-identical.
//!
//! What differs from one process on the whole batch, as in PyTorch: batch norm normalizes
//! with each process's own batch statistics, and its running statistics drift apart until
//! [`DataParallel::average_running_statistics`] averages them (before saving); dropout
//! masks differ per process (each replica's generator is seeded by its rank). `clip_norm`
//! clips by the norm of the averaged gradient, as one process would.

use ndarray::ArrayView2;
use rand::SeedableRng;

use crate::data::Dataset;
use crate::{Error, Float, Model, ParamKind, Result, StepStats, Targets};

/// A buffer a collective operation works on, in the network's float type.
#[derive(Debug)]
pub enum Values<'a> {
    /// `f32` values.
    F32(&'a mut [f32]),
    /// `f64` values.
    F64(&'a mut [f64]),
}

impl Values<'_> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A group of processes training one network together: MPI's communicator, for one.
///
/// Every process calls each operation in the same order with buffers of the same length.
pub trait Collective: std::fmt::Debug {
    /// This process's number, `0..size()`.
    fn rank(&self) -> usize;
    /// Number of processes.
    fn size(&self) -> usize;
    /// Replaces `values` on every process by their element-wise sum over all processes. The
    /// result must be the same bits on every process (MPI's reductions are, for one
    /// communicator and buffer length).
    fn all_reduce_sum(&self, values: Values<'_>) -> Result<()>;
    /// Replaces `values` on every process by those of process `root`.
    fn broadcast(&self, values: Values<'_>, root: usize) -> Result<()>;
}

/// Values after the gradients in the reduced buffer: the loss times the shard's size, the
/// shard's size, and 1 if the process's step failed.
const TRAILER: usize = 3;

/// One process's side of data-parallel training of a network.
pub struct DataParallel<'g, T> {
    group: &'g dyn Collective,
    /// The reduced buffer, kept so that a warm step allocates nothing.
    flat: Vec<T>,
}

impl<'g, T: Float> DataParallel<'g, T> {
    /// Joins `group`: copies rank 0's parameters (and batch-norm statistics) to every
    /// replica, and seeds this replica's dropout generator with `seed` on a stream of its
    /// own rank, so masks differ between processes. Every process must call it.
    pub fn new<M: Model<Scalar = T>>(group: &'g dyn Collective, net: &mut M, seed: u64) -> Result<Self> {
        let mut parallel = DataParallel { group, flat: Vec::new() };
        if group.size() == 0 || group.rank() >= group.size() {
            return Err(Error::Distributed(format!("rank {} of a group of {}", group.rank(), group.size())));
        }
        let params = M::info().params;
        parallel.gather(net, |_| true);
        group.broadcast(T::values(&mut parallel.flat), 0)?;
        parallel.scatter(net, |_| true);
        let mut rng = crate::Rng::seed_from_u64(seed);
        rng.set_stream(group.rank() as u64);
        net.state_mut().rng = rng;
        let gradients: usize = params.iter().filter(|p| p.differentiable).map(|p| p.len()).sum();
        parallel.flat.reserve(gradients + TRAILER);
        Ok(parallel)
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.group.rank()
    }

    /// Number of processes.
    pub fn size(&self) -> usize {
        self.group.size()
    }

    /// Whether this is rank 0, the process that prints and saves.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// This process's share of `data`: the rows `rank, rank + size, …`, the same number on
    /// every process (the last `len % size` rows are left out, as `DistributedSampler` with
    /// `drop_last`).
    pub fn shard(&self, data: &Dataset<T>) -> Dataset<T> {
        data.select(&shard_positions(data.len(), self.rank(), self.size()))
    }

    /// One data-parallel training step on this process's shard of the batch: its gradients,
    /// averaged over all processes, then the update. Returns the loss of the whole batch
    /// (all shards). Every process must call it; if any process's step fails, every process
    /// returns `Err` and no replica changed.
    pub fn train_step<'a, M: Model<Scalar = T>>(
        &mut self,
        net: &mut M,
        x: ArrayView2<'a, T>,
        targets: impl Into<Targets<'a, T>>,
    ) -> Result<StepStats> {
        if self.size() == 1 {
            // Nothing to average: exactly the single-process step.
            return net.train_step(x, targets);
        }
        let rng = net.state().rng.clone();
        let local = net.loss_and_grads(x, targets);
        let (loss, batch) = match &local {
            Ok(stats) => (stats.loss, stats.batch),
            Err(_) => (0.0, 0),
        };
        let weight = T::from_f64(batch as f64);
        let params = M::info().params;
        self.flat.clear();
        for (i, spec) in params.iter().enumerate().filter(|(_, p)| p.differentiable) {
            match net.gradient(i) {
                Some(g) if local.is_ok() => self.flat.extend(g.iter().map(|&v| v * weight)),
                _ => self.flat.extend(std::iter::repeat_n(T::zero(), spec.len())),
            }
        }
        let failed = if local.is_ok() { 0.0 } else { 1.0 };
        self.flat.extend([T::from_f64(loss) * weight, weight, T::from_f64(failed)]);
        let reduced = self.group.all_reduce_sum(T::values(&mut self.flat));
        let trailer = self.flat.len() - TRAILER;
        let (total_loss, total_batch, failures) =
            (self.flat[trailer].as_f64(), self.flat[trailer + 1], self.flat[trailer + 2].as_f64());
        if let Err(error) = reduced {
            net.state_mut().rng = rng;
            return Err(error);
        }
        if failures > 0.0 {
            net.state_mut().rng = rng;
            return Err(match local {
                Err(error) => error,
                Ok(_) => Error::Distributed(format!(
                    "the step failed on {failures} of {} processes; no process changed anything",
                    self.size()
                )),
            });
        }
        let mut offset = 0;
        for (i, spec) in params.iter().enumerate().filter(|(_, p)| p.differentiable) {
            let sums = &self.flat[offset..offset + spec.len()];
            if let Some(g) = net.gradient_mut(i) {
                for (g, &sum) in g.iter_mut().zip(sums) {
                    *g = sum / total_batch;
                }
            }
            offset += spec.len();
        }
        net.run_finish_gradients();
        let stats = StepStats { loss: total_loss / total_batch.as_f64(), batch };
        crate::model::apply_update(net, rng, stats)
    }

    /// Replaces each batch norm's running mean and variance by their mean over the
    /// processes (each has followed its own batches' statistics). Call it on every process
    /// before saving or evaluating.
    pub fn average_running_statistics<M: Model<Scalar = T>>(&mut self, net: &mut M) -> Result<()> {
        if self.size() == 1 {
            return Ok(());
        }
        let running = |kind: ParamKind| kind == ParamKind::Buffer;
        self.gather(net, running);
        if self.flat.is_empty() {
            return Ok(());
        }
        self.group.all_reduce_sum(T::values(&mut self.flat))?;
        let processes = T::from_f64(self.size() as f64);
        self.flat.iter_mut().for_each(|v| *v = *v / processes);
        self.scatter(net, running);
        Ok(())
    }

    /// Copies the parameters of the kinds `take` accepts into the flat buffer, in spec order.
    fn gather<M: Model<Scalar = T>>(&mut self, net: &M, take: impl Fn(ParamKind) -> bool) {
        self.flat.clear();
        for (i, spec) in M::info().params.iter().enumerate() {
            if take(spec.kind) {
                self.flat.extend_from_slice(net.params().value(i));
            }
        }
    }

    /// The reverse of [`Self::gather`].
    fn scatter<M: Model<Scalar = T>>(&self, net: &mut M, take: impl Fn(ParamKind) -> bool) {
        let mut offset = 0;
        for (i, spec) in M::info().params.iter().enumerate() {
            if take(spec.kind) {
                net.params_mut().value_mut(i).copy_from_slice(&self.flat[offset..offset + spec.len()]);
                offset += spec.len();
            }
        }
    }
}

/// Positions `rank, rank + size, …` of `0..len`, `len / size` of them.
pub(crate) fn shard_positions(len: usize, rank: usize, size: usize) -> Vec<usize> {
    let each = len / size.max(1);
    (0..each).map(|k| k * size + rank).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_equal_and_cover_all_but_the_remainder() {
        let shards: Vec<Vec<usize>> = (0..3).map(|r| shard_positions(10, r, 3)).collect();
        assert_eq!(shards, [vec![0, 3, 6], vec![1, 4, 7], vec![2, 5, 8]]);
        assert_eq!(shard_positions(4, 0, 1), [0, 1, 2, 3]);
    }
}
