//! A step whose update would make a parameter, its optimizer state or a running statistic
//! NaN or infinite returns `Err` and changes nothing: every update writes to a staged buffer
//! and the step commits only if all of them came out finite.

use gradc::ndarray::{Array2, ArrayD, IxDyn};
use gradc::{Error, Model, network};

network! {
    /// Plain SGD in f32.
    struct SgdF32 {
        input: [2],
        fc: dense(2),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

network! {
    /// Adam in f64, with an ε small enough that every step moves a weight by about lr.
    struct AdamF64 {
        input: [1],
        fc: dense(1, bias = false),
        loss: mse,
        optimizer: adam(lr = 0.1, eps = 1e-300),
        dtype: f64,
    }
}

network! {
    /// Adam in f32, whose second moment overflows before its parameters do.
    struct AdamF32 {
        input: [1],
        fc: dense(1, bias = false),
        loss: mse,
        optimizer: adam(lr = 0.001),
    }
}

network! {
    /// Momentum SGD in f32, whose buffer overflows.
    struct MomentumF32 {
        input: [1],
        fc: dense(1, bias = false),
        loss: mse,
        optimizer: momentum(lr = 0.01, beta = 0.9),
    }
}

network! {
    /// A batch norm on the input, whose running variance can overflow while the loss and
    /// every gradient stay finite.
    struct Normalized {
        input: [2],
        bn: batch_norm,
        out: dense(1),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

/// Everything a step may change: parameters (running statistics included), optimizer state
/// with its step counts, and the training state (learning rate, steps, generator).
fn state_of<M: Model>(net: &M) -> impl PartialEq + std::fmt::Debug + use<M> {
    let params: Vec<Vec<M::Scalar>> = net.params().values().to_vec();
    (params, net.optimizer().clone(), net.state().clone())
}

/// Runs one failing step and checks the error is `NonFiniteUpdate` of `param` and that the
/// network is exactly as before; returns the message.
fn assert_failed_update<M: Model>(net: &mut M, x: &Array2<M::Scalar>, y: &Array2<M::Scalar>, param: &str) -> String {
    let before = state_of(net);
    let error = net.train_step(x.view(), y).expect_err("the update overflows");
    assert!(matches!(error, Error::NonFiniteUpdate { param: p, .. } if p == param), "{error:?}");
    assert_eq!(state_of(net), before, "a failed update changed the network");
    error.to_string()
}

fn all_finite<M: Model>(net: &M) -> bool {
    net.params().values().iter().flatten().all(|v| v.as_f64().is_finite())
}

use gradc::Float as _;

#[test]
fn an_overflowing_sgd_update_changes_nothing() {
    // lr · g ≈ 1e30 · 1e10 overflows f32 although the loss and the gradients are finite.
    let mut net = SgdF32::new(1);
    net.set_lr(1e30).unwrap();
    let x = Array2::from_elem((2, 2), 1e5f32);
    let y = Array2::from_elem((2, 2), -1e5f32);
    let msg = assert_failed_update(&mut net, &x, &y, "fc.weight");
    assert!(msg.contains("update of `fc.weight`") && msg.contains("smaller learning rate"), "{msg}");
    // The network still trains once the learning rate is sane.
    net.set_lr(1e-12).unwrap();
    net.train_step(x.view(), &y).unwrap();
    assert!(all_finite(&net));
}

#[test]
fn adam_at_a_huge_f64_learning_rate_stops_before_overflowing() {
    // Each Adam step moves the weight by lr = 1.7e307 toward a far target, so the tenth or
    // so would pass f64::MAX. x and y keep the loss and the gradients finite throughout
    // (x = 1e-160, y = 1e150).
    let mut net = AdamF64::new(2);
    net.set_lr(1.7e307).unwrap();
    let x = Array2::from_elem((1, 1), 1e-160);
    let y = Array2::from_elem((1, 1), 1e150);
    let mut steps = 0;
    while net.train_step(x.view(), &y).is_ok() {
        assert!(all_finite(&net), "step {steps} left a non-finite parameter");
        steps += 1;
        assert!(steps < 20, "the weight cannot grow by 1.7e307 twenty times in f64");
    }
    assert!(steps >= 5, "only {steps} steps succeeded");
    assert_failed_update(&mut net, &x, &y, "fc.weight");
}

#[test]
fn an_overflowing_second_moment_is_caught_although_the_parameter_stays_finite() {
    // g = 2·w·x² with x = 3e10, w = 1: (1 − β₂)·g² ≈ 3e39 overflows f32's exp_avg_sq, which would make
    // every later step divide by infinity and freeze the parameter silently.
    let mut net = AdamF32::new(3);
    net.set_param("fc.weight", ArrayD::from_elem(IxDyn(&[1, 1]), 1.0f32).view()).unwrap();
    let x = Array2::from_elem((1, 1), 3e10f32);
    let y = Array2::from_elem((1, 1), 0.0f32);
    let msg = assert_failed_update(&mut net, &x, &y, "fc.weight");
    assert!(msg.contains("optimizer state"), "{msg}");
    assert_eq!(net.optimizer().step(0), 0);
}

#[test]
fn an_overflowing_momentum_buffer_is_caught() {
    // g ≈ 2e38 each step: the buffer b ← 0.9b + g passes f32::MAX on the second step. (A
    // learning rate of 0 keeps the weight, so the loss stays finite.)
    let mut net = MomentumF32::new(4);
    net.set_lr(0.0).unwrap();
    net.set_param("fc.weight", ArrayD::from_elem(IxDyn(&[1, 1]), 1.0f32).view()).unwrap();
    let x = Array2::from_elem((1, 1), 1e19f32);
    let y = Array2::from_elem((1, 1), 0.0f32);
    net.train_step(x.view(), &y).expect("the first buffer value, about 2e38, fits");
    let buffer = net.optimizer_state("fc.weight.momentum_buffer").unwrap()[[0, 0]];
    assert!(buffer.is_finite() && buffer > 1e38, "{buffer}");
    assert_failed_update(&mut net, &x, &y, "fc.weight");
}

#[test]
fn an_overflowing_running_statistic_is_caught() {
    // Inputs ±3e19 have a batch variance of about 9e38 > f32::MAX: the normalized values are 0,
    // so the loss and the gradients are finite, but the running variance would be infinite.
    let mut net = Normalized::new(5);
    let x = Array2::from_shape_vec((2, 2), vec![3e19f32, 1.0, -3e19, 2.0]).unwrap();
    let y = Array2::from_elem((2, 1), 0.5f32);
    let msg = assert_failed_update(&mut net, &x, &y, "bn.running_var");
    assert!(msg.contains("bn.running_var"), "{msg}");
    // A sane batch trains normally afterwards, running statistics included.
    let x = Array2::from_shape_vec((2, 2), vec![1.0f32, 1.0, -1.0, 2.0]).unwrap();
    net.train_step(x.view(), &y).unwrap();
    assert_eq!(net.param("bn.num_batches_tracked").unwrap().iter().next().copied(), Some(1.0));
}

#[test]
fn a_non_finite_gradient_is_still_reported_as_a_gradient() {
    // x = 1e38 and w = 1e-38: the loss is finite, the gradient 2·(p − t)·x about 2e40 is not.
    let mut net = MomentumF32::new(6);
    net.set_param("fc.weight", ArrayD::from_elem(IxDyn(&[1, 1]), 1e-38f32).view()).unwrap();
    let before = state_of(&net);
    let (x, y) = (Array2::from_elem((1, 1), 1e38f32), Array2::from_elem((1, 1), -100f32));
    let error = net.train_step(x.view(), &y).unwrap_err();
    assert!(matches!(error, Error::NonFiniteGradient { param: "fc.weight", .. }), "{error:?}");
    assert_eq!(state_of(&net), before);
}
