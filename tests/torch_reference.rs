//! gradc against PyTorch: for each fixture network, the evaluation output, the loss, every
//! gradient, the whole state (batch-norm running statistics included) after three SGD steps,
//! and the evaluation output after them match PyTorch to 1e-5 relative (f32). The fixtures
//! come from `tools/make_fixtures.py`; the weights load through the strict `load`.

mod common;

use common::{assert_report_within, fixture_report};
use gradc::{Model, network};

network! {
    struct PreluSoftmaxCe {
        input: [6], fc1: dense(5), act1: prelu, fc2: dense(4), act2: tanh, out: dense(3),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

network! {
    struct GeluPreluBce {
        input: [5], fc1: dense(6), act1: gelu, fc2: dense(4), act2: prelu(init = 0.1, per_unit = true), out: dense(3),
        loss: binary_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

network! {
    struct SeluEluSiluLeakyMse {
        input: [4], fc1: dense(6), act1: selu, fc2: dense(5), act2: elu(0.5), fc3: dense(5), act3: silu,
        fc4: dense(4), act4: leaky_relu(0.05), out: dense(2),
        loss: mse, optimizer: sgd(lr = 0.1),
    }
}

network! {
    struct SigmoidGeluTanhReluCe {
        input: [5], fc1: dense(7), act1: sigmoid, fc2: dense(6), act2: gelu(approximate = tanh),
        fc3: dense(5), act3: relu, out: dense(4),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

network! {
    struct BatchNormCe {
        input: [6], fc1: dense(8), bn1: batch_norm, act1: relu,
        fc2: dense(5), bn2: batch_norm(momentum = 0.2, eps = 1e-3), act2: tanh, out: dense(3),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

const TOLERANCE: f64 = 1e-5;

fn check<M: Model<Scalar = f32>>(case: &str, mut net: M) {
    let report = fixture_report("", case, &mut net, 3);
    assert_report_within(case, &report, TOLERANCE);
}

#[test]
fn prelu_softmax_cross_entropy_matches_pytorch() {
    check("prelu_softmax_ce", PreluSoftmaxCe::new(0));
}

#[test]
fn gelu_prelu_binary_cross_entropy_matches_pytorch() {
    check("gelu_prelu_bce", GeluPreluBce::new(0));
}

#[test]
fn selu_elu_silu_leaky_mse_matches_pytorch() {
    check("selu_elu_silu_leaky_mse", SeluEluSiluLeakyMse::new(0));
}

#[test]
fn sigmoid_gelu_tanh_relu_cross_entropy_matches_pytorch() {
    check("sigmoid_gelu_tanh_relu_ce", SigmoidGeluTanhReluCe::new(0));
}

#[test]
fn batch_norm_matches_pytorch_in_training_and_evaluation() {
    check("batch_norm_ce", BatchNormCe::new(0));
}
