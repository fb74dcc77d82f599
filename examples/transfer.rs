//! Transfer learning as the lecture teaches it, on the embedded digits. A small CNN is trained
//! on the source task (digits 0–4); its convolutional base then serves the target task
//! (digits 5–9) in four ways, each with small, medium and full target training sets:
//!
//! 1. frozen base, new head: only the head trains;
//! 2. early layers frozen, later layers fine-tuned gently (`lr_scale` 0.1), new head;
//! 3. everything fine-tuned from the pretrained weights;
//! 4. from scratch: the same network, randomly initialized.
//!
//! Every cell is the mean test accuracy over several seeds (which examples form the small
//! sets, the head's initialization, the batch order), with the spread (min–max).
//!
//! ```text
//! cargo run --release --example transfer
//! ```

#[path = "common/cli.rs"]
mod cli;

use gradc::data::{self, Dataset};
use gradc::{NameMap, network};
use rand::SeedableRng;

network! {
    /// The source network: a convolutional base and a head for digits 0–4.
    struct Source {
        input: [1, 8, 8],
        conv1: conv2d(16, 3, padding = 1), bn1: batch_norm, act1: relu, pool1: max_pool2d(2),
        conv2: conv2d(32, 3, padding = 1), bn2: batch_norm, act2: relu, pool2: max_pool2d(2),
        flat: flatten,
        fc: dense(64), act3: relu,
        head: dense(5),
        loss: softmax_cross_entropy,
        optimizer: adam(lr = 0.003),
    }
}

network! {
    /// The target network: the same base, a new head for digits 5–9.
    struct Target {
        input: [1, 8, 8],
        conv1: conv2d(16, 3, padding = 1), bn1: batch_norm, act1: relu, pool1: max_pool2d(2),
        conv2: conv2d(32, 3, padding = 1), bn2: batch_norm, act2: relu, pool2: max_pool2d(2),
        flat: flatten,
        fc: dense(64), act3: relu,
        new_head: dense(5),
        loss: softmax_cross_entropy,
        optimizer: adam(lr = 0.003),
    }
}

const SEEDS: [u64; 3] = [1, 2, 3];
const BATCH: usize = 32;
/// Updates per target run, whatever the set's size, so small sets are not under-trained.
const TARGET_STEPS: usize = 300;
const SCENARIOS: [&str; 4] = ["frozen base, new head", "early frozen, later lr×0.1", "all fine-tuned", "from scratch"];

/// The examples of `data` whose labels `keep` accepts, relabelled by `relabel`.
fn classes(data: &Dataset<f32>, keep: impl Fn(usize) -> bool, relabel: impl Fn(usize) -> usize) -> Dataset<f32> {
    let indices: Vec<usize> = (0..data.len()).filter(|&i| keep(data.labels[i])).collect();
    let mut subset = data.select(&indices);
    subset.labels.iter_mut().for_each(|l| *l = relabel(*l));
    subset.classes = 5;
    subset
}

/// `per_class` examples of each class (all of them for `None`), chosen by `seed`.
fn per_class(data: &Dataset<f32>, per_class: Option<usize>, seed: u64) -> Dataset<f32> {
    use rand::seq::SliceRandom;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut chosen = Vec::new();
    for class in 0..data.classes {
        let mut of_class: Vec<usize> = (0..data.len()).filter(|&i| data.labels[i] == class).collect();
        of_class.shuffle(&mut rng);
        chosen.extend(of_class.into_iter().take(per_class.unwrap_or(usize::MAX)));
    }
    data.select(&chosen)
}

/// Trains for `steps` updates in shuffled batches (a last batch of one is skipped: batch norm).
fn train(
    step: &mut impl FnMut(&Dataset<f32>) -> Result<(), gradc::Error>,
    data: &Dataset<f32>,
    steps: usize,
    seed: u64,
) -> Result<(), gradc::Error> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut done = 0;
    while done < steps {
        for batch in data.shuffled_batches(BATCH, &mut rng) {
            if batch.len() < 2 || done == steps {
                continue;
            }
            step(&batch)?;
            done += 1;
        }
    }
    Ok(())
}

