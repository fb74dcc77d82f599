//! The four workloads of the JAX comparison, as steps per second on 1 and 2 threads, with
//! each step's GEMM floor (its multiply-adds at this GEMM's rate on a large square product)
//! and the allocations of a warm step.
//!
//! ```text
//! cargo run --release --example workloads
//! ```
//!
//! W1 mlp: 784 → dense 512 → relu → dense 256 → relu → dense 10, batch 128, Adam.
//! W2 mlp-bn: W1 with dense → batch_norm → relu, Adam.
//! W3 deep-narrow: 64 → 20 × (dense 64 → batch_norm → relu) → dense 10, batch 256, Adam.
//! W4 wide: 1024 → dense 2048 → relu → dense 2048 → relu → dense 10, batch 256, momentum 0.9.
//! He-normal weights, zero biases (the DSL's defaults, written out).
//!
//! With `GRADC_SAVE_WORKLOADS=dir` it also writes each network's initial weights there and
//! prints its first-step loss, for `tools/time_workloads_jax.py`.

#[path = "common/cli.rs"]
mod cli;

use std::time::Instant;

use gradc::ndarray::Array2;
use gradc::{Model, network};

#[path = "../benches/common/counting_allocator.rs"]
mod counting_allocator;

network! {
    struct W1 {
        input: [784],
        fc1: dense(512, init = he_normal), act1: relu,
        fc2: dense(256, init = he_normal), act2: relu,
        out: dense(10, init = he_normal),
        loss: softmax_cross_entropy, optimizer: adam(lr = 1e-3),
    }
}

network! {
    struct W2 {
        input: [784],
        fc1: dense(512, init = he_normal), bn1: batch_norm, act1: relu,
        fc2: dense(256, init = he_normal), bn2: batch_norm, act2: relu,
        out: dense(10, init = he_normal),
        loss: softmax_cross_entropy, optimizer: adam(lr = 1e-3),
    }
}

network! {
    struct W3 {
        input: [64],
        body: repeat(20) { dense(64, init = he_normal), batch_norm, relu },
        out: dense(10, init = he_normal),
        loss: softmax_cross_entropy, optimizer: adam(lr = 1e-3),
    }
}

network! {
    struct W4 {
        input: [1024],
        fc1: dense(2048, init = he_normal), act1: relu,
        fc2: dense(2048, init = he_normal), act2: relu,
        out: dense(10, init = he_normal),
        loss: softmax_cross_entropy, optimizer: momentum(lr = 0.01, beta = 0.9),
    }
}

/// One workload: its network, batch and the widths of its dense layers.
struct Workload {
    name: &'static str,
    batch: usize,
    widths: Vec<usize>,
    step: Box<dyn FnMut()>,
    /// Seconds of `new` and of the first `train_step` of a new network of this kind.
    first_step: Box<dyn Fn() -> (f64, f64, f64)>,
}

/// A deterministic batch and its labels.
fn data(batch: usize, width: usize) -> (Array2<f32>, Vec<usize>) {
    let x = Array2::from_shape_fn((batch, width), |(r, c)| ((r * 31 + c * 7) % 97) as f32 / 97.0 - 0.5);
    (x, (0..batch).map(|r| r % 10).collect())
}

fn workload<M: Model<Scalar = f32> + Clone + 'static>(
    name: &'static str,
    new: fn(u64) -> M,
    batch: usize,
    widths: Vec<usize>,
) -> Workload {
    let mut net = new(1);
    let (x, labels) = data(batch, widths[0]);
    let first_step = {
        let (x, labels) = (x.clone(), labels.clone());
        Box::new(move || {
            let start = Instant::now();
            let mut fresh = new(2);
            let made = start.elapsed().as_secs_f64();
            let mut step = || {
                let start = Instant::now();
                fresh.train_step(x.view(), &labels).expect("the workloads train");
                start.elapsed().as_secs_f64()
            };
            let first = step();
            (made, first, step())
        })
    };
    // For the JAX comparison (tools/time_workloads_jax.py): the initial weights, and the
    // first step's loss, which JAX must reproduce from them.
    if let Some(dir) = std::env::var_os("GRADC_SAVE_WORKLOADS") {
        let tag = name.split_whitespace().next().expect("a name");
        std::fs::create_dir_all(&dir).expect("a directory for the weights");
        net.save(std::path::Path::new(&dir).join(format!("{tag}.safetensors"))).expect("writable directory");
        let loss = net.clone().train_step(x.view(), &labels).expect("the workloads train").loss;
        println!("{tag} first-step loss {loss:.7}");
    }
    let step = Box::new(move || {
        net.train_step(x.view(), &labels).expect("the workloads train");
    });
    Workload { name, batch, widths, step, first_step }
}

