//! Bad input at run time returns `Err` with a clear message and leaves the network exactly
//! as it was: parameters, learning rate, step count.

mod common;

use common::snapshot;
use gradc::ndarray::{Array2, ArrayD, IxDyn, array};
use gradc::{Error, Model, network};

network! {
    struct Classifier {
        input: [3],
        fc: dense(4),
        act: relu,
        out: dense(2),
        loss: softmax_cross_entropy,
        optimizer: sgd(lr = 0.5),
    }
}

network! {
    struct Probabilities {
        input: [2],
        out: dense(2),
        loss: binary_cross_entropy,
        optimizer: sgd(lr = 0.5),
    }
}

network! {
    struct Scale {
        input: [1],
        fc: dense(1, bias = false),
        loss: mse,
        optimizer: sgd(lr = 0.1),
    }
}

fn batch() -> Array2<f32> {
    array![[0.1, 0.2, 0.3], [-0.5, 0.4, 1.0]]
}

/// Runs `bad` on a trained network and checks it failed without changing anything.
fn assert_unchanged<M: Model>(net: &mut M, bad: impl FnOnce(&mut M) -> Result<(), Error>) -> String
where
    M::Scalar: PartialEq,
{
    let before = snapshot(net);
    let (lr, steps) = (net.state().lr, net.state().steps);
    let error = bad(net).expect_err("bad input must be rejected");
    assert_eq!(snapshot(net), before, "parameters changed after: {error}");
    assert_eq!((net.state().lr, net.state().steps), (lr, steps), "state changed after: {error}");
    error.to_string()
}

