//! The programs `tests/mpirun.rs` starts under `mpirun`.
//!
//! ```text
//! mpirun -np 2 gradc-mpi-check exact f64   # 10 data-parallel steps against one process
//! mpirun -np 2 gradc-mpi-check exact f32
//! mpirun -np 2 gradc-mpi-check train       # trains until killed (the failure test)
//! ```
//!
//! `exact`: rank 0 also trains a replica of its own on each whole batch of 32, and prints the
//! largest relative difference from it after every step, and whether the replicas were
//! bit-identical after every step; it exits with 1 when a tolerance is broken.

use gradc::Model;
use gradc::data::{self, Dataset};
use gradc::distributed::{Collective, DataParallel};
use gradc::ndarray::s;
use gradc_mpi::Mpi;
use mpi::collective::SystemOperation;
use mpi::traits::*;

gradc::network! {
    /// No batch norm or dropout, so data parallelism is exact; L2 and clipping by the norm.
    struct Exact64 {
        input: [64],
        fc1: dense(32), act1: tanh, fc2: dense(16), act2: relu,
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: momentum(lr = 0.05, beta = 0.9, clip_norm = 0.5),
        regularize: l2(1e-3),
        dtype: f64,
    }
}

gradc::network! {
    /// The same in f32, with Adam.
    struct Exact32 {
        input: [64],
        fc1: dense(32), act1: tanh, fc2: dense(16), act2: relu,
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.003),
    }
}

const STEPS: usize = 10;
const BATCH: usize = 32;

fn flat<M: Model>(net: &M) -> Vec<f64> {
    use gradc::Float;
    net.params().values().iter().flatten().map(|v| v.as_f64()).collect()
}

/// How far apart data-parallel and single-process parameters are.
#[derive(Clone, Copy, Default)]
struct Difference {
    /// The largest element-wise relative difference (relative to at least 1e-3).
    elementwise: f64,
    /// ‖a − b‖ / ‖a‖ over all parameters.
    norm: f64,
}

fn difference(a: &[f64], b: &[f64]) -> Difference {
    let elementwise = a.iter().zip(b).map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1e-3)).fold(0.0, f64::max);
    let squares: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    Difference { elementwise, norm: (squares / a.iter().map(|x| x * x).sum::<f64>()).sqrt() }
}

/// Trains `STEPS` steps data-parallel and (on rank 0) alone; returns whether the replicas
/// stayed bit-identical and `within` accepted the worst difference from one process.
fn exact<M: Model>(mpi: &Mpi, make: impl Fn(u64) -> M, within: impl Fn(Difference) -> bool) -> bool {
    let data: Dataset<M::Scalar> = data::digits().expect("the digits are embedded");
    let (rank, size) = (mpi.rank(), mpi.size());
    // Ranks start from different weights; joining copies rank 0's.
    let mut net = make(11 + rank as u64);
    let mut parallel = DataParallel::new(mpi, &mut net, 5).expect("joins");
    let mut single = make(11);
    let mut worst = Difference::default();
    let mut mismatches = 0;
    for step in 0..STEPS {
        let start = step * BATCH;
        // Shares as even as the batch allows: 16/16 on two ranks, 10/11/11 on three.
        let cut = |r: usize| start + r * BATCH / size;
        let rows = cut(rank)..cut(rank + 1);
        let x = data.features.slice(s![rows.clone(), ..]);
        parallel.train_step(&mut net, x, &data.labels[rows]).expect("a finite step");
        // Replicas: rank 0's values to all, compared bit for bit, the differences counted.
        let mine = flat(&net);
        let mut root = mine.clone();
        mpi.world().process_at_rank(0).broadcast_into(&mut root[..]);
        let differ = mine.iter().zip(&root).filter(|(a, b)| a.to_bits() != b.to_bits()).count() as u64;
        let mut total = 0u64;
        mpi.world().all_reduce_into(&differ, &mut total, SystemOperation::sum());
        mismatches += total;
        if rank == 0 {
            let whole = start..start + BATCH;
            single.train_step(data.features.slice(s![whole.clone(), ..]), &data.labels[whole]).expect("a finite step");
            let d = difference(&flat(&single), &mine);
            worst = Difference { elementwise: worst.elementwise.max(d.elementwise), norm: worst.norm.max(d.norm) };
            println!(
                "step {:>2}: relative difference from one process: largest {:.3e}, of the norm {:.3e}",
                step + 1,
                d.elementwise,
                d.norm
            );
        }
    }
    if rank == 0 {
        println!(
            "{} processes, {STEPS} steps: relative difference from one process at most {:.3e} (of the norm {:.3e}); replicas {}",
            size,
            worst.elementwise,
            worst.norm,
            if mismatches == 0 {
                "bit-identical after every step".to_string()
            } else {
                format!("differ in {mismatches} values")
            }
        );
    }
    rank != 0 || (within(worst) && mismatches == 0)
}

/// Trains until the job ends; rank 1 prints its process id for the test to kill it.
fn train_forever(mpi: &Mpi) {
    let data: Dataset<f64> = data::digits().expect("the digits are embedded");
    let mut net = Exact64::new(1);
    let mut parallel = DataParallel::new(mpi, &mut net, 5).expect("joins");
    let shard = parallel.shard(&data);
    let mut step = 0;
    loop {
        let rows = (step * 16) % (shard.len() - 16)..(step * 16) % (shard.len() - 16) + 16;
        parallel.train_step(&mut net, shard.features.slice(s![rows.clone(), ..]), &shard.labels[rows]).expect("a step");
        step += 1;
        if step == 20 {
            println!("rank {} pid {} training", mpi.rank(), std::process::id());
        }
    }
}

fn main() {
    let mpi = Mpi::init().expect("MPI starts");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ok = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        // The tolerances: 1e-12 in f64, element-wise; in f32, 1e-6 of the parameters' norm
        // (Adam's √v turns rounding in tiny gradients into a few ulps of their parameters).
        ["exact", "f64"] => exact(&mpi, Exact64::new, |d| d.elementwise <= 1e-12),
        ["exact", "f32"] => exact(&mpi, Exact32::new, |d| d.norm <= 1e-6),
        ["train"] => {
            train_forever(&mpi);
            true
        }
        _ => {
            eprintln!("usage: gradc-mpi-check exact f64|f32 | train");
            false
        }
    };
    if !ok {
        std::process::exit(1);
    }
}
