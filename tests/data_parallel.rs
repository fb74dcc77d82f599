//! Data-parallel training on a group of threads standing in for processes: exactly the
//! training of one process on the whole batch, replicas bit-identical after every step, and
//! a failure on one replica changing nothing on any. (`distributed/` runs the same
//! semantics on MPI with `mpirun`.)

use std::sync::{Arc, Barrier, Mutex};

use gradc::data::{self, Dataset};
use gradc::distributed::{Collective, DataParallel, Values};
use gradc::ndarray::s;
use gradc::{FitOptions, Float, Model, network};

/// Threads that sum and broadcast through shared slots. Each sum adds the slots in rank
/// order, so every thread gets the same bits, as MPI's reductions do.
#[derive(Debug)]
struct ThreadGroup {
    rank: usize,
    size: usize,
    slots: Arc<Mutex<Vec<Vec<f64>>>>,
    barrier: Arc<Barrier>,
}

impl ThreadGroup {
    /// `size` members of one group.
    fn new(size: usize) -> Vec<ThreadGroup> {
        let slots = Arc::new(Mutex::new(vec![Vec::new(); size]));
        let barrier = Arc::new(Barrier::new(size));
        (0..size).map(|rank| ThreadGroup { rank, size, slots: slots.clone(), barrier: barrier.clone() }).collect()
    }

    fn publish(&self, values: &Values<'_>) {
        let copy = match values {
            Values::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Values::F64(v) => v.to_vec(),
        };
        self.slots.lock().unwrap()[self.rank] = copy;
        self.barrier.wait();
    }
}

impl Collective for ThreadGroup {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_reduce_sum(&self, mut values: Values<'_>) -> gradc::Result<()> {
        self.publish(&values);
        {
            let slots = self.slots.lock().unwrap();
            match &mut values {
                Values::F32(v) => {
                    for (i, x) in v.iter_mut().enumerate() {
                        *x = slots.iter().fold(0.0_f32, |sum, slot| sum + slot[i] as f32);
                    }
                }
                Values::F64(v) => {
                    for (i, x) in v.iter_mut().enumerate() {
                        *x = slots.iter().fold(0.0, |sum, slot| sum + slot[i]);
                    }
                }
            }
        }
        self.barrier.wait();
        Ok(())
    }

    fn broadcast(&self, mut values: Values<'_>, root: usize) -> gradc::Result<()> {
        self.publish(&values);
        {
            let slots = self.slots.lock().unwrap();
            match &mut values {
                Values::F32(v) => v.iter_mut().zip(&slots[root]).for_each(|(x, &y)| *x = y as f32),
                Values::F64(v) => v.copy_from_slice(&slots[root]),
            }
        }
        self.barrier.wait();
        Ok(())
    }
}

network! {
    /// No batch norm or dropout: data parallelism is exact. L2 and clipping by the global norm.
    struct Exact {
        input: [64],
        fc1: dense(32), act1: tanh, fc2: dense(16), act2: relu,
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: momentum(lr = 0.05, beta = 0.9, clip_norm = 0.5),
        regularize: l2(1e-3),
        dtype: f64,
    }
}

network! {
    /// The same in f32, with Adam.
    struct Exact32 {
        input: [64],
        fc1: dense(32), act1: tanh, fc2: dense(16), act2: relu,
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.003),
    }
}

network! {
    /// Batch norm and dropout: per-replica statistics and masks.
    struct Local {
        input: [64],
        fc1: dense(32), bn1: batch_norm, act1: relu, drop1: dropout(0.3),
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

fn digits<T: gradc::Float>() -> Dataset<T> {
    data::digits().unwrap()
}

/// Every parameter, flattened, in file order.
fn flat<M: Model>(net: &M) -> Vec<f64> {
    net.params().values().iter().flatten().map(|v| v.as_f64()).collect()
}

/// ‖a − b‖ / ‖a‖ over all parameters together.
fn norm_relative(a: &[f64], b: &[f64]) -> f64 {
    let difference: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    (difference / a.iter().map(|x| x * x).sum::<f64>()).sqrt()
}

fn max_relative(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1e-3)).fold(0.0, f64::max)
}

