//! Optimizer state: by name, saved and loaded with the step count, untouched by a failed
//! step, absent for frozen parameters; and the clip norm bounds the update.

mod common;

use common::{matrix, snapshot};
use gradc::ndarray::{Array2, ArrayD, IxDyn};
use gradc::{Model, network};

network! {
    struct AdamNet {
        input: [4], #[frozen] base: dense(5), act: tanh, head: dense(3),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
    }
}

network! {
    struct Clipped {
        input: [4], fc: dense(3), loss: mse, optimizer: sgd(lr = 0.5, clip_norm = 0.01), dtype: f64,
    }
}

fn batch() -> (Array2<f32>, Vec<usize>) {
    (matrix(6, 4, 3, 1.0).mapv(|v| v as f32), vec![0, 1, 2, 0, 1, 2])
}

fn states(net: &AdamNet) -> Vec<ArrayD<f32>> {
    ["head.weight.exp_avg", "head.weight.exp_avg_sq", "head.bias.exp_avg", "head.bias.exp_avg_sq"]
        .iter()
        .map(|n| net.optimizer_state(n).unwrap().to_owned())
        .collect()
}

#[test]
fn state_is_named_like_pytorch_and_frozen_parameters_have_none() {
    let (x, y) = batch();
    let mut net = AdamNet::new(1);
    net.train_step(x.view(), &y).unwrap();
    assert!(states(&net).iter().all(|s| s.iter().any(|&v| v != 0.0)));
    let error = net.optimizer_state("base.weight.exp_avg").unwrap_err().to_string();
    assert!(error.contains("head.weight.exp_avg"), "{error}");
    assert!(net.optimizer_state("head.weight.momentum_buffer").is_err());
}

#[test]
fn saved_state_resumes_training_exactly() {
    let (x, y) = batch();
    let dir = std::env::temp_dir().join(format!("gradc-opt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut a = AdamNet::new(1);
    for _ in 0..3 {
        a.train_step(x.view(), &y).unwrap();
    }
    a.save(dir.join("w.safetensors")).unwrap();
    a.save_optimizer(dir.join("o.safetensors")).unwrap();
    let mut b = AdamNet::new(2);
    b.load(dir.join("w.safetensors")).unwrap();
    b.load_optimizer(dir.join("o.safetensors")).unwrap();
    assert_eq!(b.state().steps, 3);
    for _ in 0..2 {
        a.train_step(x.view(), &y).unwrap();
        b.train_step(x.view(), &y).unwrap();
    }
    assert_eq!(snapshot(&a), snapshot(&b));
    assert_eq!(states(&a), states(&b));
    // A weights file is not an optimizer file: rejected, nothing changed.
    let before = states(&b);
    assert!(b.load_optimizer(dir.join("w.safetensors")).is_err());
    assert_eq!(states(&b), before);
    assert_eq!(b.state().steps, 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_step_with_non_finite_gradients_changes_nothing() {
    let (x, y) = batch();
    let mut net = AdamNet::new(1);
    net.train_step(x.view(), &y).unwrap();
    net.set_param("head.weight", (ArrayD::ones(IxDyn(&[3, 5])) * f32::MAX).view()).unwrap();
    let (params, state, steps) = (snapshot(&net), states(&net), net.state().steps);
    assert!(net.train_step(x.view(), &y).is_err());
    assert_eq!(snapshot(&net), params);
    assert_eq!(states(&net), state);
    assert_eq!(net.state().steps, steps);
    for bad in [f64::NAN, f64::INFINITY, -1.0] {
        assert!(net.set_lr(bad).is_err());
    }
}

#[test]
fn clip_norm_bounds_the_step() {
    let mut net = Clipped::new(3);
    let x = matrix(8, 4, 1, 3.0);
    let y = matrix(8, 3, 2, 5.0);
    let before: Vec<f64> =
        net.param_names().iter().flat_map(|n| net.param(n).unwrap().iter().copied().collect::<Vec<_>>()).collect();
    net.train_step(x.view(), &y).unwrap();
    let after: Vec<f64> =
        net.param_names().iter().flat_map(|n| net.param(n).unwrap().iter().copied().collect::<Vec<_>>()).collect();
    let moved = before.iter().zip(&after).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
    // The raw gradient is far larger than 0.01, so the step is lr · 0.01 (up to the 1e-6).
    assert!((moved - 0.5 * 0.01).abs() < 1e-6, "moved {moved}");
    assert!(Clipped::TRAIN_IR.contains("clip_scale[0.01]"));
}

network! {
    struct TwoLayers {
        input: [4], body: dense(5), act: relu, head: dense(3),
        loss: softmax_cross_entropy, optimizer: momentum(lr = 0.1),
    }
}

#[test]
fn a_parameter_made_untrainable_gets_no_update_and_no_state() {
    let (x, y) = batch();
    let mut net = TwoLayers::new(4);
    net.train_step(x.view(), &y).unwrap();
    net.set_trainable("body", false).unwrap();
    assert!(net.optimizer_state("body.weight.momentum_buffer").is_err());
    let body = net.param("body.weight").unwrap().to_owned();
    let head = net.param("head.weight").unwrap().to_owned();
    net.train_step(x.view(), &y).unwrap();
    assert_eq!(net.param("body.weight").unwrap(), body.view());
    assert_ne!(net.param("head.weight").unwrap(), head.view());
    net.set_trainable("body", true).unwrap();
    assert!(net.optimizer_state("body.weight.momentum_buffer").unwrap().iter().all(|&v| v == 0.0));
}
