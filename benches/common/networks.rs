//! The two benchmark networks of issue 3, each compiled with and without fusion; shared by
//! `benches/train_step.rs` and `examples/fusion_speed.rs`.

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
