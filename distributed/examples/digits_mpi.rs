//! The digits network of the main example, trained data-parallel on the processes `mpirun`
//! starts:
//!
//! ```text
//! cargo build --release -p gradc-mpi --features mpi --example digits_mpi
//! mpirun -np 2 target/release/examples/digits_mpi
//! ```
//!
//! Every process reads the same data and calls `fit` with the same options plus
//! `distributed(&mpi)`: each epoch's shuffled order is split between the processes, each
//! trains on batches of 32 / processes examples, and the gradients are averaged every step,
//! so the global batch is 32 as in `cargo run --release --example digits`. Only rank 0
//! prints, evaluates and saves.

use std::time::Instant;

use gradc::data::{self, Dataset};
use gradc::distributed::Collective;
use gradc::{FitOptions, Verbosity, network};
use gradc_mpi::Mpi;

network! {
    /// Classifies 8x8 digit images into the digits 0..9 (the main example's network).
    pub struct DigitNet {
        input: [64],
        fc1: dense(128), bn1: batch_norm, act1: relu, drop1: dropout(0.2),
        fc2: dense(64), bn2: batch_norm, act2: relu,
        out: dense(10),
        loss: softmax_cross_entropy,
        optimizer: sgd(lr = 0.1),
        regularize: l2(1e-4),
    }
}

const EPOCHS: usize = 30;
const GLOBAL_BATCH: usize = 32;
const SEED: u64 = 42;

fn main() -> Result<(), gradc::Error> {
    let mpi = Mpi::init()?;
    let (rank, processes) = (mpi.rank(), mpi.size());
    let digits: Dataset<f32> = data::digits()?;
    let (train, test) = digits.stratified_split(0.2, SEED);
    if rank == 0 {
        println!(
            "{processes} processes, {} training examples, batches of {} per process ({GLOBAL_BATCH} in all)",
            train.len(),
            GLOBAL_BATCH / processes
        );
    }
    let mut net = DigitNet::new(SEED);
    let options = FitOptions::new()
        .epochs(EPOCHS)
        .batch_size((GLOBAL_BATCH / processes).max(2))
        .seed(SEED)
        .validation_split(0.1)
        .verbosity(Verbosity::Epochs)
        .distributed(&mpi);
    let start = Instant::now();
    let history = net.fit(&train, &options)?;
    let elapsed = start.elapsed();
    if rank == 0 {
        let test = net.evaluate(&test)?;
        println!(
            "test: loss {:.4}, accuracy {:.2}% ({} epochs in {:.2} s, {:.0}% of it in all-reduces)",
            test.loss,
            100.0 * test.accuracy.expect("a classifier"),
            history.epochs.len(),
            elapsed.as_secs_f64(),
            100.0 * mpi.communication_time().as_secs_f64() / elapsed.as_secs_f64()
        );
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/digits_mpi.safetensors");
        net.save(&path)?;
        println!("weights (running statistics averaged over the processes): {}", path.display());
    }
    Ok(())
}
