//! gradc against PyTorch on image and residual networks, in f64: the evaluation output, the loss, every
//! gradient, the whole state (batch-norm running statistics included) after three Adam
//! steps, and the evaluation output after them agree to 1e-10 relative. The fixtures come
//! from `tools/make_cnn_fixtures.py`; the weights load through the strict `load`, so the
//! names and layouts are PyTorch's.

mod common;

use common::{assert_report_within, fixture_report};
use gradc::network;

network! {
    struct ConvBnPoolCe {
        input: [2, 9, 8],
        conv1: conv2d(4, 3, padding = 1, bias = false), bn1: batch_norm, act1: relu, pool1: max_pool2d(2),
        conv2: conv2d(6, (2, 3), padding = (1, 1), dilation = (1, 2), groups = 2), act2: tanh,
        pool2: avg_pool2d(2, stride = 1, padding = 1), flat: flatten, out: dense(3),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01), dtype: f64,
    }
}

network! {
    struct SamePreluGapBce {
        input: [3, 7, 6],
        conv1: conv2d(4, 3, padding = same, bias = false), bn1: batch_norm(momentum = 0.2, eps = 1e-3), act1: silu,
        conv2: conv2d(4, 3, stride = 2, padding = 2, dilation = 2, groups = 4), act2: prelu(init = 0.2, per_unit = true),
        gap: global_avg_pool, out: dense(2),
        loss: binary_cross_entropy, optimizer: adam(lr = 0.01), dtype: f64,
    }
}

network! {
    struct ResidualMlpCe {
        input: [5], fc: dense(6), act: tanh,
        res1: residual { fc: dense(6, bias = false), bn: batch_norm, act: relu, fc2: dense(6) },
        res2: residual(project = dense) { dense(4), elu },
        out: dense(3),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01), dtype: f64,
    }
}

network! {
    struct ResidualCnnMse {
        input: [2, 7, 6], stem: conv2d(3, 3, padding = 1), act: relu,
        res1: residual { conv2d(3, 3, padding = 1, bias = false), batch_norm, relu, conv2d(3, 3, padding = same) },
        res2: residual(project = conv1x1) { a: conv2d(4, 3, stride = 2, padding = 1), b: tanh, c: conv2d(4, 1) },
        gap: global_avg_pool, out: dense(2),
        loss: mse, optimizer: adam(lr = 0.01), dtype: f64,
    }
}

const TOLERANCE: f64 = 1e-10;

#[test]
fn conv_batch_norm_pooling_network_matches_pytorch() {
    let report = fixture_report("cnn", "conv_bn_pool_ce", &mut ConvBnPoolCe::new(0), 3);
    assert_report_within("conv_bn_pool_ce", &report, TOLERANCE);
}

#[test]
fn same_padding_depthwise_prelu_global_pool_network_matches_pytorch() {
    let report = fixture_report("cnn", "same_prelu_gap_bce", &mut SamePreluGapBce::new(0), 3);
    assert_report_within("same_prelu_gap_bce", &report, TOLERANCE);
}

#[test]
fn residual_mlp_with_a_dense_projection_matches_pytorch() {
    let report = fixture_report("cnn", "residual_mlp_ce", &mut ResidualMlpCe::new(0), 3);
    assert_report_within("residual_mlp_ce", &report, TOLERANCE);
}

#[test]
fn residual_cnn_with_a_conv1x1_projection_matches_pytorch() {
    let report = fixture_report("cnn", "residual_cnn_mse", &mut ResidualCnnMse::new(0), 3);
    assert_report_within("residual_cnn_mse", &report, TOLERANCE);
}
