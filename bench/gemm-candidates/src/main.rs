//! Times single-precision GEMM candidates on the shapes gradc's networks produce, in the
//! three forms a dense layer needs (forward x·Wᵀ, input gradient dy·W, weight gradient
//! dyᵀ·x), single-threaded, as the training step runs. Prints GFLOP/s per shape. gradc's own
//! kernel and matrixmultiply are timed in alternating bursts (medians), since this machine's
//! speed drifts; the others separately.
//!
//! `cargo run --release` in this folder.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// (label, m, k, n, a transposed, b transposed)
const SHAPES: &[(&str, usize, usize, usize, bool, bool)] = &[
    ("digits fc1 fwd  32x64 . (128x64)^T", 32, 64, 128, false, true),
    ("digits fc1 dW  (32x128)^T . 32x64", 128, 32, 64, true, false),
    ("digits fc2 dx    32x64 . 64x128", 32, 64, 128, false, false),
    ("digits out fwd   32x64 . (10x64)^T", 32, 64, 10, false, true),
    ("mlp-bn fc1 fwd  128x784 . (512x784)^T", 128, 784, 512, false, true),
    ("mlp-bn fc1 dW  (128x512)^T . 128x784", 512, 128, 784, true, false),
    ("mlp-bn fc2 fwd  128x512 . (256x512)^T", 128, 512, 256, false, true),
    ("deep-narrow fwd 256x64 . (64x64)^T", 256, 64, 64, false, true),
];

fn strides(rows: usize, cols: usize, transposed: bool) -> (isize, isize) {
    // op(M) is rows x cols; M is stored cols x rows when transposed.
    if transposed { (1, rows as isize) } else { (cols as isize, 1) }
}

fn naive(m: usize, k: usize, n: usize, a: &[f32], ta: bool, b: &[f32], tb: bool, c: &mut [f32]) {
    c.fill(0.0);
    for i in 0..m {
        for p in 0..k {
            let av = if ta { a[p * m + i] } else { a[i * k + p] };
            for j in 0..n {
                let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                c[i * n + j] += av * bv;
            }
        }
    }
}

/// Median time per call of `a` and of `b`, measured in alternating bursts so both see the
/// same machine (its speed drifts here).
fn race(mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    let burst = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..20 {
            f();
        }
        start.elapsed() / 20
    };
    for round in 0..60 {
        let (x, y) = (burst(&mut a), burst(&mut b));
        if round >= 10 {
            ta.push(x);
            tb.push(y);
        }
    }
    ta.sort();
    tb.sort();
    (ta[ta.len() / 2], tb[tb.len() / 2])
}

#[allow(dead_code)]
fn time(mut f: impl FnMut()) -> Duration {
    f();
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let mut reps = 0;
        while start.elapsed() < Duration::from_millis(60) {
            f();
            reps += 1;
        }
        best = best.min(start.elapsed() / reps);
    }
    best
}

fn main() {
    println!(
        "{:<52} {:>14} {:>14} {:>14} {:>14}",
        "shape (m x k x n)", "gradc-runtime", "matrixmultiply", "gemm (1 thr)", "naive loop"
    );
    for &(label, m, k, n, ta, tb) in SHAPES {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 17) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 13) as f32 * 0.1).collect();
        let mut c = vec![0.0f32; m * n];
        let (rsa, csa) = strides(m, k, ta);
        let (rsb, csb) = strides(k, n, tb);
        let flops = 2.0 * (m * k * n) as f64;
        let gflops = |d: Duration| flops / d.as_secs_f64() / 1e9;
        // SAFETY: the strides describe the a, b and c allocated above.
        unsafe {
            matrixmultiply::sgemm(m, k, n, 1.0, a.as_ptr(), rsa, csa, b.as_ptr(), rsb, csb, 0.0, c.as_mut_ptr(), n as isize, 1)
        };
        let reference = c.clone();
        let mut c2 = c.clone();
        let (own, mm) = race(
            || {
                gradc_runtime::kernels::matmul(m, k, n, &a, ta, &b, tb, &mut c);
                black_box(&c);
            },
            || unsafe {
                matrixmultiply::sgemm(m, k, n, 1.0, a.as_ptr(), rsa, csa, b.as_ptr(), rsb, csb, 0.0, c2.as_mut_ptr(), n as isize, 1);
                black_box(&c2);
            },
        );
        let own_result = c.clone();
        let gm = time(|| unsafe {
            gemm::gemm(
                m, n, k, c.as_mut_ptr(), 1, n as isize, false, a.as_ptr(), csa, rsa, b.as_ptr(), csb, rsb,
                0.0f32, 1.0f32, false, false, false, gemm::Parallelism::None,
            );
            black_box(&c);
        });
        let gemm_result = c.clone();
        let nv = time(|| {
            naive(m, k, n, &a, ta, &b, tb, &mut c);
            black_box(&c);
        });
        let close = |x: &f32, y: &f32| (x - y).abs() <= 1e-3 * x.abs().max(1.0);
        let agree = reference.iter().zip(&gemm_result).zip(&c).zip(&own_result).all(|(((x, y), z), w)| {
            close(x, y) && close(x, z) && close(x, w)
        });
        println!(
            "{:<52} {:>9.2} GF/s {:>9.2} GF/s {:>9.2} GF/s {:>9.2} GF/s{}",
            label,
            gflops(own),
            gflops(mm),
            gflops(gm),
            gflops(nv),
            if agree { "" } else { "  RESULTS DIFFER" }
        );
    }
}
