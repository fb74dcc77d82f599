//! Trains a small convolutional network on the embedded digits, seen as 1×8×8 images, and
//! reports the test accuracy (the MLP of `examples/digits.rs` reaches 98.33% on the same split).
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
use gradc::{FitOptions, network};

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

    // The same batches as a hand-written loop over `shuffled_batches` with this seed; a
    // final batch of one is skipped (batch norm needs two examples).
    let options = FitOptions::new().epochs(EPOCHS).batch_size(BATCH).seed(SEED);
    let start = Instant::now();
    let history = net.fit(&train, &options)?;
    let elapsed = start.elapsed();
    let test = net.evaluate(&test)?;
    println!(
        "\nfinal test accuracy: {:.2}% ({} epochs in {:.2} s)",
        100.0 * test.accuracy.unwrap_or(0.0),
        history.epochs.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}