/// The products of one training step, `(m, k, n, a transposed, b transposed)`: per dense
/// layer the forward `x·Wᵀ`, the weight gradient `dyᵀ·x` and, but for the first layer, the
/// input gradient `dy·W`, as the generated code calls them.
fn step_products(batch: usize, widths: &[usize]) -> Vec<(usize, usize, usize, bool, bool)> {
    let mut products = Vec::new();
    for (layer, w) in widths.windows(2).enumerate() {
        let (inputs, outputs) = (w[0], w[1]);
        products.push((batch, inputs, outputs, false, true));
        products.push((outputs, batch, inputs, true, false));
        if layer > 0 {
            products.push((batch, outputs, inputs, false, false));
        }
    }
    products
}

/// Median seconds of the step's products alone, run back to back as the step runs them.
fn gemm_seconds(batch: usize, widths: &[usize], rounds: usize) -> f64 {
    let products: Vec<_> = step_products(batch, widths)
        .into_iter()
        .map(|(m, k, n, ta, tb)| {
            let a: Vec<f32> = (0..m * k).map(|i| (i % 17) as f32 * 0.01).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i % 13) as f32 * 0.01).collect();
            (m, k, n, ta, tb, a, b, vec![0.0f32; m * n])
        })
        .collect();
    let mut products = products;
    let mut run = || {
        for (m, k, n, ta, tb, a, b, c) in &mut products {
            gradc::kernels::matmul(*m, *k, *n, a, *ta, b, *tb, c);
        }
    };
    run();
    time(&mut run, rounds, 3)
}

/// Multiply-adds of one training step's products: forward, weight gradients, and input
/// gradients for every layer but the first.
fn step_madds(batch: usize, widths: &[usize]) -> f64 {
    let layers: Vec<f64> = widths.windows(2).map(|w| (batch * w[0] * w[1]) as f64).collect();
    3.0 * layers.iter().sum::<f64>() - layers[0]
}

/// This GEMM's rate on a large square product, GFLOP/s on one thread.
fn gemm_rate() -> f64 {
    let n = 1024;
    let a = Array2::<f32>::from_shape_fn((n, n), |(r, c)| ((r + c) % 7) as f32);
    let mut c = Array2::<f32>::zeros((n, n));
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        gradc::kernels::matmul(
            n,
            n,
            n,
            a.as_slice().unwrap(),
            false,
            a.as_slice().unwrap(),
            false,
            c.as_slice_mut().unwrap(),
        );
        best = best.min(start.elapsed().as_secs_f64());
    }
    2.0 * (n * n * n) as f64 / best / 1e9
}

/// Median seconds per step over `rounds` rounds of `steps` steps.
fn time(step: &mut dyn FnMut(), rounds: usize, steps: usize) -> f64 {
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..steps {
                step();
            }
            start.elapsed().as_secs_f64() / steps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[rounds / 2]
}

