//! The same digits network trained with each optimizer from the same seed: how many steps
//! each takes to reach 95% training accuracy, and where each ends.
//!
//! ```text
//! cargo run --release --example optimizers
//! ```

#[path = "common/cli.rs"]
mod cli;

use gradc::data::{self, Dataset};
use gradc::{Model, network};
use rand::SeedableRng;

macro_rules! digit_net {
    ($name:ident, $($optimizer:tt)*) => {
        network! {
            struct $name {
                input: [64],
                fc1: dense(128), bn1: batch_norm, act1: relu, drop1: dropout(0.2),
                fc2: dense(64), bn2: batch_norm, act2: relu,
                out: dense(10),
                loss: softmax_cross_entropy,
                optimizer: $($optimizer)*,
                regularize: l2(1e-4),
            }
        }
    };
}

digit_net!(WithSgd, sgd(lr = 0.1));
digit_net!(WithMomentum, momentum(lr = 0.05, beta = 0.9));
digit_net!(WithNesterov, nesterov(lr = 0.05, beta = 0.9));
digit_net!(WithRmsprop, rmsprop(lr = 1e-3));
digit_net!(WithAdam, adam(lr = 1e-3));
digit_net!(WithAdamw, adamw(lr = 1e-3, weight_decay = 0.01));

const EPOCHS: usize = 20;
const BATCH: usize = 32;
const SEED: u64 = 42;
/// Training accuracy is measured every this many steps.
const EVERY: usize = 5;

struct Row {
    steps_to_95: Option<usize>,
    final_loss: f64,
    test_accuracy: f64,
}

fn run<M: Model<Scalar = f32>>(mut net: M, train: &Dataset<f32>, test: &Dataset<f32>) -> Result<Row, gradc::Error> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SEED);
    let (mut step, mut steps_to_95, mut final_loss) = (0, None, 0.0);
    for _ in 0..EPOCHS {
        let (mut total, mut seen) = (0.0, 0);
        for batch in train.shuffled_batches(BATCH, &mut rng) {
            let stats = net.train_step(batch.features.view(), &batch.labels)?;
            total += stats.loss * stats.batch as f64;
            seen += stats.batch;
            step += 1;
            if steps_to_95.is_none() && step % EVERY == 0 {
                let accuracy = data::accuracy(net.forward(train.features.view())?.view(), &train.labels);
                if accuracy >= 0.95 {
                    steps_to_95 = Some(step);
                }
            }
        }
        final_loss = total / seen as f64;
    }
    let test_accuracy = data::accuracy(net.forward(test.features.view())?.view(), &test.labels);
    Ok(Row { steps_to_95, final_loss, test_accuracy })
}

fn main() -> Result<(), gradc::Error> {
    cli::start(include_str!("optimizers.rs"));
    let digits: Dataset<f32> = data::digits()?;
    let (train, test) = digits.stratified_split(0.2, SEED);
    println!("digits, {EPOCHS} epochs of batches of {BATCH}, seed {SEED}\n");
    let rows = [
        (<WithSgd as Model>::info().optimizer, run(WithSgd::new(SEED), &train, &test)?),
        (<WithMomentum as Model>::info().optimizer, run(WithMomentum::new(SEED), &train, &test)?),
        (<WithNesterov as Model>::info().optimizer, run(WithNesterov::new(SEED), &train, &test)?),
        (<WithRmsprop as Model>::info().optimizer, run(WithRmsprop::new(SEED), &train, &test)?),
        (<WithAdam as Model>::info().optimizer, run(WithAdam::new(SEED), &train, &test)?),
        (<WithAdamw as Model>::info().optimizer, run(WithAdamw::new(SEED), &train, &test)?),
    ];
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    println!("{:<width$}  {:>18}  {:>10}  {:>8}", "optimizer", "steps to 95% train", "final loss", "test acc");
    for (name, row) in rows {
        let steps = row.steps_to_95.map_or_else(|| "not reached".to_string(), |s| s.to_string());
        println!("{name:<width$}  {steps:>18}  {:>10.4}  {:>7.2}%", row.final_loss, 100.0 * row.test_accuracy);
    }
    Ok(())
}
