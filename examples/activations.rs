//! Every activation gradc has, in the same network: how fast and how well each trains.
//!
//! ```text
//! cargo run --release --example activations
//! ```
//!
//! Four hidden layers of 64 units with the activation under test, its default initializer
//! (He for the ReLU family, LeCun for SELU, Glorot for the rest: the initializer follows the
//! activation unless the declaration names one), Adam at 0.001, 15 epochs on the embedded
//! digits. The table shows the loss after the first epoch and at the end, the test accuracy,
//! the mean gradient norm of the first hidden layer in the first epoch (small for the
//! saturating sigmoid), and the training time per epoch. PReLU learns its slope: its final
//! value is printed below the table.

#[path = "common/cli.rs"]
mod cli;

use gradc::data::{self, Dataset};
use gradc::{FitOptions, Model, network};

macro_rules! nets {
    ($($name:ident: { $($act:tt)* };)*) => {$(
        network! {
            struct $name {
                input: [64],
                fc1: dense(64), act1: $($act)*,
                fc2: dense(64), act2: $($act)*,
                fc3: dense(64), act3: $($act)*,
                fc4: dense(64), act4: $($act)*,
                out: dense(10),
                loss: softmax_cross_entropy, optimizer: adam(lr = 0.001),
            }
        }
    )*};
}

nets! {
    Sigmoid: { sigmoid };
    Tanh: { tanh };
    Relu: { relu };
    LeakyRelu: { leaky_relu(alpha = 0.01) };
    Prelu: { prelu };
    Elu: { elu };
    Selu: { selu };
    Gelu: { gelu };
    Silu: { silu };
}

const SEED: u64 = 9;
const EPOCHS: usize = 15;

fn row<M: Model<Scalar = f32>>(name: &str, mut net: M, train: &Dataset<f32>, test: &Dataset<f32>) -> gradc::Result<M> {
    let history = net.fit(train, &FitOptions::new().epochs(EPOCHS).batch_size(32).seed(SEED).quiet())?;
    let accuracy = net.evaluate(test)?.accuracy.unwrap_or(0.0);
    let (first, last) = (&history.epochs[0], history.last().expect("epochs ran"));
    let seconds: f64 = history.epochs.iter().map(|e| e.seconds).sum::<f64>() / history.epochs.len() as f64;
    let fc1 = first.grad_norms.iter().find(|(l, _)| l == "fc1").map_or(0.0, |(_, n)| *n);
    println!(
        "{name:<22} {:>10.4} {:>10.4} {:>9.2}% {:>12.3e} {:>9.1}",
        first.loss,
        last.loss,
        100.0 * accuracy,
        fc1,
        1e3 * seconds
    );
    Ok(net)
}

fn main() -> gradc::Result<()> {
    cli::start(include_str!("activations.rs"));
    let (train, test) = data::digits::<f32>()?.stratified_split(0.2, SEED);
    println!("64 → 4 × (dense 64 → activation) → 10, Adam 0.001, {EPOCHS} epochs\n");
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>12} {:>9}",
        "activation", "loss ep 1", "loss end", "test acc", "‖g‖ fc1 ep 1", "ms/epoch"
    );
    row("sigmoid", Sigmoid::new(SEED), &train, &test)?;
    row("tanh", Tanh::new(SEED), &train, &test)?;
    row("relu", Relu::new(SEED), &train, &test)?;
    row("leaky_relu(0.01)", LeakyRelu::new(SEED), &train, &test)?;
    let prelu = row("prelu (learned slope)", Prelu::new(SEED), &train, &test)?;
    row("elu", Elu::new(SEED), &train, &test)?;
    row("selu", Selu::new(SEED), &train, &test)?;
    row("gelu", Gelu::new(SEED), &train, &test)?;
    row("silu", Silu::new(SEED), &train, &test)?;
    let slopes: Vec<String> = (1..=4)
        .map(|i| format!("{:.3}", prelu.param(&format!("act{i}.weight")).map_or(f32::NAN, |w| w[[0]])))
        .collect();
    println!("\nPReLU slopes after training (from 0.25): {}", slopes.join(", "));
    Ok(())
}
