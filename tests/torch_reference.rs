//! gradc against PyTorch: for each fixture network, the evaluation output, the loss, every
//! gradient, the whole state (batch-norm running statistics included) after three SGD steps,
//! and the evaluation output after them match PyTorch to 1e-5 relative (f32). The fixtures
//! come from `tools/make_fixtures.py`; the weights load through the strict `load`.

mod common;

use std::path::Path;

use common::{fixture_tensor, relative_error};

use gradc::ndarray::{Array2, ArrayD};
use gradc::{Model, Targets, network};
use safetensors::SafeTensors;

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

struct Fixture {
    bytes: Vec<u8>,
}

impl Fixture {
    fn open(case: &str) -> (Fixture, std::path::PathBuf) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let bytes = std::fs::read(dir.join(format!("{case}.data.safetensors"))).unwrap();
        (Fixture { bytes }, dir.join(format!("{case}.weights.safetensors")))
    }

    /// A fixture tensor as f32, the networks' type.
    fn tensor(&self, name: &str) -> Option<ArrayD<f32>> {
        fixture_tensor(&SafeTensors::deserialize(&self.bytes).unwrap(), name).map(|t| t.mapv(|v| v as f32))
    }
}

fn relative(actual: &ArrayD<f32>, expected: &ArrayD<f32>) -> f64 {
    relative_error(&actual.mapv(f64::from), &expected.mapv(f64::from))
}

fn check<M: Model<Scalar = f32>>(case: &str, mut net: M) {
    let (data, weights) = Fixture::open(case);
    net.load(&weights).unwrap();
    let x: Array2<f32> = data.tensor("x").unwrap().into_dimensionality().unwrap();
    let labels: Option<Vec<usize>> = data.tensor("labels").map(|l| l.iter().map(|&v| v as usize).collect());
    let values: Option<Array2<f32>> = data.tensor("targets").map(|t| t.into_dimensionality().unwrap());
    let targets = || match (&labels, &values) {
        (Some(l), _) => Targets::Classes(l),
        (None, Some(v)) => Targets::Values(v.view()),
        (None, None) => panic!("fixture has no targets"),
    };
    let mut report = Vec::new();

    let eval = net.forward(x.view()).unwrap().into_dyn();
    report.push(("evaluation output before".to_string(), relative(&eval, &data.tensor("eval_logits_before").unwrap())));
    let stats = net.loss_and_grads(x.view(), targets()).unwrap();
    let expected_loss = f64::from(data.tensor("loss").unwrap().into_iter().next().unwrap());
    report.push(("loss".into(), (stats.loss - expected_loss).abs() / expected_loss.abs()));
    let learnable = M::info().params.iter().filter(|s| s.differentiable).map(|s| s.name);
    for name in learnable {
        let grad = net.grad(name).unwrap().to_owned();
        report.push((format!("grad {name}"), relative(&grad, &data.tensor(&format!("grad.{name}")).unwrap())));
    }
    for _ in 0..3 {
        net.train_step(x.view(), targets()).unwrap();
    }
    for name in net.param_names() {
        let value = net.param(name).unwrap().to_owned();
        report
            .push((format!("after 3 steps {name}"), relative(&value, &data.tensor(&format!("after.{name}")).unwrap())));
    }
    let worst = report.iter().map(|r| r.1).fold(0.0, f64::max);
    println!("{case}: worst relative error {worst:.2e}");
    if std::env::var_os("GRADC_REPORT").is_some() {
        report.iter().for_each(|(what, e)| println!("  {what}: {e:.2e}"));
    }
    for (what, error) in &report {
        assert!(*error < TOLERANCE, "{case}: {what} differs from PyTorch by {error:e} (relative)");
    }
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
