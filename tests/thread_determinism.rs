//! Results do not depend on the thread count: the products are split by stripes of their
//! output, each element computed by one thread in the same order as on one, so 1, 2 and 3
//! threads give bit-identical parameters, optimizer state and running statistics after 10
//! steps. (The thread count is process-wide, hence one test in this file.)

use gradc::ndarray::Array2;
use gradc::{Model, network};

network! {
    /// W2 of the JAX comparison: the products are large enough to be split.
    struct MlpBn {
        input: [784],
        fc1: dense(512), bn1: batch_norm, act1: relu,
        fc2: dense(256), bn2: batch_norm, act2: relu,
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: adam(lr = 1e-3),
    }
}

network! {
    /// A deep batch-norm network with dropout, split into stripes of rows (batch > width).
    struct DeepBn {
        input: [96],
        body: repeat(8) { dense(96), batch_norm, relu, dropout(0.1) },
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: momentum(lr = 0.05),
    }
}

/// Every parameter and optimizer state value, as bits, after 10 steps on `threads` threads.
fn after_ten_steps<M: Model<Scalar = f32>>(mut net: M, threads: usize, batch: usize) -> Vec<u32> {
    gradc::set_threads(threads);
    assert_eq!(gradc::threads(), threads);
    let width = M::info().input_width;
    for step in 0..10 {
        let x = Array2::from_shape_fn((batch, width), |(r, c)| ((r * 13 + c * 7 + step) % 29) as f32 / 29.0 - 0.5);
        let labels: Vec<usize> = (0..batch).map(|r| (r + step) % 10).collect();
        net.train_step(x.view(), &labels).unwrap();
    }
    let state = net.optimizer();
    net.params()
        .values()
        .iter()
        .flatten()
        .chain((0..M::info().params.len()).flat_map(|i| state.slots(i).iter().flatten()))
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn one_two_and_three_threads_give_identical_networks() {
    let one = after_ten_steps(MlpBn::new(3), 1, 128);
    for threads in [2, 3] {
        assert!(one == after_ten_steps(MlpBn::new(3), threads, 128), "W2 differs on {threads} threads");
    }
    let one = after_ten_steps(DeepBn::new(4), 1, 1024);
    for threads in [2, 3] {
        assert!(one == after_ten_steps(DeepBn::new(4), threads, 1024), "the deep network differs on {threads} threads");
    }
    gradc::set_threads(1);
}
