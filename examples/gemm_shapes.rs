//! The runtime GEMM on the shapes the compiler emits for cnn-small's training step (the
//! convolutions' forward and both gradients, batch 64) and for the dense layers: GFLOP/s per
//! shape and operand layout, the median of several runs.
//!
//! ```text
//! cargo run --release --example gemm_shapes
//! ```

#[path = "common/cli.rs"]
mod cli;

use std::time::Instant;

use gradc::__private::kernels::matmul;

/// `(what, m, k, n, transpose_a, transpose_b)`.
const SHAPES: &[(&str, usize, usize, usize, bool, bool)] = &[
    ("conv1 forward", 32, 9, 64 * 784, false, false),
    ("conv1 dweight", 32, 64 * 784, 9, false, true),
    ("conv2 forward", 64, 288, 64 * 196, false, false),
    ("conv2 dweight", 64, 64 * 196, 288, false, true),
    ("conv2 dcolumns", 288, 64, 64 * 196, true, false),
    ("fc forward", 64, 3136, 128, false, true),
    ("fc dweight", 128, 64, 3136, true, false),
    ("fc dinput", 64, 128, 3136, false, false),
    ("out forward (n = 10)", 64, 128, 10, false, true),
    ("w4 2048² forward", 256, 2048, 2048, false, true),
    ("w4 2048² dweight", 2048, 256, 2048, true, false),
    ("w4 2048² dinput", 256, 2048, 2048, false, false),
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    cli::start(include_str!("gemm_shapes.rs"));
    println!("{:<22} {:>6} {:>7} {:>7} {:>4} {:>9} {:>9}", "shape", "m", "k", "n", "op", "ms", "GFLOP/s");
    for &(what, m, k, n, ta, tb) in SHAPES {
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 13) as f32 / 13.0 - 0.5).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 11) as f32 / 11.0 - 0.5).collect();
        let mut c = vec![0.0f32; m * n];
        let flops = 2.0 * (m * k * n) as f64;
        // Enough repetitions for about 0.2 s per shape.
        let reps = ((0.2 * 40e9 / flops) as usize).clamp(3, 200);
        matmul(m, k, n, &a, ta, &b, tb, &mut c);
        let times: Vec<f64> = (0..reps)
            .map(|_| {
                let start = Instant::now();
                matmul(m, k, n, &a, ta, &b, tb, &mut c);
                start.elapsed().as_secs_f64()
            })
            .collect();
        let t = median(times);
        let op = format!("{}{}", if ta { "T" } else { "N" }, if tb { "T" } else { "N" });
        println!("{what:<22} {m:>6} {k:>7} {n:>7} {op:>4} {:>9.3} {:>9.1}", t * 1e3, flops / t / 1e9);
    }
}
