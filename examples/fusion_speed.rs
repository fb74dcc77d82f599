//! Fused against `fusion: false`, interleaved: the two compilations of each benchmark network
//! take turns, round after round, so both see the same machine; the table gives the median
//! time per training step. (The criterion bench `train_step` measures the same networks one
//! after the other.)
//!
//! ```text
//! cargo run --release --example fusion_speed
//! ```

#[path = "common/cli.rs"]
mod cli;

use std::time::Instant;

use gradc::Model;
use gradc::ndarray::Array2;

#[path = "../benches/common/networks.rs"]
#[allow(dead_code, reason = "the cnn-small networks are timed by examples/cnn_small.rs")]
mod networks;

use networks::{DeepNarrowFused, DeepNarrowUnfused, MlpBnFused, MlpBnUnfused};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median seconds per step of `a` and `b`, measured in alternating rounds.
fn race<A: Model<Scalar = f32>, B: Model<Scalar = f32>>(mut a: A, mut b: B, rows: usize) -> (f64, f64) {
    let width = A::info().input_width;
    let x = Array2::from_shape_fn((rows, width), |(r, c)| ((r * 31 + c * 17) % 97) as f32 / 97.0 - 0.5);
    let labels: Vec<usize> = (0..rows).map(|r| r % 10).collect();
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for round in 0..120 {
        let start = Instant::now();
        for _ in 0..3 {
            a.train_step(x.view(), &labels).expect("valid batch");
        }
        let a_time = start.elapsed().as_secs_f64() / 3.0;
        let start = Instant::now();
        for _ in 0..3 {
            b.train_step(x.view(), &labels).expect("valid batch");
        }
        let b_time = start.elapsed().as_secs_f64() / 3.0;
        if round >= 20 {
            ta.push(a_time);
            tb.push(b_time);
        }
    }
    (median(ta), median(tb))
}

fn main() {
    cli::start(include_str!("fusion_speed.rs"));
    println!("{:<44} {:>16} {:>16} {:>8}", "network (train_step, f32)", "fused", "fusion: false", "speed-up");
    for (name, (fused, plain)) in [
        ("mlp-bn 784-512-256-10, batch 128", race(MlpBnFused::new(1), MlpBnUnfused::new(1), 128)),
        ("deep-narrow 20 x 64, batch 256", race(DeepNarrowFused::new(1), DeepNarrowUnfused::new(1), 256)),
    ] {
        println!("{name:<44} {:>9.2} ms/step {:>9.2} ms/step {:>7.2}x", fused * 1e3, plain * 1e3, plain / fused);
    }
}
