//! Vanishing gradients in a 20-layer network, and the three fixes of the lecture: the ReLU,
//! an initialization matched to the activation, and batch normalization.
//!
//! ```text
//! cargo run --release --example vanishing_gradients
//! ```
//!
//! Four networks of 20 hidden dense layers (32 units) train for a few epochs on the embedded
//! digits with plain SGD. For each, the table shows the gradient norm of the first and the
//! last hidden layer in the first epoch, their ratio, and the test accuracy. The per-layer
//! norms are also drawn, on a log scale, in `target/plots/vanishing_gradients.svg`. A second
//! table shows the activations before training (`activation_stats` on 256 training examples,
//! batch norm on their statistics as in a training step): the spread of hidden layers 1, 10
//! and 20 and how many sigmoids are saturated or ReLU units dead there.
//!
//! - sigmoid + Glorot: the sigmoid's derivative is at most 1/4, so each layer shrinks the
//!   gradient on its way back; the first layers barely learn.
//! - sigmoid + N(0, 1): weights too large saturate the sigmoids, whose derivatives go to 0.
//! - relu + He: the ReLU passes gradients unchanged where it is active, and He's variance
//!   2/fan_in keeps the signal's scale from layer to layer.
//! - relu + He + batch norm: each layer's input is re-normalized; the gradients stay even.

#[path = "common/cli.rs"]
mod cli;

use gradc::data::{self, Dataset};
use gradc::{ActivationStats, FitOptions, History, Mode, Model, network};

network! {
    /// 20 sigmoid layers, Glorot-normal weights.
    struct SigmoidGlorot {
        input: [64],
        hidden: repeat(20) { fc: dense(32, init = glorot_normal), act: sigmoid },
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

network! {
    /// 20 sigmoid layers, weights drawn from N(0, 1).
    struct SigmoidNormal {
        input: [64],
        hidden: repeat(20) { fc: dense(32, init = normal(1.0)), act: sigmoid },
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

network! {
    /// 20 ReLU layers, He-normal weights.
    struct ReluHe {
        input: [64],
        hidden: repeat(20) { fc: dense(32, init = he_normal), act: relu },
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

network! {
    /// 20 ReLU layers, He-normal weights, batch norm before each ReLU.
    struct ReluHeBatchNorm {
        input: [64],
        hidden: repeat(20) { fc: dense(32, init = he_normal), bn: batch_norm, act: relu },
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

const EPOCHS: usize = 20;
const SEED: u64 = 7;

/// What one network did: its history, test accuracy, and the hidden activations' statistics
/// before training.
struct Run {
    history: History,
    accuracy: f64,
    initial: Vec<ActivationStats>,
}

/// Trains a new `M` and reports on it.
fn run<M: Model<Scalar = f32>>(mut net: M, train: &Dataset<f32>, test: &Dataset<f32>) -> Result<Run, gradc::Error> {
    let sample = train.features.slice(gradc::ndarray::s![..256, ..]);
    // The activation layers only (`hidden.3.act`), in order.
    let initial =
        net.activation_stats(sample, Mode::Training)?.into_iter().filter(|s| s.layer.ends_with(".act")).collect();
    let options = FitOptions::new().epochs(EPOCHS).batch_size(32).seed(SEED).quiet();
    let history = net.fit(train, &options)?;
    let accuracy = net.evaluate(test)?.accuracy.expect("a classifier");
    Ok(Run { history, accuracy, initial })
}

/// `std 0.213, 91% saturated`: a hidden layer's spread and its saturated or dead share.
fn describe(stats: &ActivationStats) -> String {
    let share = match (stats.saturated, stats.dead) {
        (Some(s), _) => format!("{:>3.0}% saturated", 100.0 * s),
        (_, Some(d)) => format!("{:>3.0}% dead     ", 100.0 * d),
        _ => String::new(),
    };
    format!("std {:.3}, {share}", stats.std)
}

fn main() -> Result<(), gradc::Error> {
    cli::start(include_str!("vanishing_gradients.rs"));
    let (train, test) = data::digits::<f32>()?.stratified_split(0.2, SEED);
    let runs = [
        ("sigmoid + Glorot", run(SigmoidGlorot::new(SEED), &train, &test)?),
        ("sigmoid + N(0,1)", run(SigmoidNormal::new(SEED), &train, &test)?),
        ("relu + He", run(ReluHe::new(SEED), &train, &test)?),
        ("relu + He + batch norm", run(ReluHeBatchNorm::new(SEED), &train, &test)?),
    ];

    println!("20 hidden layers of 32 units, SGD lr 0.1, {EPOCHS} epochs on the digits\n");
    println!(
        "{:<24} {:>14} {:>14} {:>12} {:>10} {:>10}",
        "network", "‖g‖ layer 1", "‖g‖ layer 20", "20 / 1", "loss", "test acc"
    );
    for (name, Run { history, accuracy, .. }) in &runs {
        // The hidden dense layers' norms in the first epoch (batch norm layers have their own).
        let first = &history.epochs[0];
        let dense: Vec<f64> = first.grad_norms.iter().filter(|(l, _)| l.ends_with(".fc")).map(|(_, n)| *n).collect();
        let (input_side, output_side) = (dense[0], dense[dense.len() - 1]);
        println!(
            "{:<24} {:>14.3e} {:>14.3e} {:>12.1e} {:>10.4} {:>9.2}%",
            name,
            input_side,
            output_side,
            output_side / input_side,
            history.last().expect("epochs ran").loss,
            100.0 * accuracy
        );
    }

    println!("\nhidden activations before training (256 training examples, as a training step computes them)\n");
    println!("{:<24} {:>24} {:>24} {:>24}", "network", "layer 1", "layer 10", "layer 20");
    for (name, run) in &runs {
        let at = |layer: usize| describe(&run.initial[layer - 1]);
        println!("{:<24} {:>24} {:>24} {:>24}", name, at(1), at(10), at(20));
    }

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plots");
    std::fs::create_dir_all(&dir).map_err(|source| gradc::Error::Io { path: dir.display().to_string(), source })?;
    let path = dir.join("vanishing_gradients.svg");
    // Only the dense layers, so that the four lines share their x axis.
    let dense_only: Vec<(&str, History)> = runs
        .iter()
        .map(|(name, run)| {
            let mut h = run.history.clone();
            h.epochs.iter_mut().for_each(|e| e.grad_norms.retain(|(l, _)| l.ends_with(".fc")));
            (*name, h)
        })
        .collect();
    let series: Vec<(&str, &History)> = dense_only.iter().map(|(n, h)| (*n, h)).collect();
    gradc::plot::gradient_norms(&series, 1, &path)?;
    println!("\nper-layer gradient norms of the first epoch: {}", path.display());
    Ok(())
}
