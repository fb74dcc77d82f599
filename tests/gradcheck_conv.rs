//! f64 central-difference checks of the image layers: convolution (odd sizes, stride 2,
//! padding, `same`, dilation, groups, non-square kernels), max and average pooling, global
//! average pooling, flatten and batch norm over channels.

mod common;

use common::assert_gradients;
use gradc::network;

network! {
    struct OddSizes {
        input: [3, 7, 5],
        conv: conv2d(4, (3, 2)), act: tanh, flatten, out: dense(3),
        loss: mse, optimizer: sgd(0.1), dtype: f64,
    }
}

network! {
    struct StridePaddingDilation {
        input: [2, 9, 8],
        a: conv2d(3, 3, stride = 2, padding = 1), act: elu,
        b: conv2d(2, (2, 3), padding = (1, 0), dilation = (2, 1)), flatten, out: dense(2),
        loss: softmax_cross_entropy, optimizer: sgd(0.1), dtype: f64,
    }
}

network! {
    struct GroupsAndSame {
        input: [4, 6, 6],
        a: conv2d(6, 3, padding = same, groups = 2, bias = false), act: silu,
        b: conv2d(2, 4, padding = same, dilation = 2), flatten, out: dense(2),
        loss: binary_cross_entropy, optimizer: sgd(0.1), dtype: f64,
    }
}

network! {
    struct Pools {
        input: [2, 9, 7],
        a: conv2d(3, 2), act: relu, pool: max_pool2d(2),
        b: conv2d(3, (2, 1), padding = 1), avg: avg_pool2d(3, stride = 2, padding = 1), flatten, out: dense(2),
        loss: mse, optimizer: sgd(0.1), dtype: f64,
    }
}

network! {
    struct BatchNormChannels {
        input: [3, 5, 4],
        conv: conv2d(4, 3, padding = 1), bn: batch_norm, act: tanh, drop: dropout(0.3),
        gap: global_avg_pool, out: dense(3),
        loss: softmax_cross_entropy, optimizer: sgd(0.1), dtype: f64,
    }
}

network! {
    struct PerChannelPrelu {
        input: [2, 4, 4],
        conv: conv2d(3, 3, padding = 1, groups = 1), slope: prelu(per_unit = true), pool: max_pool2d((2, 1)), flatten, out: dense(2),
        loss: mse, optimizer: sgd(0.1), dtype: f64,
    }
}

#[test]
fn odd_sizes_and_a_non_square_kernel() {
    assert_gradients(OddSizes::new(1), 3, 10);
}

#[test]
fn stride_padding_and_dilation() {
    assert_gradients(StridePaddingDilation::new(2), 2, 20);
}

#[test]
fn groups_and_same_padding() {
    assert_gradients(GroupsAndSame::new(3), 2, 30);
}

#[test]
fn max_and_average_pooling() {
    assert_gradients(Pools::new(4), 3, 40);
}

#[test]
fn batch_norm_over_channels_dropout_and_global_pooling() {
    assert_gradients(BatchNormChannels::new(5), 4, 50);
}

#[test]
fn per_channel_prelu() {
    assert_gradients(PerChannelPrelu::new(6), 2, 60);
}