fn main() {
    cli::start(include_str!("workloads.rs"));
    gradc::set_threads(1);
    let rate = gemm_rate();
    let mut workloads = vec![
        workload("W1 mlp 784-512-256-10, b128, adam", W1::new, 128, vec![784, 512, 256, 10]),
        workload("W2 mlp-bn, b128, adam", W2::new, 128, vec![784, 512, 256, 10]),
        workload(
            "W3 deep-narrow 20x64+bn, b256, adam",
            W3::new,
            256,
            std::iter::once(64).chain(std::iter::repeat_n(64, 20)).chain([10]).collect(),
        ),
        workload("W4 wide 1024-2048-2048-10, b256, momentum", W4::new, 256, vec![1024, 2048, 2048, 10]),
    ];
    println!("GEMM on one thread, 1024^3 f32: {rate:.1} GFLOP/s (the floor below is at this rate)");
    println!();
    println!(
        "{:<44} {:>10} {:>10} {:>7} {:>11} {:>9} {:>9} {:>8} {:>11} {:>7}",
        "workload (train_step, f32)",
        "1 thread",
        "2 threads",
        "2t/1t",
        "GEMM floor",
        "non-GEMM",
        "non-GEMM",
        "new()",
        "first step",
        "allocs"
    );
    println!(
        "{:<44} {:>10} {:>10} {:>7} {:>11} {:>9} {:>9} {:>8} {:>11} {:>7}",
        "", "", "", "", "", "1t", "2t", "ms", "extra ms", ""
    );
    // `cargo run --release --example workloads -- W2` times only the workloads named so.
    let only: Vec<String> = std::env::args().skip(1).collect();
    workloads.retain(|w| only.is_empty() || only.iter().any(|o| w.name.starts_with(o.as_str())));
    // `GRADC_PROFILE_STEPS=2000 perf record … workloads W1`: only the steps, on one thread
    // (or on `GRADC_THREADS`).
    if let Some(steps) = std::env::var("GRADC_PROFILE_STEPS").ok().and_then(|s| s.parse::<usize>().ok()) {
        if let Some(threads) = std::env::var("GRADC_THREADS").ok().and_then(|s| s.parse::<usize>().ok()) {
            gradc::set_threads(threads);
        }
        for _ in 0..steps {
            (workloads[0].step)();
        }
        return;
    }
    for w in &mut workloads {
        // Warm up on both settings, then interleave them.
        let (mut one, mut two) = (Vec::new(), Vec::new());
        let steps = if w.batch * w.widths[1] >= 256 * 2048 { 3 } else { 20 };
        for threads in [1, 2] {
            gradc::set_threads(threads);
            for _ in 0..3 {
                (w.step)();
            }
        }
        let (mut gemm_one, mut gemm_two) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            gradc::set_threads(1);
            one.push(time(&mut w.step, 1, steps));
            gemm_one.push(gemm_seconds(w.batch, &w.widths, 1));
            gradc::set_threads(2);
            two.push(time(&mut w.step, 1, steps));
            gemm_two.push(gemm_seconds(w.batch, &w.widths, 1));
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (one, two) = (median(&mut one), median(&mut two));
        let (gemm_one, gemm_two) = (median(&mut gemm_one), median(&mut gemm_two));
        // A new network, and its first step (sizing its buffers) beyond its second, on 2
        // threads: adjacent steps, so the machine's drift cancels. The first such network of
        // the run: later ones may reuse memory the allocator kept, and so would not show the
        // cost of mapping it.
        let (made, first, second) = (w.first_step)();
        let first_extra = first - second;
        let floor = 2.0 * step_madds(w.batch, &w.widths) / (rate * 1e9);
        let before = counting_allocator::allocations();
        (w.step)();
        let allocs = counting_allocator::allocations() - before;
        println!(
            "{:<44} {:>6.1} /s {:>6.1} /s {:>6.2}x {:>10.0}% {:>8.0}% {:>8.0}% {:>8.1} {:>11.2} {:>7}",
            w.name,
            1.0 / one,
            1.0 / two,
            one / two,
            100.0 * floor / one,
            100.0 * (1.0 - gemm_one / one).max(0.0),
            100.0 * (1.0 - gemm_two / two).max(0.0),
            made * 1e3,
            first_extra * 1e3,
            allocs
        );
    }
    println!();
    println!("GEMM floor: the step's multiply-adds at the rate above, as a share of the 1-thread step time.");
    println!("non-GEMM: the share of the step not spent in its products (timed alone, same shapes and threads).");
    println!("new(), first step: making a new network, and its first train_step beyond its second (2 threads).");
}
