//! Trains a multilayer perceptron on the embedded 8x8 handwritten digits and reports the
//! test accuracy. The main example of gradc:
//!
//! ```text
//! cargo run --release --example digits
//! ```
//!
//! Look at the code the macro generated with `cargo expand --example digits`, and at the
//! compiled training graph with `DigitNet::TRAIN_IR` (printed with `--ir`).

#[path = "common/cli.rs"]
mod cli;

use std::time::Instant;

use gradc::data::{self, Dataset};
use gradc::network;
use rand::SeedableRng;

network! {
    /// Classifies 8x8 digit images (64 pixels in [0, 1]) into the digits 0..9.
    pub struct DigitNet {
        input: [64],
        fc1: dense(128),            // He initialization: chosen from the relu that follows
        bn1: batch_norm,            // normalizes with batch statistics; running ones in forward()
        act1: relu,
        drop1: dropout(0.2),        // training only
        fc2: dense(64),
        bn2: batch_norm,
        act2: relu,
        out: dense(10),             // Glorot: no activation follows (the loss applies softmax)
        loss: softmax_cross_entropy,
        optimizer: sgd(lr = 0.1),
        regularize: l2(1e-4),
    }
}

const EPOCHS: usize = 30;
const BATCH: usize = 32;
const SEED: u64 = 42;

fn main() -> Result<(), gradc::Error> {
    cli::start(include_str!("digits.rs"));
    if std::env::args().any(|a| a == "--ir") {
        println!("{}", DigitNet::TRAIN_IR);
        return Ok(());
    }
    let digits: Dataset<f32> = data::digits()?;
    let (train, test) = digits.stratified_split(0.2, SEED);
    println!("digits: {} training and {} test examples, {} classes", train.len(), test.len(), digits.classes);

    let mut net = DigitNet::new(SEED);
    println!("{}\n", net.summary());

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SEED);
    let start = Instant::now();
    println!("epoch   loss     train acc  test acc");
    for epoch in 1..=EPOCHS {
        let (mut total, mut seen) = (0.0, 0);
        for batch in train.shuffled_batches(BATCH, &mut rng) {
            let stats = net.train_step(batch.features.view(), &batch.labels)?;
            total += stats.loss * stats.batch as f64;
            seen += stats.batch;
        }
        let train_acc = data::accuracy(net.forward(train.features.view())?.view(), &train.labels);
        let test_acc = data::accuracy(net.forward(test.features.view())?.view(), &test.labels);
        println!("{epoch:>5}   {:.4}   {:>8.2}%  {:>7.2}%", total / seen as f64, 100.0 * train_acc, 100.0 * test_acc);
    }
    let elapsed = start.elapsed();
    let test_acc = data::accuracy(net.forward(test.features.view())?.view(), &test.labels);
    println!("\nfinal test accuracy: {:.2}% ({} epochs in {:.2} s)", 100.0 * test_acc, EPOCHS, elapsed.as_secs_f64());
    Ok(())
}
