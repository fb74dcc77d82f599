//! "cnn-small" `train_step` throughput, fused against `fusion: false`, interleaved so both see
//! the same machine, and the allocations of a warm step (counted by a global allocator):
//! 1×28×28 → conv 32 3×3 → batch_norm → relu → max_pool 2 → conv 64 3×3 → batch_norm → relu →
//! max_pool 2 → flatten → dense 128 → relu → dense 10, batch 64, Adam, f32.
//!
//! ```text
//! cargo run --release --example cnn_small
//! ```

#[path = "common/cli.rs"]
mod cli;

use std::time::Instant;

use gradc::ndarray::Array2;

#[path = "../benches/common/networks.rs"]
#[allow(dead_code, reason = "the MLP networks are timed by examples/fusion_speed.rs")]
mod networks;

use networks::{CnnSmallFused, CnnSmallUnfused};

#[path = "../benches/common/counting_allocator.rs"]
mod counting_allocator;

const BATCH: usize = 64;
/// Multiply-adds of one example's forward pass: conv1, conv2, fc, out.
const FORWARD_MACS: f64 = (28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 64 * 7 * 7 * 128 + 128 * 10) as f64;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    cli::start(include_str!("cnn_small.rs"));
    let x = Array2::from_shape_fn((BATCH, 28 * 28), |(r, c)| ((r * 31 + c * 17) % 97) as f32 / 97.0 - 0.5);
    let labels: Vec<usize> = (0..BATCH).map(|r| r % 10).collect();
    let (mut fused, mut plain) = (CnnSmallFused::new(1), CnnSmallUnfused::new(1));
    // Warm both, then count one step's allocations each.
    fused.train_step(x.view(), &labels).unwrap();
    plain.train_step(x.view(), &labels).unwrap();
    let before = counting_allocator::allocations();
    fused.train_step(x.view(), &labels).unwrap();
    let fused_allocations = counting_allocator::allocations() - before;
    let before = counting_allocator::allocations();
    plain.train_step(x.view(), &labels).unwrap();
    let plain_allocations = counting_allocator::allocations() - before;
    let (mut tf, mut tp) = (Vec::new(), Vec::new());
    for round in 0..25 {
        let start = Instant::now();
        fused.train_step(x.view(), &labels).unwrap();
        let f = start.elapsed().as_secs_f64();
        let start = Instant::now();
        plain.train_step(x.view(), &labels).unwrap();
        let p = start.elapsed().as_secs_f64();
        if round >= 5 {
            tf.push(f);
            tp.push(p);
        }
    }
    let (f, p) = (median(tf), median(tp));
    // A training step is about three forward passes of multiply-adds (forward, input and weight gradients).
    let gflops = |t: f64| 3.0 * 2.0 * FORWARD_MACS * BATCH as f64 / t / 1e9;
    println!("cnn-small, batch {BATCH}, Adam, f32 (median of 20 interleaved steps)");
    println!("{:<14} {:>10} {:>10} {:>12} {:>12}", "", "ms/step", "steps/s", "~GFLOP/s", "allocations");
    println!("{:<14} {:>10.2} {:>10.1} {:>12.1} {:>12}", "fused", f * 1e3, 1.0 / f, gflops(f), fused_allocations);
    println!(
        "{:<14} {:>10.2} {:>10.1} {:>12.1} {:>12}",
        "fusion: false",
        p * 1e3,
        1.0 / p,
        gflops(p),
        plain_allocations
    );
}
