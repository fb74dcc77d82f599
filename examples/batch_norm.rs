//! Batch normalization: the same deep network with and without it, across learning rates.
//!
//! ```text
//! cargo run --release --example batch_norm
//! ```
//!
//! Eight dense layers of 64 units with ReLU (He initialization), trained with plain SGD for
//! 10 epochs on the embedded digits at four learning rates, once as is and once with a batch
//! norm before every ReLU. The table shows the test accuracy, or `diverged` when a step's loss
//! stopped being finite (training stops there; gradc leaves the network as it was before that
//! step). Batch norm keeps every layer's input at mean 0 and variance 1 whatever the weights
//! do, so the network trains faster at small rates and still trains at rates that make the
//! plain one diverge. Evaluation uses the running statistics, as `model.eval()` does in PyTorch.

#[path = "common/cli.rs"]
mod cli;

use gradc::data::{self, Dataset};
use gradc::{FitOptions, Model, network};

network! {
    /// Eight ReLU layers.
    struct Plain {
        input: [64],
        hidden: repeat(8) { fc: dense(64, init = he_normal), act: relu },
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.01),
    }
}

network! {
    /// The same with batch norm before each ReLU.
    struct Normalized {
        input: [64],
        hidden: repeat(8) { fc: dense(64, init = he_normal), bn: batch_norm, act: relu },
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.01),
    }
}

const SEED: u64 = 5;
const RATES: [f64; 5] = [0.003, 0.01, 0.1, 0.5, 2.0];

/// Test accuracy after training at `lr`, or why there is none.
fn cell<M: Model<Scalar = f32>>(mut net: M, lr: f64, train: &Dataset<f32>, test: &Dataset<f32>) -> String {
    let trained =
        net.set_lr(lr).and_then(|()| net.fit(train, &FitOptions::new().epochs(10).batch_size(32).seed(SEED).quiet()));
    match trained {
        Ok(_) => match net.evaluate(test) {
            Ok(e) if e.loss.is_finite() => format!("{:.2}%", 100.0 * e.accuracy.unwrap_or(0.0)),
            _ => "diverged".into(),
        },
        Err(gradc::Error::NonFiniteLoss { .. } | gradc::Error::NonFiniteGradient { .. }) => "diverged".into(),
        Err(e) => format!("error: {e}"),
    }
}

fn main() -> gradc::Result<()> {
    cli::start(include_str!("batch_norm.rs"));
    let (train, test) = data::digits::<f32>()?.stratified_split(0.2, SEED);
    println!("8 × (dense 64 → [batch norm] → relu), SGD, 10 epochs; test accuracy\n");
    print!("{:<16}", "learning rate");
    RATES.iter().for_each(|lr| print!(" {lr:>10}"));
    println!();
    print!("{:<16}", "without");
    RATES.iter().for_each(|&lr| print!(" {:>10}", cell(Plain::new(SEED), lr, &train, &test)));
    println!();
    print!("{:<16}", "with batch norm");
    RATES.iter().for_each(|&lr| print!(" {:>10}", cell(Normalized::new(SEED), lr, &train, &test)));
    println!();
    Ok(())
}
