//! Initialization: the same 10-layer ReLU network started from each initializer.
//!
//! ```text
//! cargo run --release --example initializers
//! ```
//!
//! Ten dense layers of 64 units with ReLU, trained with momentum SGD (lr 0.01) for 10 epochs on
//! the embedded digits, once per initializer. The table shows the loss before training (about
//! ln 10 = 2.30 when the output starts near uniform), the ratio of the first to the last hidden
//! layer's gradient norm in the first epoch (1 when gradients keep their scale through the
//! depth), and the test accuracy.
//!
//! - zeros: every unit of a layer computes the same thing and gets the same gradient, so they
//!   stay equal and the ReLUs pass nothing: the network cannot learn.
//! - normal(0.01): the signal shrinks by a constant factor per layer, and so do the gradients.
//! - normal(1.0): with 64 inputs per unit the signal grows about 5.7× per layer and explodes.
//! - Glorot (variance 2/(in+out)) halves the signal's variance per ReLU layer; He (2/in) is
//!   derived for the ReLU and keeps it. LeCun (1/in) is meant for SELU; on these square
//!   64 → 64 layers it draws the same weights as Glorot.

#[path = "common/cli.rs"]
mod cli;

use gradc::data::{self, Dataset};
use gradc::{FitOptions, Model, network};

macro_rules! nets {
    ($($name:ident: { $($init:tt)* };)*) => {$(
        network! {
            struct $name {
                input: [64],
                hidden: repeat(10) { fc: dense(64, init = $($init)*), act: relu },
                out: dense(10),
                loss: softmax_cross_entropy, optimizer: momentum(lr = 0.01, beta = 0.9),
            }
        }
    )*};
}

nets! {
    Zeros: { zeros };
    Small: { normal(0.01) };
    Large: { normal(1.0) };
    Glorot: { glorot_normal };
    Lecun: { lecun_normal };
    He: { he_normal };
}

const SEED: u64 = 11;

fn row<M: Model<Scalar = f32>>(name: &str, mut net: M, train: &Dataset<f32>, test: &Dataset<f32>) -> gradc::Result<()> {
    let initial = net.evaluate(train)?.loss;
    let result = net.fit(train, &FitOptions::new().epochs(10).batch_size(32).seed(SEED).quiet());
    let (ratio, accuracy) = match result {
        Ok(history) => {
            let norms: Vec<f64> =
                history.epochs[0].grad_norms.iter().filter(|(l, _)| l.ends_with(".fc")).map(|(_, n)| *n).collect();
            let (first, last) = (norms[0], norms[norms.len() - 1]);
            let ratio = if last > 0.0 { format!("{:.2e}", first / last) } else { "0 / 0".into() };
            (ratio, format!("{:.2}%", 100.0 * net.evaluate(test)?.accuracy.unwrap_or(0.0)))
        }
        Err(gradc::Error::NonFiniteLoss { .. } | gradc::Error::NonFiniteGradient { .. }) => {
            ("-".into(), "diverged".into())
        }
        Err(e) => return Err(e),
    };
    println!("{name:<16} {initial:>14.4e} {ratio:>16} {accuracy:>10}");
    Ok(())
}

fn main() -> gradc::Result<()> {
    cli::start(include_str!("initializers.rs"));
    let (train, test) = data::digits::<f32>()?.stratified_split(0.2, SEED);
    println!("64 → 10 × (dense 64 → relu) → 10, momentum SGD 0.01, 10 epochs\n");
    println!("{:<16} {:>14} {:>16} {:>10}", "initializer", "initial loss", "‖g₁‖ / ‖g₁₀‖", "test acc");
    row("zeros", Zeros::new(SEED), &train, &test)?;
    row("normal(0.01)", Small::new(SEED), &train, &test)?;
    row("normal(1.0)", Large::new(SEED), &train, &test)?;
    row("glorot_normal", Glorot::new(SEED), &train, &test)?;
    row("lecun_normal", Lecun::new(SEED), &train, &test)?;
    row("he_normal", He::new(SEED), &train, &test)?;
    Ok(())
}
