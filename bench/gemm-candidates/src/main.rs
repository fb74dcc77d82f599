//! Times gradc's GEMM against the matrix-multiply crates it could use instead, on the shapes
//! gradc's networks produce, in the three forms a dense layer needs (forward x·Wᵀ, input
//! gradient dy·W, weight gradient dyᵀ·x), single-threaded, as one thread of the training step
//! runs them. All contenders are timed in alternating bursts and the medians compared, since
//! this machine's speed drifts. Prints GFLOP/s per shape and gradc's rate as a share of the
//! best other one.
//!
//! `cargo run --release` in this folder; `-- f64` for double precision, `-- W4` to keep only
//! the rows whose label contains `W4`.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// (label, m, k, n, a transposed, b transposed)
type Shape = (&'static str, usize, usize, usize, bool, bool);

/// Every product of one dense layer `inputs → outputs` at a batch size: forward, weight
/// gradient and (unless it is the first layer) input gradient.
fn dense_layer(out: &mut Vec<Shape>, name: &'static str, batch: usize, inputs: usize, outputs: usize, first: bool) {
    let label = |what: &str| -> &'static str { Box::leak(format!("{name} {what}").into_boxed_str()) };
    out.push((label("fwd  x·Wᵀ"), batch, inputs, outputs, false, true));
    out.push((label("dW  dyᵀ·x"), outputs, batch, inputs, true, false));
    if !first {
        out.push((label("dx  dy·W"), batch, outputs, inputs, false, false));
    }
}

fn shapes() -> Vec<Shape> {
    let mut v = Vec::new();
    dense_layer(&mut v, "W1 fc1 784→512 ", 128, 784, 512, true);
    dense_layer(&mut v, "W1 fc2 512→256 ", 128, 512, 256, false);
    dense_layer(&mut v, "W1 out 256→10  ", 128, 256, 10, false);
    dense_layer(&mut v, "W3 fc  64→64   ", 256, 64, 64, false);
    dense_layer(&mut v, "W3 out 64→10   ", 256, 64, 10, false);
    dense_layer(&mut v, "W4 fc1 1024→2048", 256, 1024, 2048, true);
    dense_layer(&mut v, "W4 fc2 2048→2048", 256, 2048, 2048, false);
    dense_layer(&mut v, "W4 out 2048→10 ", 256, 2048, 10, false);
    dense_layer(&mut v, "digits fc1 64→128", 32, 64, 128, true);
    dense_layer(&mut v, "digits out 128→10", 32, 128, 10, false);
    v
}

trait Element: Copy + Default + PartialEq + std::fmt::Debug + gradc_runtime::Float + 'static {
    fn of(x: f64) -> Self;
    fn widen(self) -> f64;
    /// matrixmultiply's routine for this type.
    #[allow(clippy::too_many_arguments)]
    unsafe fn mm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        c: *mut Self,
        rsc: isize,
    );
}

impl Element for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn widen(self) -> f64 {
        self as f64
    }
    unsafe fn mm(
        m: usize,
        k: usize,
        n: usize,
        a: *const f32,
        rsa: isize,
        csa: isize,
        b: *const f32,
        rsb: isize,
        csb: isize,
        c: *mut f32,
        rsc: isize,
    ) {
        unsafe { matrixmultiply::sgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, 0.0, c, rsc, 1) }
    }
}

impl Element for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn widen(self) -> f64 {
        self
    }
    unsafe fn mm(
        m: usize,
        k: usize,
        n: usize,
        a: *const f64,
        rsa: isize,
        csa: isize,
        b: *const f64,
        rsb: isize,
        csb: isize,
        c: *mut f64,
        rsc: isize,
    ) {
        unsafe { matrixmultiply::dgemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, 0.0, c, rsc, 1) }
    }
}

fn strides(rows: usize, cols: usize, transposed: bool) -> (isize, isize) {
    // op(M) is rows x cols; M is stored cols x rows when transposed.
    if transposed { (1, rows as isize) } else { (cols as isize, 1) }
}

/// Median time per call of each contender, measured in alternating bursts of about 10 ms so
/// all of them see the same machine.
fn race(contenders: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    // Calibrate the burst length on the first contender.
    let start = Instant::now();
    (contenders[0])();
    let once = start.elapsed().max(Duration::from_nanos(100));
    let calls = ((Duration::from_millis(10).as_secs_f64() / once.as_secs_f64()) as usize).clamp(1, 10_000);
    let rounds = 25;
    let mut times = vec![Vec::new(); contenders.len()];
    for round in 0..rounds + 3 {
        for (f, t) in contenders.iter_mut().zip(&mut times) {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            if round >= 3 {
                t.push(start.elapsed() / calls as u32);
            }
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect()
}

fn run<T: Element>(filter: Option<&str>) {
    println!(
        "{:<36} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>8}",
        "shape", "m", "k", "n", "gradc", "matrixmul", "gemm", "gradc %"
    );
    for (label, m, k, n, ta, tb) in shapes() {
        if filter.is_some_and(|f| !label.contains(f)) {
            continue;
        }
        let a: Vec<T> = (0..m * k).map(|i| T::of((i % 17) as f64 * 0.1 - 0.8)).collect();
        let b: Vec<T> = (0..k * n).map(|i| T::of((i % 13) as f64 * 0.1 - 0.6)).collect();
        let (rsa, csa) = strides(m, k, ta);
        let (rsb, csb) = strides(k, n, tb);
        let mut c_own = vec![T::default(); m * n];
        let mut c_mm = vec![T::default(); m * n];
        let mut c_gemm = vec![T::default(); m * n];
        let (mut own, mut mm, mut gm) = (
            || {
                gradc_runtime::kernels::matmul(m, k, n, &a, ta, &b, tb, &mut c_own);
                black_box(&c_own);
            },
            // SAFETY: the strides describe a, b and c as allocated above.
            || unsafe {
                T::mm(m, k, n, a.as_ptr(), rsa, csa, b.as_ptr(), rsb, csb, c_mm.as_mut_ptr(), n as isize);
                black_box(&c_mm);
            },
            // SAFETY: as above (gemm takes column stride before row stride).
            || unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    c_gemm.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    csa,
                    rsa,
                    b.as_ptr(),
                    csb,
                    rsb,
                    T::of(0.0),
                    T::of(1.0),
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
                black_box(&c_gemm);
            },
        );
        let times = race(&mut [&mut own, &mut mm, &mut gm]);
        let close = |x: &T, y: &T| (x.widen() - y.widen()).abs() <= 1e-3 * x.widen().abs().max(1.0);
        let agree = c_own.iter().zip(&c_mm).zip(&c_gemm).all(|((x, y), z)| close(x, y) && close(x, z));
        let flops = 2.0 * (m * k * n) as f64;
        let rate = |d: Duration| flops / d.as_secs_f64() / 1e9;
        let (own, mm, gm) = (rate(times[0]), rate(times[1]), rate(times[2]));
        println!(
            "{label:<36} {m:>5} {k:>5} {n:>5} {own:>10.1} {mm:>10.1} {gm:>10.1} {:>7.0}%{}",
            100.0 * own / mm.max(gm),
            if agree { "" } else { "  RESULTS DIFFER" }
        );
    }
}

fn main() {
    // The training step's products on one thread, as the other crates run them here.
    gradc_runtime::threads::set_threads(1);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let f64_mode = args.iter().any(|a| a == "f64");
    let filter = args.iter().find(|a| *a != "f64").map(String::as_str);
    println!("GFLOP/s, one thread, {}", if f64_mode { "f64" } else { "f32" });
    if f64_mode { run::<f64>(filter) } else { run::<f32>(filter) }
}