/// One target run: the scenario's network trained on `train`, its accuracy on `test`.
fn run(
    scenario: usize,
    pretrained: &Source,
    train_set: &Dataset<f32>,
    test: &Dataset<f32>,
    seed: u64,
) -> gradc::Result<f64> {
    let mut net = Target::new(100 + seed);
    if scenario < 3 {
        let report = net.copy_params_from(pretrained, &NameMap::new())?;
        assert_eq!(report.missing, ["new_head.weight", "new_head.bias"], "{report}");
    }
    match scenario {
        0 => {
            for layer in ["conv1", "bn1", "conv2", "bn2", "fc"] {
                net.set_trainable(layer, false)?;
            }
        }
        1 => {
            for layer in ["conv1", "bn1"] {
                net.set_trainable(layer, false)?;
            }
            for layer in ["conv2", "bn2", "fc"] {
                net.set_lr_scale(layer, 0.1)?;
            }
        }
        _ => {}
    }
    train(&mut |b| net.train_step(b.features.view(), &b.labels).map(|_| ()), train_set, TARGET_STEPS, seed)?;
    Ok(data::accuracy(net.forward(test.features.view())?.view(), &test.labels))
}

fn main() -> gradc::Result<()> {
    cli::start(include_str!("transfer.rs"));
    let digits: Dataset<f32> = data::digits()?;
    let source = classes(&digits, |l| l < 5, |l| l);
    let target = classes(&digits, |l| l >= 5, |l| l - 5);
    let (source_train, source_test) = source.stratified_split(0.2, 7);
    let (target_pool, target_test) = target.stratified_split(0.4, 7);

    let mut pretrained = Source::new(7);
    train(&mut |b| pretrained.train_step(b.features.view(), &b.labels).map(|_| ()), &source_train, 600, 7)?;
    let source_accuracy = data::accuracy(pretrained.forward(source_test.features.view())?.view(), &source_test.labels);
    println!(
        "source task (digits 0-4): {} training images, test accuracy {:.2}%",
        source_train.len(),
        100.0 * source_accuracy
    );
    println!(
        "target task (digits 5-9): up to {} training images, {} test images; {TARGET_STEPS} updates per run, seeds {SEEDS:?}\n",
        target_pool.len(),
        target_test.len()
    );

    let sizes = [(Some(5), "5 per class"), (Some(20), "20 per class"), (None, "all")];
    // accuracy[scenario][size] over the seeds
    let mut accuracy = vec![vec![Vec::new(); sizes.len()]; SCENARIOS.len()];
    for (s, &(size, _)) in sizes.iter().enumerate() {
        for &seed in &SEEDS {
            let train_set = per_class(&target_pool, size, seed);
            for (scenario, cells) in accuracy.iter_mut().enumerate() {
                cells[s].push(run(scenario, &pretrained, &train_set, &target_test, seed)?);
            }
        }
    }

    print!("{:<28}", "test accuracy (%)");
    for (_, name) in &sizes {
        print!("{name:>22}");
    }
    println!();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    for (scenario, cells) in accuracy.iter().enumerate() {
        print!("{:<28}", SCENARIOS[scenario]);
        for cell in cells {
            let (lo, hi) = cell.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &a| (lo.min(a), hi.max(a)));
            print!("{:>22}", format!("{:.1} ({:.1}-{:.1})", 100.0 * mean(cell), 100.0 * lo, 100.0 * hi));
        }
        println!();
    }

    // What the table shows, read off the numbers.
    let best_of = |scenarios: std::ops::Range<usize>, s: usize| {
        scenarios.max_by(|&a, &b| mean(&accuracy[a][s]).total_cmp(&mean(&accuracy[b][s]))).expect("scenarios")
    };
    let last = sizes.len() - 1;
    let gap = |s: usize| 100.0 * (mean(&accuracy[best_of(0..3, s)][s]) - mean(&accuracy[3][s]));
    println!(
        "\nBest with {}: \"{}\"; with all target images: \"{}\". The best pretrained scenario minus \
         from scratch: {:+.1} points with {}, {:+.1} with all.",
        sizes[0].1,
        SCENARIOS[best_of(0..4, 0)],
        SCENARIOS[best_of(0..4, last)],
        gap(0),
        sizes[0].1,
        gap(last)
    );
    Ok(())
}
