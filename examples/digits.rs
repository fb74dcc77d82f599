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
use gradc::{FitOptions, network};

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
    // A test set the training never sees; `fit` holds out a validation set from the rest.
    let (train, test) = digits.stratified_split(0.2, SEED);
    println!("digits: {} training and {} test examples, {} classes", train.len(), test.len(), digits.classes);

    let mut net = DigitNet::new(SEED);
    println!("{}\n", net.summary());

    let options = FitOptions::new().epochs(EPOCHS).batch_size(BATCH).seed(SEED).validation_split(0.1);
    let start = Instant::now();
    let history = net.fit(&train, &options)?;
    let elapsed = start.elapsed();

    let test = net.evaluate(&test)?;
    let accuracy = test.accuracy.expect("a classifier has an accuracy");
    println!("\ntest: loss {:.4}, accuracy {:.2}%", test.loss, 100.0 * accuracy);
    if let Some(confusion) = &test.confusion {
        println!("\nconfusion matrix of the test set (rows: true digit, columns: predicted):\n{confusion}");
    }
    // The learning curves as a chart and the history as CSV, for a look or a spreadsheet.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plots");
    std::fs::create_dir_all(&dir).map_err(|source| gradc::Error::Io { path: dir.display().to_string(), source })?;
    gradc::plot::learning_curves(&history, dir.join("digits_learning_curves.svg"))?;
    history.write_csv(dir.join("digits_history.csv"))?;
    println!("learning curves: {}", dir.join("digits_learning_curves.svg").display());
    println!(
        "final test accuracy: {:.2}% ({} epochs in {:.2} s)",
        100.0 * accuracy,
        history.epochs.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}
