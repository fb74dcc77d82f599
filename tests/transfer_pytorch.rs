//! Weights pretrained in PyTorch: a network with batch norm trained on digits 0–4
//! (`tools/make_transfer_fixture.py`) loads into gradc networks that reuse its backbone with
//! a new head, through a non-strict load with a prefix map, and computes the same
//! evaluation-mode hidden features as PyTorch.

use gradc::{NameMap, network};

network! {
    /// The pretrained backbone, ending at its hidden features, in f64 like the reference.
    struct Backbone {
        input: [64],
        fc1: dense(32), bn1: batch_norm, act1: relu,
        fc2: dense(16), act2: relu,
        loss: mse, optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

network! {
    /// The same backbone in f32, as the weights were saved.
    struct Backbone32 {
        input: [64],
        fc1: dense(32), bn1: batch_norm, act1: relu,
        fc2: dense(16), act2: relu,
        loss: mse, optimizer: sgd(lr = 0.1),
    }
}

network! {
    /// The backbone with a new head for digits 5–9.
    struct Transferred {
        input: [64],
        fc1: dense(32), bn1: batch_norm, act1: relu,
        fc2: dense(16), act2: relu,
        new_head: dense(5),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
    }
}

const WEIGHTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/transfer/digits04.safetensors");
const FEATURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/transfer/digits59_features.safetensors");

fn tensor(file: &safetensors::SafeTensors, name: &str) -> Vec<f64> {
    let data = file.tensor(name).unwrap().data().to_vec();
    match file.tensor(name).unwrap().dtype() {
        safetensors::Dtype::F64 => data.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect(),
        _ => data.chunks_exact(4).map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap()))).collect(),
    }
}

/// The largest difference from `expected`, relative to the value (or 1 below it).
fn worst(actual: impl Iterator<Item = f64>, expected: &[f64]) -> f64 {
    actual.zip(expected).map(|(a, b)| (a - b).abs() / b.abs().max(1.0)).fold(0.0, f64::max)
}

#[test]
fn pytorch_weights_load_into_a_new_head_network_with_a_prefix_map() {
    let mut net = Transferred::new(1);
    let head = net.param("new_head.weight").unwrap().to_owned();
    let report = net.load_partial(WEIGHTS, &NameMap::new().strip_prefix("backbone.")).unwrap();
    assert_eq!(report.loaded.len(), 9, "{report}");
    assert_eq!(report.missing, ["new_head.weight", "new_head.bias"]);
    assert_eq!(report.unexpected, ["head.bias", "head.weight"]);
    assert!(report.mismatched.is_empty());
    assert_eq!(net.param("new_head.weight").unwrap(), head);
    // PyTorch's counter came along as an integer.
    assert!(net.param("bn1.num_batches_tracked").unwrap()[[]] > 0.0);
}

#[test]
fn the_loaded_backbone_computes_pytorchs_evaluation_features() {
    let bytes = std::fs::read(FEATURES).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (inputs, expected) = (tensor(&file, "inputs"), tensor(&file, "features"));
    assert!(expected.iter().any(|&v| v > 0.1), "the fixture's features are not all zero");
    let x = gradc::ndarray::Array2::from_shape_vec((inputs.len() / 64, 64), inputs).unwrap();
    let map = NameMap::new().strip_prefix("backbone.");

    let mut backbone = Backbone::new(1);
    let report = backbone.load_partial(WEIGHTS, &map).unwrap();
    assert!(report.missing.is_empty() && report.mismatched.is_empty(), "{report}");
    let features = backbone.forward(x.view()).unwrap();
    let error = worst(features.iter().copied(), &expected);
    assert!(error < 1e-6, "f64 features differ from PyTorch's by {error:e}");

    let mut backbone = Backbone32::new(1);
    backbone.load_partial(WEIGHTS, &map).unwrap();
    let features = backbone.forward(x.mapv(|v| v as f32).view()).unwrap();
    let error = worst(features.iter().map(|&v| f64::from(v)), &expected);
    assert!(error < 1e-6, "f32 features differ from PyTorch's by {error:e}");
}
