//! Residual and repeated blocks: f64 central-difference checks of networks whose graph is a
//! DAG (the skip's gradient adds to the body's), PyTorch-style nested names, and a 20-block
//! network declared in three lines.

mod common;

use common::{assert_gradients, matrix};
use gradc::network;

network! {
    struct ResidualMlp {
        input: [5],
        fc: dense(6), act: tanh,
        res1: residual { fc: dense(6), bn: batch_norm, act: relu, fc2: dense(6) },
        res2: residual(project = dense) { dense(4), elu },
        out: dense(3),
        loss: softmax_cross_entropy, optimizer: sgd(0.1), dtype: f64,
    }
}

network! {
    struct ResidualCnn {
        input: [2, 7, 6],
        stem: conv2d(3, 3, padding = 1), act: relu,
        res1: residual { conv2d(3, 3, padding = 1), batch_norm, relu, conv2d(3, 3, padding = same) },
        res2: residual(project = conv1x1) { a: conv2d(4, 3, stride = 2, padding = 1), b: tanh, c: conv2d(4, 1) },
        gap: global_avg_pool, out: dense(2),
        loss: mse, optimizer: sgd(0.1), dtype: f64,
    }
}

network! {
    struct NestedAndRepeated {
        input: [4],
        stage: repeat(2) { residual { fc: dense(4), act: silu } },
        outer: residual { inner: residual { dense(4), tanh }, dense(4) },
        out: dense(2),
        loss: mse, optimizer: sgd(0.1), dtype: f64,
    }
}

network! {
    /// Twenty residual blocks in three lines.
    struct Deep {
        input: [8], stem: dense(8),
        blocks: repeat(20) { residual { fc: dense(8), bn: batch_norm, act: relu } },
        out: dense(2), loss: mse, optimizer: adam(0.001),
    }
}

#[test]
fn residual_mlp_with_batch_norm_and_a_dense_projection() {
    assert_gradients(ResidualMlp::new(1), 4, 70);
}

#[test]
fn residual_cnn_with_a_strided_conv1x1_projection() {
    assert_gradients(ResidualCnn::new(2), 3, 80);
}

#[test]
fn nested_and_repeated_blocks() {
    assert_gradients(NestedAndRepeated::new(3), 3, 90);
}

#[test]
fn names_nest_like_pytorch_modules() {
    let names = NestedAndRepeated::new(0).param_names();
    let expected = [
        "stage.0.0.fc.weight",
        "stage.0.0.fc.bias",
        "stage.1.0.fc.weight",
        "stage.1.0.fc.bias",
        "outer.inner.0.weight",
        "outer.inner.0.bias",
        "outer.1.weight",
        "outer.1.bias",
        "out.weight",
        "out.bias",
    ];
    assert_eq!(names, expected);
    let cnn = ResidualCnn::new(0).param_names();
    assert!(cnn.contains(&"res2.project.weight") && !cnn.contains(&"res2.project.bias"), "{cnn:?}");
    assert_eq!(ResidualCnn::new(0).param("res2.project.weight").unwrap().shape(), &[4, 3, 1, 1]);
    assert!(ResidualCnn::TRAIN_IR.contains("conv2d[1x1 stride 2x2]"), "{}", ResidualCnn::TRAIN_IR);
}

#[test]
fn the_skip_is_in_the_graph() {
    // x + f(x): the block's output is an add whose operands are the body and the input.
    let ir = ResidualMlp::IR;
    assert!(ir.lines().any(|l| l.contains("= add") && l.trim_end().ends_with("# res1")), "{ir}");
    assert!(ir.lines().any(|l| l.contains("= add") && l.trim_end().ends_with("# res2")), "{ir}");
}

#[test]
fn twenty_blocks_train() {
    let mut net = Deep::new(5);
    assert_eq!(net.param_names().len(), 2 + 20 * (2 + 5) + 2);
    assert!(net.param_names().contains(&"blocks.19.0.fc.weight"));
    let x = matrix(16, 8, 3, 1.0).mapv(|v| v as f32);
    let t = matrix(16, 2, 4, 1.0).mapv(|v| v as f32);
    let first = net.train_step(x.view(), &t).unwrap().loss;
    let mut last = first;
    for _ in 0..50 {
        last = net.train_step(x.view(), &t).unwrap().loss;
    }
    assert!(last < first, "{first} -> {last}");
}
