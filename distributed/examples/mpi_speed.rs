//! Steps per second of data-parallel training, and the share of each step spent in the
//! all-reduce, for a network where the arithmetic dominates and one where it does not. Run it
//! once per process count and compare:
//!
//! ```text
//! cargo build --release -p gradc-mpi --features mpi --example mpi_speed
//! mpirun -np 1 target/release/examples/mpi_speed
//! mpirun -np 2 target/release/examples/mpi_speed
//! ```
//!
//! The global batch stays the same (each of n processes takes 1/n of it), so the processes
//! share one step's work: strong scaling, as when DDP is used to train faster.

use std::time::Instant;

use gradc::data::{Rng, SeedableRng};
use gradc::distributed::{Collective, DataParallel};
use gradc::ndarray::Array2;
use gradc::{Model, network};
use gradc_mpi::Mpi;
use rand_distr::{Distribution, StandardNormal};

network! {
    /// W4 of the JAX comparison: about 9.7 GFLOP per step of 256.
    struct Wide {
        input: [1024],
        fc1: dense(2048, init = he_normal), act1: relu,
        fc2: dense(2048, init = he_normal), act2: relu,
        out: dense(10, init = he_normal),
        loss: softmax_cross_entropy, optimizer: momentum(lr = 0.01, beta = 0.9),
    }
}

network! {
    /// The digits network, without its batch norm and dropout: a few hundred kFLOP per example.
    struct Digits {
        input: [64],
        fc1: dense(128), act1: relu, fc2: dense(64), act2: relu, out: dense(10),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

/// Times `steps` data-parallel steps after 3 warm-up ones; prints one line of the table.
fn measure<M: Model<Scalar = f32>>(mpi: &Mpi, name: &str, mut net: M, width: usize, batch: usize, steps: usize) {
    let share = batch / mpi.size();
    let mut rng = Rng::seed_from_u64(mpi.rank() as u64);
    let x = Array2::from_shape_fn((share, width), |_| StandardNormal.sample(&mut rng));
    let labels: Vec<usize> = (0..share).map(|i| (i * 7 + mpi.rank()) % 10).collect();
    let mut parallel = DataParallel::new(mpi, &mut net, 1).expect("joins");
    for _ in 0..3 {
        parallel.train_step(&mut net, x.view(), &labels[..]).expect("a step");
    }
    mpi.barrier();
    mpi.reset_communication_time();
    let start = Instant::now();
    for _ in 0..steps {
        parallel.train_step(&mut net, x.view(), &labels[..]).expect("a step");
    }
    let seconds = start.elapsed().as_secs_f64();
    let communication = mpi.communication_time().as_secs_f64();
    if mpi.rank() == 0 {
        println!(
            "{name:<32} {:>2} × {:>2} threads {:>10.1} steps/s {:>14.1}%",
            mpi.size(),
            gradc::threads(),
            steps as f64 / seconds,
            100.0 * communication / seconds
        );
    }
}

fn main() -> Result<(), gradc::Error> {
    let mpi = Mpi::init()?;
    if mpi.rank() == 0 {
        println!("{:<32} {:>15} {:>16} {:>15}", "network, global batch", "processes", "steps/s", "all-reduce");
    }
    measure(&mpi, "wide 1024-2048-2048-10, 256", Wide::new(1), 1024, 256, 20);
    measure(&mpi, "digits 64-128-64-10, 256", Digits::new(1), 64, 256, 2000);
    measure(&mpi, "digits 64-128-64-10, 32", Digits::new(1), 64, 32, 5000);
    Ok(())
}
