//! `train_step` throughput, fused against `fusion: false`, on the two networks of issue 3:
//! "mlp-bn" (784 → 512 → 256 → 10, each hidden dense → batch_norm → relu, batch 128) and
//! "deep-narrow" (64 inputs, 20 × [dense 64 → batch_norm → relu], dense 10, batch 256), and
//! "cnn-small" (1×28×28, two conv → batch_norm → relu → max_pool blocks, dense 128, batch 64).
//!
//! `cargo bench -p gradc-bench --bench train_step`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gradc::Model;
use gradc::ndarray::Array2;

#[path = "../../../benches/common/networks.rs"]
mod networks;

use networks::{CnnSmallFused, CnnSmallUnfused, DeepNarrowFused, DeepNarrowUnfused, MlpBnFused, MlpBnUnfused};

fn batch(rows: usize, cols: usize) -> (Array2<f32>, Vec<usize>) {
    let x = Array2::from_shape_fn((rows, cols), |(r, c)| ((r * 31 + c * 17) % 97) as f32 / 97.0 - 0.5);
    (x, (0..rows).map(|r| r % 10).collect())
}

fn bench<M: Model<Scalar = f32>>(c: &mut Criterion, group: &str, label: &str, mut net: M, rows: usize) {
    let (x, labels) = batch(rows, M::info().input_width);
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.bench_function(label, |b| b.iter(|| net.train_step(x.view(), &labels).unwrap()));
    g.finish();
}

fn train_step(c: &mut Criterion) {
    bench(c, "mlp-bn", "fused", MlpBnFused::new(1), 128);
    bench(c, "mlp-bn", "unfused", MlpBnUnfused::new(1), 128);
    bench(c, "deep-narrow", "fused", DeepNarrowFused::new(1), 256);
    bench(c, "deep-narrow", "unfused", DeepNarrowUnfused::new(1), 256);
    bench(c, "cnn-small", "fused", CnnSmallFused::new(1), 64);
    bench(c, "cnn-small", "unfused", CnnSmallUnfused::new(1), 64);
}

criterion_group!(benches, train_step);
criterion_main!(benches);
