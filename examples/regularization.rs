//! L1, L2 and dropout against overfitting: the gap between training and test accuracy.
//!
//! ```text
//! cargo run --release --example regularization
//! ```
//!
//! A network far larger than its data (two layers of 256 units, 150 training digits) trains
//! for 150 epochs with Adam, once without regularization and once with each regularizer. The
//! table shows training and test accuracy and their gap, the test cross-entropy (the penalty
//! left out, so the rows compare), the weights' root mean square, and the share of weights that
//! ended near zero (|w| < 1e-3).
//!
//! What to look for: L1 pushes most weights to the kink at zero (sparse weights); L2 shrinks
//! all of them a little; dropout trains each unit to work without the others. On data this
//! easy every network still fits its training set perfectly, and the effect on test accuracy
//! is within a point or two: measure it on your own data rather than assume it.

#[path = "common/cli.rs"]
mod cli;

use gradc::data::{self, Dataset};
use gradc::{FitOptions, Model, network};

macro_rules! nets {
    ($($name:ident { $($extra:tt)* } $(drop $rate:literal)?;)*) => {$(
        network! {
            struct $name {
                input: [64],
                fc1: dense(256), act1: relu, $(drop1: dropout($rate),)?
                fc2: dense(256), act2: relu, $(drop2: dropout($rate),)?
                out: dense(10),
                loss: softmax_cross_entropy, optimizer: adam(lr = 0.001),
                $($extra)*
            }
        }
    )*};
}

nets! {
    Plain {};
    WithL2 { regularize: l2(0.003), };
    WithL1 { regularize: l1(0.0001), };
    WithDropout {} drop 0.5;
}

const SEED: u64 = 3;

/// Trains `net` and prints its line of the table.
fn report<M: Model<Scalar = f32>>(
    name: &str,
    mut net: M,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
) -> gradc::Result<()> {
    net.fit(train, &FitOptions::new().epochs(150).batch_size(32).seed(SEED).quiet())?;
    let (train_eval, test_eval) = (net.evaluate(train)?, net.evaluate(test)?);
    let (train_acc, test_acc) = (train_eval.accuracy.unwrap_or(0.0), test_eval.accuracy.unwrap_or(0.0));
    let mut weights: Vec<f32> = Vec::new();
    for name in ["fc1.weight", "fc2.weight"] {
        weights.extend(net.param(name)?.iter());
    }
    let near_zero = weights.iter().filter(|w| w.abs() < 1e-3).count() as f64 / weights.len() as f64;
    let rms = (weights.iter().map(|&w| f64::from(w).powi(2)).sum::<f64>() / weights.len() as f64).sqrt();
    println!(
        "{name:<16} {:>9.2}% {:>9.2}% {:>9.2} {:>13.4} {:>10.4} {:>11.1}%",
        100.0 * train_acc,
        100.0 * test_acc,
        100.0 * (train_acc - test_acc),
        test_eval.loss - test_eval.penalty,
        rms,
        100.0 * near_zero
    );
    Ok(())
}

fn main() -> gradc::Result<()> {
    cli::start(include_str!("regularization.rs"));
    let digits = data::digits::<f32>()?;
    let (rest, test) = digits.stratified_split(0.3, SEED);
    // A small training set, so that the network can memorize it.
    let (_, train) = rest.stratified_split(150.0 / rest.len() as f64, SEED);
    println!("{} training and {} test digits; 64 → 256 → 256 → 10, Adam, 150 epochs\n", train.len(), test.len());
    println!(
        "{:<16} {:>10} {:>10} {:>9} {:>13} {:>10} {:>12}",
        "regularizer", "train acc", "test acc", "gap", "test x-entropy", "rms(w)", "|w| < 1e-3"
    );
    report("none", Plain::new(SEED), &train, &test)?;
    report("l2(0.003)", WithL2::new(SEED), &train, &test)?;
    report("l1(0.0001)", WithL1::new(SEED), &train, &test)?;
    report("dropout(0.5)", WithDropout::new(SEED), &train, &test)?;
    Ok(())
}
