//! A warm training step allocates nothing: once the buffers exist for a batch size, the
//! generated code, the runtime and its GEMM (whose packing buffers are per thread and only
//! grow) reuse them. Counted with a counting global allocator (this is not a timing test).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use gradc::ndarray::Array2;
use gradc::{Model, network};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Held by every test here: the counter is process-wide, and the test harness runs tests on
/// parallel threads, so another test's allocations would otherwise be counted.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

network! {
    struct MlpBn {
        input: [784],
        fc1: dense(512), bn1: batch_norm, act1: relu,
        fc2: dense(256), bn2: batch_norm, act2: relu,
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.01),
    }
}

network! {
    struct Everything {
        input: [16],
        fc1: dense(32, l1 = 1e-4), bn1: batch_norm, act1: gelu, drop1: dropout(0.3),
        fc2: dense(16), act2: prelu(per_unit = true), drop2: dropout(0.1),
        out: dense(4),
        loss: binary_cross_entropy, optimizer: sgd(lr = 0.01), regularize: l2(1e-4),
    }
}

network! {
    struct Unfused {
        input: [16], fc1: dense(32), bn1: batch_norm, act1: relu, drop1: dropout(0.2), out: dense(3),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.01), fusion: false,
    }
}

network! {
    struct Cnn {
        input: [3, 12, 12],
        c1: conv2d(8, 3, padding = 1), bn1: batch_norm, a1: relu, p1: max_pool2d(2),
        c2: conv2d(8, (3, 2), stride = 2, groups = 2), a2: tanh, p2: avg_pool2d(2, stride = 1, padding = 1),
        drop: dropout(0.2), gap: global_avg_pool, out: dense(4),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
    }
}

/// Allocations made by a warm training step (the average of five).
fn allocations_per_step<M: Model<Scalar = f32>>(mut net: M, step: impl Fn(&mut M)) -> usize {
    step(&mut net); // first step: buffers are sized here
    step(&mut net);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..5 {
        step(&mut net);
    }
    (ALLOCATIONS.load(Ordering::SeqCst) - before) / 5
}

#[test]
fn warm_training_steps_allocate_nothing() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Two threads: the large products are split across the worker pool, which must not
    // allocate either.
    gradc::set_threads(2);
    let x = Array2::<f32>::from_shape_fn((128, 784), |(r, c)| ((r * 7 + c) % 13) as f32 / 13.0);
    let labels: Vec<usize> = (0..128).map(|r| r % 10).collect();
    let n = allocations_per_step(MlpBn::new(1), |net| {
        net.train_step(x.view(), &labels).unwrap();
    });
    assert_eq!(n, 0, "mlp-bn allocates {n} times per warm step");

    let x = Array2::<f32>::from_shape_fn((32, 16), |(r, c)| ((r + c) % 5) as f32 / 5.0);
    let targets = Array2::<f32>::from_shape_fn((32, 4), |(r, c)| ((r + c) % 2) as f32);
    let n = allocations_per_step(Everything::new(1), |net| {
        net.train_step(x.view(), &targets).unwrap();
    });
    assert_eq!(n, 0, "every training layer: {n} allocations per warm step");

    let labels: Vec<usize> = (0..32).map(|r| r % 3).collect();
    let n = allocations_per_step(Unfused::new(1), |net| {
        net.train_step(x.view(), &labels).unwrap();
    });
    assert_eq!(n, 0, "the unfused network: {n} allocations per warm step");

    let x = Array2::<f32>::from_shape_fn((8, 3 * 12 * 12), |(r, c)| ((r * 5 + c) % 11) as f32 / 11.0);
    let labels: Vec<usize> = (0..8).map(|r| r % 4).collect();
    let n = allocations_per_step(Cnn::new(1), |net| {
        net.train_step(x.view(), &labels).unwrap();
    });
    assert_eq!(n, 0, "convolution, pooling and batch norm over channels: {n} allocations per warm step");
}

#[test]
fn workspace_size_and_the_share_of_weight_gradients() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let x = Array2::<f32>::zeros((128, 784));
    let labels: Vec<usize> = (0..128).map(|r| r % 10).collect();
    let mut net = MlpBn::new(1);
    net.train_step(x.view(), &labels).unwrap();
    let total = net.workspace_bytes();
    let weight_grads: usize = ["fc1.weight", "fc2.weight", "out.weight"]
        .iter()
        .map(|n| net.grad(n).unwrap().len() * std::mem::size_of::<f32>())
        .sum();
    println!("mlp-bn workspace at batch 128: {total} bytes, of which weight gradients {weight_grads} bytes");
    // Every gradient lives in the workspace, so the weight gradients are part of it.
    assert_eq!(weight_grads, (784 * 512 + 512 * 256 + 256 * 10) * 4);
    assert!(total > weight_grads);
}
