//! The two benchmark networks of issue 3, each compiled with and without fusion; shared by
//! `bench/train-step/benches/train_step.rs` and `examples/fusion_speed.rs`.

use gradc::network;

macro_rules! mlp_bn {
    ($name:ident, $fusion:literal) => {
        network! {
            /// 784 → 512 → 256 → 10, each hidden dense → batch_norm → relu.
            pub struct $name {
                input: [784],
                fc1: dense(512), bn1: batch_norm, act1: relu,
                fc2: dense(256), bn2: batch_norm, act2: relu,
                out: dense(10),
                loss: softmax_cross_entropy, optimizer: sgd(lr = 0.01), fusion: $fusion,
            }
        }
    };
}

macro_rules! deep_narrow {
    ($name:ident, $fusion:literal) => {
        network! {
            /// 64 inputs, 20 × [dense 64 → batch_norm → relu], dense 10.
            pub struct $name {
                input: [64],
                dense(64), batch_norm, relu, dense(64), batch_norm, relu, dense(64), batch_norm, relu,
                dense(64), batch_norm, relu, dense(64), batch_norm, relu, dense(64), batch_norm, relu,
                dense(64), batch_norm, relu, dense(64), batch_norm, relu, dense(64), batch_norm, relu,
                dense(64), batch_norm, relu, dense(64), batch_norm, relu, dense(64), batch_norm, relu,
                dense(64), batch_norm, relu, dense(64), batch_norm, relu, dense(64), batch_norm, relu,
                dense(64), batch_norm, relu, dense(64), batch_norm, relu, dense(64), batch_norm, relu,
                dense(64), batch_norm, relu, dense(64), batch_norm, relu,
                dense(10),
                loss: softmax_cross_entropy, optimizer: sgd(lr = 0.01), fusion: $fusion,
            }
        }
    };
}

mlp_bn!(MlpBnFused, true);
mlp_bn!(MlpBnUnfused, false);
deep_narrow!(DeepNarrowFused, true);
deep_narrow!(DeepNarrowUnfused, false);

macro_rules! cnn_small {
    ($name:ident, $fusion:literal) => {
        network! {
            /// "cnn-small": 1×28×28 → conv 32 3×3 → batch_norm → relu → max_pool 2 → conv 64 3×3 →
            /// batch_norm → relu → max_pool 2 → flatten → dense 128 → relu → dense 10, Adam.
            pub struct $name {
                input: [1, 28, 28],
                conv1: conv2d(32, 3, padding = 1), bn1: batch_norm, act1: relu, pool1: max_pool2d(2),
                conv2: conv2d(64, 3, padding = 1), bn2: batch_norm, act2: relu, pool2: max_pool2d(2),
                flat: flatten, fc: dense(128), act3: relu, out: dense(10),
                loss: softmax_cross_entropy, optimizer: adam(lr = 0.001), fusion: $fusion,
            }
        }
    };
}

cnn_small!(CnnSmallFused, true);
cnn_small!(CnnSmallUnfused, false);