/// Runs `work(rank, group)` on one thread per member of a group of `size`.
fn on_threads<R: Send>(size: usize, work: impl Fn(usize, &ThreadGroup) -> R + Sync) -> Vec<R> {
    let groups = ThreadGroup::new(size);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = groups.iter().enumerate().map(|(rank, g)| scope.spawn(move || work(rank, g))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Step `k`'s batch: rows `32k..32k + 32` of the digits.
fn batch_rows(k: usize) -> std::ops::Range<usize> {
    32 * k..32 * k + 32
}

/// 10 steps on one process with batches of 32, and on `size` threads each with its share of
/// the same rows (`shares` cut points); returns both networks' parameters after each step.
fn compare<M: Model>(make: impl Fn(u64) -> M + Sync, shares: &[usize]) -> (Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>) {
    let data: Dataset<M::Scalar> = digits();
    let mut single = make(11);
    let single_params: Vec<Vec<f64>> = (0..10)
        .map(|k| {
            let rows = batch_rows(k);
            let x = data.features.slice(s![rows.clone(), ..]);
            single.train_step(x, &data.labels[rows]).unwrap();
            flat(&single)
        })
        .collect();
    let size = shares.len() - 1;
    let replicas = on_threads(size, |rank, group| {
        // Rank 1 starts from other weights: joining copies rank 0's.
        let mut net = make(11 + rank as u64);
        let mut parallel = DataParallel::new(group, &mut net, 5).unwrap();
        (0..10)
            .map(|k| {
                let start = batch_rows(k).start;
                let rows = start + shares[rank]..start + shares[rank + 1];
                let x = data.features.slice(s![rows.clone(), ..]);
                let stats = parallel.train_step(&mut net, x, &data.labels[rows]).unwrap();
                assert_eq!(stats.batch, shares[rank + 1] - shares[rank]);
                flat(&net)
            })
            .collect::<Vec<_>>()
    });
    (single_params, replicas)
}

#[test]
fn two_shards_of_16_train_as_one_batch_of_32_in_f64() {
    let (single, replicas) = compare(Exact::new, &[0, 16, 32]);
    for step in 0..10 {
        assert_eq!(replicas[0][step], replicas[1][step], "replicas differ after step {}", step + 1);
        let error = max_relative(&single[step], &replicas[0][step]);
        assert!(error < 1e-12, "step {}: {error:e}", step + 1);
    }
    // The clip was active: the momentum's steps were clipped by the whole batch's norm.
    assert!(single[9] != single[8]);
}

#[test]
fn unequal_shards_on_three_replicas_are_weighted_by_size() {
    let (single, replicas) = compare(Exact::new, &[0, 10, 21, 32]);
    for step in 0..10 {
        assert_eq!(replicas[0][step], replicas[2][step]);
        let error = max_relative(&single[step], &replicas[1][step]);
        assert!(error < 1e-12, "step {}: {error:e}", step + 1);
    }
}

#[test]
fn two_shards_match_one_batch_in_f32() {
    // Adam divides by √v, so a rounding difference in a tiny gradient becomes a difference
    // of a few ulps in its parameter: compared as a whole, the parameters agree to 1e-6.
    let (single, replicas) = compare(Exact32::new, &[0, 16, 32]);
    for step in 0..10 {
        assert_eq!(replicas[0][step], replicas[1][step]);
        let error = norm_relative(&single[step], &replicas[0][step]);
        assert!(error < 1e-6, "step {}: {error:e}", step + 1);
    }
}

#[test]
fn a_failed_step_on_one_replica_changes_nothing_anywhere() {
    let data: Dataset<f64> = digits();
    let results = on_threads(2, |rank, group| {
        let mut net = Exact::new(3);
        let mut parallel = DataParallel::new(group, &mut net, 5).unwrap();
        let before = flat(&net);
        let mut x = data.features.slice(s![16 * rank..16 * rank + 16, ..]).to_owned();
        if rank == 1 {
            x[[3, 7]] = f64::NAN;
        }
        let labels = &data.labels[16 * rank..16 * rank + 16];
        let result = parallel.train_step(&mut net, x.view(), labels).map(|_| ()).map_err(|e| e.to_string());
        (result, before == flat(&net), net.state().steps)
    });
    let (rank0, rank1) = (&results[0], &results[1]);
    assert!(rank0.0.as_ref().unwrap_err().contains("failed on 1 of 2 processes"), "{:?}", rank0.0);
    assert!(rank1.0.as_ref().unwrap_err().contains("non-finite value"), "{:?}", rank1.0);
    assert!(rank0.1 && rank1.1, "parameters unchanged");
    assert_eq!((rank0.2, rank1.2), (0, 0));
}

#[test]
fn fit_on_two_replicas_is_fit_on_one_with_twice_the_batch() {
    let data: Dataset<f64> = digits();
    let train = data.select(&(0..600).collect::<Vec<_>>());
    let options = || FitOptions::new().epochs(3).batch_size(32).seed(9).quiet();
    let mut single = Exact::new(1);
    let history = single.fit(&train, &options().batch_size(64)).unwrap();
    let replicas = on_threads(2, |_, group| {
        let mut net = Exact::new(1);
        let history = net.fit(&train, &options().distributed(group)).unwrap();
        (flat(&net), history)
    });
    assert_eq!(replicas[0].0, replicas[1].0);
    assert!(max_relative(&flat(&single), &replicas[0].0) < 1e-12);
    for (one, two) in history.epochs.iter().zip(&replicas[0].1.epochs) {
        assert_eq!(one.steps, two.steps);
        assert!((one.loss - two.loss).abs() < 1e-12 * one.loss, "{} against {}", one.loss, two.loss);
    }
}

#[test]
fn batch_norm_and_dropout_stay_per_replica_until_averaged() {
    let data: Dataset<f32> = digits();
    let results = on_threads(2, |rank, group| {
        let mut net = Local::new(4);
        let mut parallel = DataParallel::new(group, &mut net, 5).unwrap();
        let rng = net.state().rng.clone();
        for k in 0..5 {
            let rows = 32 * k + 16 * rank..32 * k + 16 * rank + 16;
            parallel.train_step(&mut net, data.features.slice(s![rows.clone(), ..]), &data.labels[rows]).unwrap();
        }
        let local_mean = net.param("bn1.running_mean").unwrap().to_owned();
        let weights = net.param("fc1.weight").unwrap().to_owned();
        parallel.average_running_statistics(&mut net).unwrap();
        let averaged = net.param("bn1.running_mean").unwrap().to_owned();
        (rng, local_mean, averaged, weights)
    });
    let (a, b) = (&results[0], &results[1]);
    assert_ne!(a.0, b.0, "dropout generators are seeded per rank");
    assert_ne!(a.1, b.1, "running statistics follow each replica's batches");
    assert_eq!(a.3, b.3, "the weights are shared");
    assert_eq!(a.2, b.2);
    let mean = (&a.1 + &b.1) / 2.0;
    assert!(mean.iter().zip(a.2.iter()).all(|(m, v)| (m - v).abs() <= 1e-6 * m.abs().max(1.0)));
}

#[test]
fn shards_split_a_data_set_evenly() {
    let data: Dataset<f64> = digits();
    let shards = on_threads(3, |_, group| {
        let mut net = Exact::new(1);
        let parallel = DataParallel::new(group, &mut net, 0).unwrap();
        parallel.shard(&data).features
    });
    let each = data.len() / 3;
    for (rank, shard) in shards.iter().enumerate() {
        assert_eq!(shard.nrows(), each);
        assert_eq!(shard.row(1), data.features.row(3 + rank));
    }
}
