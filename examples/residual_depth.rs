//! Vanishing gradients, and how skip connections fix them: plain and residual networks of
//! sigmoid layers at depths 10, 20 and 40 on the embedded digits. For each, the table shows
//! the gradient norm of the first, middle and last hidden layer's weight at initialization,
//! then the test accuracy after training.
//!
//! ```text
//! cargo run --release --example residual_depth
//! ```
//!
//! In a plain network the gradient shrinks by σ'(x) ≤ 1/4 (times the weights) at every layer
//! on its way back, so the first layers barely learn. A residual block computes x + f(x):
//! its Jacobian is I + f'(x), so the gradient reaches every layer through the identity.

#[path = "common/cli.rs"]
mod cli;

use gradc::data::{self, Dataset};
use gradc::{Model, network};
use rand::SeedableRng;

macro_rules! nets {
    ($($plain:ident, $residual:ident, $depth:literal;)*) => {$(
        network! {
            struct $plain {
                input: [64], stem: dense(32), stem_act: sigmoid,
                blocks: repeat($depth) { fc: dense(32), act: sigmoid },
                out: dense(10), loss: softmax_cross_entropy, optimizer: adam(lr = 0.002),
            }
        }
        network! {
            struct $residual {
                input: [64], stem: dense(32), stem_act: sigmoid,
                blocks: repeat($depth) { residual { fc: dense(32), act: sigmoid } },
                out: dense(10), loss: softmax_cross_entropy, optimizer: adam(lr = 0.002),
            }
        }
    )*};
}

nets! {
    Plain10, Residual10, 10;
    Plain20, Residual20, 20;
    Plain40, Residual40, 40;
}

const EPOCHS: usize = 15;
const SEED: u64 = 7;

/// The L2 norm of a gradient.
fn norm<M: Model<Scalar = f32>>(net: &M, name: &str) -> f64 {
    net.grad(name).expect("a hidden layer's weight").iter().map(|g| f64::from(*g).powi(2)).sum::<f64>().sqrt()
}

/// One row of the table: gradient norms at initialization, then accuracy after training.
fn run<M: Model<Scalar = f32>>(mut net: M, kind: &str, depth: usize, train: &Dataset<f32>, test: &Dataset<f32>) {
    // The weight of hidden block i: `blocks.i.fc.weight`, or `blocks.i.0.fc.weight` in a residual block.
    let names = net.param_names();
    let weight = |i: usize| {
        let plain = format!("blocks.{i}.fc.weight");
        if names.iter().any(|n| *n == plain) { plain } else { format!("blocks.{i}.0.fc.weight") }
    };
    let probe = train.select(&(0..256).collect::<Vec<_>>());
    net.loss_and_grads(probe.features.view(), &probe.labels).expect("a valid batch");
    let (first, middle, last) =
        (norm(&net, &weight(0)), norm(&net, &weight(depth / 2)), norm(&net, &weight(depth - 1)));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SEED);
    for _ in 0..EPOCHS {
        for batch in train.shuffled_batches(32, &mut rng) {
            net.train_step(batch.features.view(), &batch.labels).expect("finite steps");
        }
    }
    let accuracy = data::accuracy(net.forward(test.features.view()).expect("valid input").view(), &test.labels);
    println!(
        "{depth:>5}  {kind:<8}  {first:>10.2e}  {middle:>10.2e}  {last:>10.2e}  {:>10.1e}  {:>7.2}%",
        first / last,
        100.0 * accuracy
    );
}

fn main() -> Result<(), gradc::Error> {
    cli::start(include_str!("residual_depth.rs"));
    let digits: Dataset<f32> = data::digits()?;
    let (train, test) = digits.stratified_split(0.2, SEED);
    println!("Gradient norms of hidden weights at initialization (first, middle, last block) and");
    println!("test accuracy after {EPOCHS} epochs of Adam, sigmoid activations, 32 units per layer:\n");
    println!("depth  network   ‖∇ first‖   ‖∇ middle‖   ‖∇ last‖   first/last  test acc");
    run(Plain10::new(SEED), "plain", 10, &train, &test);
    run(Residual10::new(SEED), "residual", 10, &train, &test);
    run(Plain20::new(SEED), "plain", 20, &train, &test);
    run(Residual20::new(SEED), "residual", 20, &train, &test);
    run(Plain40::new(SEED), "plain", 40, &train, &test);
    run(Residual40::new(SEED), "residual", 40, &train, &test);
    Ok(())
}