fn trained() -> Classifier {
    let mut net = Classifier::new(3);
    net.train_step(batch().view(), &[0, 1]).unwrap();
    net
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gradc-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn wrong_input_width() {
    let msg = assert_unchanged(&mut trained(), |n| n.train_step(Array2::zeros((2, 4)).view(), &[0, 1]).map(drop));
    assert_eq!(msg, "input has 4 features per example, but the network expects 3");
    assert!(trained().forward(Array2::zeros((1, 2)).view()).is_err());
}

#[test]
fn empty_batch() {
    let msg = assert_unchanged(&mut trained(), |n| n.train_step(Array2::zeros((0, 3)).view(), &[]).map(drop));
    assert!(msg.contains("empty batch"), "{msg}");
    assert!(trained().forward(Array2::zeros((0, 3)).view()).is_err());
}

#[test]
fn target_count() {
    let msg = assert_unchanged(&mut trained(), |n| n.train_step(batch().view(), &[0]).map(drop));
    assert_eq!(msg, "got 1 targets for a batch of 2 examples");
}

#[test]
fn class_index_out_of_range() {
    let msg = assert_unchanged(&mut trained(), |n| n.train_step(batch().view(), &[0, 2]).map(drop));
    assert_eq!(msg, "class index 2 of example 1 is out of range: the network has 2 classes (0..2)");
}

#[test]
fn wrong_kind_of_targets() {
    let values = Array2::<f32>::zeros((2, 2));
    let msg = assert_unchanged(&mut trained(), |n| n.train_step(batch().view(), &values).map(drop));
    assert!(msg.contains("takes class indices"), "{msg}");
    let mut probs = Probabilities::new(1);
    let msg = assert_unchanged(&mut probs, |n| n.train_step(Array2::zeros((2, 2)).view(), &[0, 1]).map(drop));
    assert!(msg.contains("[batch, outputs] matrix"), "{msg}");
}

#[test]
fn binary_targets_outside_zero_one() {
    let mut net = Probabilities::new(1);
    let targets = array![[0.0f32, 1.0], [0.5, 1.5]];
    let msg = assert_unchanged(&mut net, |n| n.train_step(Array2::zeros((2, 2)).view(), &targets).map(drop));
    assert!(msg.contains("column 1") && msg.contains("[0, 1]"), "{msg}");
}

#[test]
fn non_finite_input() {
    let mut x = batch();
    x[[1, 2]] = f32::NAN;
    let msg = assert_unchanged(&mut trained(), |n| n.train_step(x.view(), &[0, 1]).map(drop));
    assert!(msg.contains("example 1, feature 2"), "{msg}");
}

#[test]
fn non_finite_loss_leaves_parameters_unchanged() {
    // Finite inputs whose products overflow f32: the loss and gradients become infinite or NaN.
    let x = Array2::from_elem((2, 3), 1e30f32);
    let mut net = trained();
    net.set_param("fc.weight", (ArrayD::ones(IxDyn(&[4, 3])) * 1e10f32).view()).unwrap();
    let msg = assert_unchanged(&mut net, |n| n.train_step(x.view(), &[0, 1]).map(drop));
    assert!(msg.contains("not finite"), "{msg}");
}

#[test]
fn a_non_finite_gradient_is_reported_as_such() {
    // x = 1e38 and w = 1e-38: the prediction is about 1 and the loss finite, but the weight's
    // gradient 2·(p − t)·x is about 2e40, beyond f32.
    let mut net = Scale::new(0);
    net.set_param("fc.weight", ArrayD::from_elem(IxDyn(&[1, 1]), 1e-38f32).view()).unwrap();
    let (x, t) = (Array2::from_elem((1, 1), 1e38f32), Array2::from_elem((1, 1), -100f32));
    let msg = assert_unchanged(&mut net, |n| n.train_step(x.view(), &t).map(drop));
    assert!(msg.contains("gradient of `fc.weight` is not finite"), "{msg}");
    assert!(!msg.contains("NaN"), "the loss is finite and reported as such: {msg}");
}

#[test]
fn a_failed_step_leaves_the_failed_attempts_gradients_readable() {
    // What a failed step leaves is documented: parameters, optimizer state, learning rate, step
    // count and generator as they were, and `grad` showing the failed attempt's gradients (to
    // find where a non-finite value came from).
    let x = Array2::from_elem((2, 3), 1e30f32);
    let mut net = trained();
    net.set_param("fc.weight", (ArrayD::ones(IxDyn(&[4, 3])) * 1e10f32).view()).unwrap();
    let good = net.grad("out.weight").unwrap().to_owned();
    assert_unchanged(&mut net, |n| n.train_step(x.view(), &[0, 1]).map(drop));
    let after = net.grad("fc.weight").unwrap().to_owned();
    assert!(after.iter().any(|g| !g.is_finite()), "{after}");
    assert_ne!(net.grad("out.weight").unwrap(), good);
}

#[test]
fn bad_learning_rate() {
    let mut net = trained();
    for lr in [f64::NAN, f64::INFINITY, -0.1, 1e39] {
        let msg = assert_unchanged(&mut net, |n| n.set_lr(lr));
        assert!(msg.contains("learning rate"), "{msg}");
    }
    // Finite in f64 but not in the f32 network, also through a layer's scale.
    net.set_lr(1e38).unwrap();
    let msg = assert_unchanged(&mut net, |n| n.set_lr_scale("fc", 10.0));
    assert!(msg.contains("float type"), "{msg}");
    net.set_lr(0.25).unwrap();
    assert_eq!(net.lr(), 0.25);
}

#[test]
fn unknown_names_and_wrong_shapes() {
    let mut net = trained();
    let msg = assert_unchanged(&mut net, |n| n.set_param("fc.wieght", ArrayD::zeros(IxDyn(&[4, 3])).view()));
    assert!(msg.contains("no parameter named `fc.wieght`") && msg.contains("fc.weight"), "{msg}");
    let msg = assert_unchanged(&mut net, |n| n.set_param("fc.weight", ArrayD::zeros(IxDyn(&[3, 4])).view()));
    assert_eq!(msg, "`fc.weight` has shape [3, 4], but the network expects [4, 3]");
    let msg = assert_unchanged(&mut net, |n| n.set_trainable("nope", false));
    assert!(msg.contains("no layer with parameters named `nope`"), "{msg}");
    assert!(net.param("out.bias").is_ok());
    assert!(net.grad("missing").is_err());
}

#[test]
fn gradients_before_any_step_are_an_error() {
    let net = Classifier::new(0);
    let msg = net.grad("fc.weight").unwrap_err().to_string();
    assert!(msg.contains("run loss_and_grads or train_step first"), "{msg}");
}

fn weights_error(bytes: &[u8]) -> String {
    let path = temp(&format!("w{}.safetensors", bytes.len()));
    std::fs::write(&path, bytes).unwrap();
    let msg = assert_unchanged(&mut trained(), |n| n.load(&path));
    std::fs::remove_file(&path).unwrap();
    msg
}

/// A weights file holding `tensors` (name, dtype, shape, little-endian bytes).
fn weights_file(tensors: &[(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<_> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.to_string(), safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, None).unwrap()
}

fn f32_bytes(n: usize) -> Vec<u8> {
    (0..n).flat_map(|i| (i as f32 * 0.01).to_le_bytes()).collect()
}

fn good_tensors() -> Vec<(&'static str, safetensors::Dtype, Vec<usize>, Vec<u8>)> {
    use safetensors::Dtype::F32;
    vec![
        ("fc.weight", F32, vec![4, 3], f32_bytes(12)),
        ("fc.bias", F32, vec![4], f32_bytes(4)),
        ("out.weight", F32, vec![2, 4], f32_bytes(8)),
        ("out.bias", F32, vec![2], f32_bytes(2)),
    ]
}

#[test]
fn weights_file_missing_tensor() {
    let mut tensors = good_tensors();
    tensors.remove(1);
    let msg = weights_error(&weights_file(&tensors));
    assert!(msg.contains("missing tensor `fc.bias`"), "{msg}");
}

#[test]
fn weights_file_wrong_shape() {
    let mut tensors = good_tensors();
    tensors[0].2 = vec![3, 4];
    let msg = weights_error(&weights_file(&tensors));
    assert!(msg.contains("`fc.weight` has shape [3, 4], but the network expects [4, 3]"), "{msg}");
}

#[test]
fn weights_file_wrong_dtype() {
    let mut tensors = good_tensors();
    tensors[3] = ("out.bias", safetensors::Dtype::F64, vec![2], (0..2).flat_map(|_| 1.0f64.to_le_bytes()).collect());
    let msg = weights_error(&weights_file(&tensors));
    assert!(msg.contains("`out.bias` has dtype F64, but the network is f32"), "{msg}");
}

#[test]
fn weights_file_unexpected_tensor() {
    let mut tensors = good_tensors();
    tensors.push(("head.weight", safetensors::Dtype::F32, vec![1], f32_bytes(1)));
    let msg = weights_error(&weights_file(&tensors));
    assert!(msg.contains("unexpected tensors not in the network: head.weight"), "{msg}");
}

#[test]
fn weights_file_corrupt_bytes() {
    let good = weights_file(&good_tensors());
    for bytes in [&good[..good.len() - 3], &good[..10], b"not a weights file at all".as_slice()] {
        let msg = weights_error(bytes);
        assert!(msg.contains("not a valid safetensors file") || msg.contains("not a safetensors file"), "{msg}");
    }
    // A header length that cannot fit the file is refused before the file is read whole.
    let mut huge_header = (u64::MAX / 2).to_le_bytes().to_vec();
    huge_header.extend_from_slice(b"{}");
    let msg = weights_error(&huge_header);
    assert!(msg.contains("does not fit the file"), "{msg}");
    if std::path::Path::new("/dev/zero").exists() {
        let msg = assert_unchanged(&mut trained(), |n| n.load("/dev/zero"));
        assert!(msg.contains("not a safetensors file"), "{msg}");
    }
    let msg = assert_unchanged(&mut trained(), |n| n.load(temp("does-not-exist.safetensors")));
    assert!(msg.contains("does-not-exist"), "{msg}");
}

#[test]
fn good_weights_file_loads() {
    let path = temp("good.safetensors");
    std::fs::write(&path, weights_file(&good_tensors())).unwrap();
    let mut net = trained();
    net.load(&path).unwrap();
    assert_eq!(net.param("out.bias").unwrap().as_slice().unwrap(), &[0.0, 0.01]);
}

#[test]
fn save_then_load_round_trips_exactly() {
    let path = temp("round-trip.safetensors");
    let mut net = trained();
    for _ in 0..3 {
        net.train_step(batch().view(), &[1, 0]).unwrap();
    }
    net.save(&path).unwrap();
    let mut other = Classifier::new(99);
    assert_ne!(snapshot(&other), snapshot(&net));
    other.load(&path).unwrap();
    assert_eq!(snapshot(&other), snapshot(&net));
    assert_eq!(other.forward(batch().view()).unwrap(), net.forward(batch().view()).unwrap());
}
