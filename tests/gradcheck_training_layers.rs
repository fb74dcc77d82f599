//! f64 central-difference checks for the training-time layers: batch norm in training mode
//! (γ, β and, through the layer before it, the input), dropout with a fixed mask, and the L1
//! (away from 0) and L2 penalties.

mod common;

use common::{Owned, gradient_check, matrix};
use gradc::{LossKind, network};

network! {
    struct BatchNormNet {
        input: [4],
        fc1: dense(5),
        bn1: batch_norm,
        act1: tanh,
        fc2: dense(4, bias = false),
        bn2: batch_norm(momentum = 0.3, eps = 1e-3),
        act2: gelu,
        out: dense(3),
        loss: softmax_cross_entropy,
        optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

network! {
    struct DropoutNet {
        input: [4],
        fc1: dense(6),
        act1: relu,
        drop1: dropout(0.5),
        out: dense(2),
        loss: mse,
        optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

network! {
    struct PenaltyNet {
        input: [4],
        fc1: dense(5, l1 = 0.03),
        act1: silu,
        fc2: dense(3),
        loss: binary_cross_entropy,
        optimizer: sgd(lr = 0.1),
        regularize: l1_l2(0.01, 0.2),
        dtype: f64,
    }
}

#[test]
fn batch_norm_in_training_mode() {
    let mut net = BatchNormNet::new(3);
    let x = matrix(7, 4, 5, 2.0);
    let targets = Owned::for_loss(LossKind::SoftmaxCrossEntropy, 7, 3, 1);
    let error = gradient_check(&mut net, &x, &targets);
    assert!(error < 1e-6, "relative error {error:e}");
    // Every learnable batch-norm parameter has a gradient; the running statistics do not.
    assert!(net.grad("bn1.weight").is_ok() && net.grad("bn2.bias").is_ok());
    assert!(net.grad("bn1.running_mean").is_err());
}

#[test]
fn dropout_with_a_fixed_mask() {
    let mut net = DropoutNet::new(8);
    let x = matrix(6, 4, 2, 1.0);
    let targets = Owned::for_loss(LossKind::MeanSquaredError, 6, 2, 4);
    let error = gradient_check(&mut net, &x, &targets);
    assert!(error < 1e-6, "relative error {error:e}");
}

#[test]
fn l1_and_l2_penalties() {
    let mut net = PenaltyNet::new(5);
    // Move every weight away from 0, where |w| has its kink.
    for name in ["fc1.weight", "fc2.weight"] {
        let w = net.param(name).unwrap().mapv(|v| if v.abs() < 0.05 { 0.1f64.copysign(v) } else { v });
        net.set_param(name, w.view()).unwrap();
    }
    let x = matrix(5, 4, 9, 1.0);
    let targets = Owned::for_loss(LossKind::BinaryCrossEntropy, 5, 3, 2);
    let error = gradient_check(&mut net, &x, &targets);
    assert!(error < 1e-6, "relative error {error:e}");
}

#[test]
fn the_penalty_is_part_of_the_reported_loss() {
    let mut net = PenaltyNet::new(5);
    let x = matrix(5, 4, 9, 1.0);
    let targets = Owned::for_loss(LossKind::BinaryCrossEntropy, 5, 3, 2);
    let with_penalty = net.loss_and_grads(x.view(), targets.targets()).unwrap().loss;
    let w1 = net.param("fc1.weight").unwrap().to_owned();
    let w2 = net.param("fc2.weight").unwrap().to_owned();
    // fc1: its own l1 = 0.03 replaces the network's 0.01; its l2 stays 0.2.
    let penalty = 0.03 * w1.mapv(f64::abs).sum()
        + 0.1 * w1.mapv(|v| v * v).sum()
        + 0.01 * w2.mapv(f64::abs).sum()
        + 0.1 * w2.mapv(|v| v * v).sum();
    for name in ["fc1.weight", "fc2.weight"] {
        net.set_param(name, net.param(name).unwrap().mapv(|_| 0.0).view()).unwrap();
    }
    let _ = net.loss_and_grads(x.view(), targets.targets()).unwrap();
    let mut zero = PenaltyNet::new(5);
    zero.set_param("fc1.weight", w1.view()).unwrap();
    zero.set_param("fc2.weight", w2.view()).unwrap();
    let data_loss = {
        // The same network without any penalty: compare through the prediction.
        let z = zero.forward(x.view()).unwrap();
        let Owned::Values(t) = &targets else { unreachable!() };
        let total: f64 = z.iter().zip(t.iter()).map(|(&z, &t)| z.max(0.0) - z * t + (-z.abs()).exp().ln_1p()).sum();
        total / z.len() as f64
    };
    assert!((with_penalty - (data_loss + penalty)).abs() < 1e-12, "{with_penalty} vs {data_loss} + {penalty}");
}
