//! Trains a small convolutional network on the embedded digits, seen as 1×8×8 images, and
//! reports the test accuracy (the MLP of `examples/digits.rs` reaches 98.05% on the same split).
//!
//! ```text
//! cargo run --release --example digits_cnn
//! ```
//!
//! The images are the digits' rows of 64 pixels read in NCHW order (one channel, 8 rows of
//! 8), which is how gradc takes images: one row per example.

#[path = "common/cli.rs"]
mod cli;

use std::time::Instant;

use gradc::data::{self, Dataset};
use gradc::network;
use rand::SeedableRng;

// A convolution right before a batch norm has no bias (`bias = false`), as in ResNets: the
// batch norm subtracts the mean, so a bias would cancel.
network! {
    /// Classifies 8x8 digit images with two convolution blocks and global average pooling.
    pub struct DigitCnn {
        input: [1, 8, 8],
        conv1: conv2d(16, 3, padding = 1, bias = false),  // [16, 8, 8]
        bn1: batch_norm,                    // BatchNorm2d: statistics per channel
        act1: relu,
        conv2: conv2d(32, 3, padding = 1, bias = false),  // [32, 8, 8]
        bn2: batch_norm,
        act2: relu,
        pool: max_pool2d(2),                // [32, 4, 4]
        conv3: conv2d(64, 3, padding = 1, bias = false),  // [64, 4, 4]
        bn3: batch_norm,
        act3: relu,
        gap: global_avg_pool,               // [64]
        drop: dropout(0.2),
        out: dense(10),
        loss: softmax_cross_entropy,
        optimizer: adam(lr = 0.003),
    }
}

const EPOCHS: usize = 30;
const BATCH: usize = 32;
const SEED: u64 = 42;

fn main() -> Result<(), gradc::Error> {
    cli::start(include_str!("digits_cnn.rs"));
    if std::env::args().any(|a| a == "--ir") {
        println!("{}", DigitCnn::TRAIN_IR);
        return Ok(());
    }
    let digits: Dataset<f32> = data::digits()?;
    let (train, test) = digits.stratified_split(0.2, SEED);
    println!("digits: {} training and {} test images of 1x8x8", train.len(), test.len());

    let mut net = DigitCnn::new(SEED);
    println!("{}\n", net.summary());

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SEED);
    let start = Instant::now();
    println!("epoch   loss     train acc  test acc");
    for epoch in 1..=EPOCHS {
        let (mut total, mut seen) = (0.0, 0);
        for batch in train.shuffled_batches(BATCH, &mut rng) {
            if batch.len() < 2 {
                continue;
            }
            let stats = net.train_step(batch.features.view(), &batch.labels)?;
            total += stats.loss * stats.batch as f64;
            seen += stats.batch;
        }
        if epoch % 5 == 0 || epoch == 1 {
            let train_acc = data::accuracy(net.forward(train.features.view())?.view(), &train.labels);
            let test_acc = data::accuracy(net.forward(test.features.view())?.view(), &test.labels);
            println!(
                "{epoch:>5}   {:.4}   {:>8.2}%  {:>7.2}%",
                total / seen as f64,
                100.0 * train_acc,
                100.0 * test_acc
            );
        }
    }
    let elapsed = start.elapsed();
    let test_acc = data::accuracy(net.forward(test.features.view())?.view(), &test.labels);
    println!("\nfinal test accuracy: {:.2}% ({} epochs in {:.2} s)", 100.0 * test_acc, EPOCHS, elapsed.as_secs_f64());
    Ok(())
}
