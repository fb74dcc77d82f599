//! Hidden activations and their statistics: every layer's output checked against values
//! computed here from the parameters, the last one against `forward`, and the statistics
//! against counts made here.

use gradc::data::{self, Dataset};
use gradc::ndarray::{Array1, Array2, ArrayView2, Axis, Ix2, s};
use gradc::{FitOptions, Mode, Model, Verbosity, network};

network! {
    /// Every kind of dense-network layer, batch norm unfolded only in `activations`.
    struct Mlp {
        input: [64],
        fc1: dense(32), bn1: batch_norm, act1: relu, drop1: dropout(0.3),
        fc2: dense(16), act2: sigmoid,
        fc3: dense(12), act3: tanh, slope: prelu,
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

network! {
    /// Dropout first: its evaluation-mode output is the input itself.
    struct DropoutFirst {
        input: [4],
        drop: dropout(0.5), fc: dense(3), act: relu,
        out: dense(2),
        loss: mse, optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

network! {
    /// Batch norm without dropout: the training step's output is the training-mode inspection's.
    struct Normed {
        input: [64],
        fc1: dense(24), bn1: batch_norm, act1: relu,
        out: dense(10),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

network! {
    struct ResidualCnn {
        input: [2, 7, 6],
        stem: conv2d(3, 3, padding = 1), act: relu,
        res1: residual { conv2d(3, 3, padding = 1), batch_norm, relu, conv2d(3, 3, padding = same) },
        res2: residual(project = conv1x1) { a: conv2d(4, 3, stride = 2, padding = 1), b: tanh, c: conv2d(4, 1) },
        gap: global_avg_pool, out: dense(2),
        loss: mse, optimizer: sgd(0.1), dtype: f64,
    }
}

fn digits() -> Dataset<f64> {
    data::digits().unwrap()
}

fn matrix(net: &impl Model<Scalar = f64>, name: &str) -> Array2<f64> {
    net.param(name).unwrap().into_dimensionality::<Ix2>().unwrap().to_owned()
}

fn vector(net: &impl Model<Scalar = f64>, name: &str) -> Array1<f64> {
    net.param(name).unwrap().iter().copied().collect()
}

fn dense(net: &impl Model<Scalar = f64>, layer: &str, x: ArrayView2<'_, f64>) -> Array2<f64> {
    x.dot(&matrix(net, &format!("{layer}.weight")).t()) + vector(net, &format!("{layer}.bias"))
}

fn close(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, tolerance: f64, what: &str) {
    assert_eq!(a.dim(), b.dim(), "{what}: shapes");
    let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(worst <= tolerance, "{what}: off by {worst:e}");
}

/// A trained `Mlp`, so that batch norm's running statistics and the PReLU slopes are not
/// their initial values.
fn trained_mlp() -> Mlp {
    let train = digits();
    let mut net = Mlp::new(7);
    net.fit(&train, &FitOptions::new().epochs(2).batch_size(64).seed(1).quiet()).unwrap();
    net
}

#[test]
fn every_layer_output_is_the_textbook_computation() {
    let net = trained_mlp();
    let x = digits().features.slice(s![..40, ..]).to_owned();
    let acts = net.activations(x.view(), Mode::Evaluation).unwrap();
    let names: Vec<&str> = acts.layers().iter().map(|l| l.name).collect();
    assert_eq!(names, ["fc1", "bn1", "act1", "drop1", "fc2", "act2", "fc3", "act3", "slope", "out"]);
    let get = |name: &str| acts.get(name).unwrap().into_dimensionality::<Ix2>().unwrap().to_owned();

    let fc1 = dense(&net, "fc1", x.view());
    close(get("fc1").view(), fc1.view(), 1e-12, "fc1");
    // Evaluation-mode batch norm: (x − running mean) / √(running var + ε) · γ + β.
    let (mean, var) = (vector(&net, "bn1.running_mean"), vector(&net, "bn1.running_var"));
    let (gamma, beta) = (vector(&net, "bn1.weight"), vector(&net, "bn1.bias"));
    let bn1 = (&fc1 - &mean) / var.mapv(|v| (v + 1e-5).sqrt()) * &gamma + &beta;
    close(get("bn1").view(), bn1.view(), 1e-12, "bn1");
    let act1 = bn1.mapv(|v| v.max(0.0));
    close(get("act1").view(), act1.view(), 1e-12, "act1");
    // Dropout is the identity in evaluation mode.
    close(get("drop1").view(), act1.view(), 1e-12, "drop1");
    let fc2 = dense(&net, "fc2", act1.view());
    close(get("fc2").view(), fc2.view(), 1e-12, "fc2");
    let act2 = fc2.mapv(|v| 1.0 / (1.0 + (-v).exp()));
    close(get("act2").view(), act2.view(), 1e-12, "act2");
    let act3 = dense(&net, "fc3", act2.view()).mapv(f64::tanh);
    close(get("act3").view(), act3.view(), 1e-12, "act3");
    // PReLU: one learned slope per layer (PyTorch's default num_parameters = 1).
    let slope = net.param("slope.weight").unwrap()[[0]];
    assert_ne!(slope, 0.25, "the slope trained");
    let prelu = act3.mapv(|v| if v >= 0.0 { v } else { slope * v });
    close(get("slope").view(), prelu.view(), 1e-12, "slope");
    let out = dense(&net, "out", prelu.view());
    close(get("out").view(), out.view(), 1e-12, "out");
    // `forward` folds batch norm into fc1: the same values up to rounding.
    close(get("out").view(), net.forward(x.view()).unwrap().view(), 1e-10, "forward");
}

#[test]
fn a_layer_that_passes_its_input_through_shows_the_input() {
    let net = DropoutFirst::new(3);
    let x = Array2::from_shape_fn((5, 4), |(r, c)| (r as f64 - 2.0) * 0.3 + c as f64 * 0.1);
    let acts = net.activations(x.view(), Mode::Evaluation).unwrap();
    close(acts.get("drop").unwrap().into_dimensionality::<Ix2>().unwrap(), x.view(), 0.0, "drop");
    let out = acts.get("out").unwrap().into_dimensionality::<Ix2>().unwrap().to_owned();
    close(out.view(), net.forward(x.view()).unwrap().view(), 1e-12, "out");
}

#[test]
fn image_layers_keep_their_shape_and_blocks_end_in_forward() {
    let net = ResidualCnn::new(5);
    let x = Array2::from_shape_fn((3, 2 * 7 * 6), |(r, c)| ((r * 31 + c * 7) % 23) as f64 / 23.0 - 0.5);
    let acts = net.activations(x.view(), Mode::Evaluation).unwrap();
    let info = ResidualCnn::info();
    assert_eq!(acts.layers().len(), info.layers.len());
    for (layer, info) in acts.layers().iter().zip(info.layers) {
        let mut expected = vec![3];
        expected.extend(info.output_shape);
        assert_eq!(layer.values.shape(), &expected[..], "{}", layer.name);
    }
    assert_eq!(acts.get("stem").unwrap().shape(), &[3, 3, 7, 6]);
    let stem = acts.get("stem").unwrap().to_owned();
    let relu = acts.get("act").unwrap().to_owned();
    assert_eq!(relu, stem.mapv(|v| v.max(0.0)));
    let out = acts.get("out").unwrap().into_dimensionality::<Ix2>().unwrap().to_owned();
    close(out.view(), net.forward(x.view()).unwrap().view(), 1e-12, "out");
}

#[test]
fn dead_units_and_saturation_are_counted() {
    let mut net = trained_mlp();
    // Kill 8 of act1's 32 units: a batch norm shift far below zero makes their relu 0 for
    // every input.
    let mut beta = net.param("bn1.bias").unwrap().to_owned();
    for unit in 0..8 {
        beta[[unit * 4]] = -1e6;
    }
    net.set_param("bn1.bias", beta.view()).unwrap();
    let x = digits().features.slice(s![..100, ..]).to_owned();
    let acts = net.activations(x.view(), Mode::Evaluation).unwrap();
    let stats = net.activation_stats(x.view(), Mode::Evaluation).unwrap();
    assert_eq!(stats, acts.stats());
    let act1 = stats.iter().find(|s| s.layer == "act1").unwrap();
    let live = acts.get("act1").unwrap().to_owned().into_dimensionality::<Ix2>().unwrap();
    let dead_here = live.axis_iter(Axis(1)).filter(|unit| unit.iter().all(|&v| v == 0.0)).count();
    assert!(dead_here >= 8);
    assert_eq!(act1.dead, Some(dead_here as f64 / 32.0));
    assert_eq!((act1.kind.as_str(), act1.saturated), ("relu", None));

    let act2 = stats.iter().find(|s| s.layer == "act2").unwrap();
    let sigmoid = acts.get("act2").unwrap();
    let saturated = sigmoid.iter().filter(|&&v| !(0.01..=0.99).contains(&v)).count();
    assert_eq!(act2.saturated, Some(saturated as f64 / sigmoid.len() as f64));
    let mean = sigmoid.mean().unwrap();
    assert!((act2.mean - mean).abs() < 1e-12);
    assert!((act2.std - sigmoid.std(0.0)).abs() < 1e-12);
    assert_eq!(act2.dead, None);

    // Huge weights saturate the sigmoid: every output is pushed to 0 or 1.
    let w = net.param("fc2.weight").unwrap().mapv(|v| v * 1e4);
    net.set_param("fc2.weight", w.view()).unwrap();
    let act2 =
        net.activation_stats(x.view(), Mode::Evaluation).unwrap().into_iter().find(|s| s.layer == "act2").unwrap();
    assert!(act2.saturated.unwrap() > 0.95, "{act2}");
}

#[test]
fn fit_records_the_statistics_only_when_diagnosing() {
    let train = digits();
    let mut net = Mlp::new(9);
    let quiet = net.fit(&train, &FitOptions::new().epochs(1).batch_size(64).quiet()).unwrap();
    assert!(quiet.epochs[0].activations.is_empty());
    let mut net = Mlp::new(9);
    let options = FitOptions::new().epochs(2).batch_size(64).verbosity(Verbosity::Diagnostics);
    let history = net.fit(&train, &options).unwrap();
    let rows = train.len().min(gradc::DIAGNOSTIC_ROWS);
    let expected = net.activation_stats(train.features.slice(s![..rows, ..]), Mode::Training).unwrap();
    assert_eq!(history.epochs[1].activations, expected);
    assert_eq!(expected.len(), 10);
}

#[test]
fn bad_input_and_unknown_layers_are_errors() {
    let net = Mlp::new(1);
    let narrow = Array2::<f64>::zeros((2, 63));
    assert!(matches!(
        net.activations(narrow.view(), Mode::Evaluation),
        Err(gradc::Error::InputWidth { expected: 64, found: 63 })
    ));
    let mut x = Array2::<f64>::zeros((2, 64));
    x[[1, 5]] = f64::NAN;
    assert!(net.activation_stats(x.view(), Mode::Evaluation).is_err());
    let acts = net.activations(Array2::<f64>::zeros((2, 64)).view(), Mode::Evaluation).unwrap();
    let error = acts.get("fc9").unwrap_err().to_string();
    assert!(error.contains("fc9") && error.contains("fc1, bn1"), "{error}");
}

#[test]
fn training_mode_normalizes_with_the_batch_and_changes_nothing() {
    let train = digits();
    let mut net = Normed::new(4);
    net.fit(&train, &FitOptions::new().epochs(1).batch_size(64).quiet()).unwrap();
    let x = train.features.slice(s![100..150, ..]).to_owned();
    let before = net.param("bn1.running_mean").unwrap().to_owned();
    let acts = net.activations(x.view(), Mode::Training).unwrap();
    assert_eq!(net.param("bn1.running_mean").unwrap(), before, "running statistics untouched");
    let bn1 = acts.get("bn1").unwrap().into_dimensionality::<Ix2>().unwrap().to_owned();
    // The batch's own statistics, the variance biased (PyTorch normalizes with it).
    let fc1 = dense(&net, "fc1", x.view());
    let mean = fc1.mean_axis(Axis(0)).unwrap();
    let var = fc1.var_axis(Axis(0), 0.0);
    let (gamma, beta) = (vector(&net, "bn1.weight"), vector(&net, "bn1.bias"));
    let expected = (&fc1 - &mean) / var.mapv(|v| (v + 1e-5).sqrt()) * &gamma + &beta;
    close(bn1.view(), expected.view(), 1e-12, "bn1 on batch statistics");
    // The training step computes the same output (before its update).
    let labels: Vec<usize> = train.labels[100..150].to_vec();
    net.loss_and_grads(x.view(), &labels[..]).unwrap();
    let step_output = Array2::from_shape_vec((50, 10), net.training_output().unwrap().to_vec()).unwrap();
    let out = acts.get("out").unwrap().into_dimensionality::<Ix2>().unwrap().to_owned();
    close(out.view(), step_output.view(), 1e-12, "out against the training step");
    // Evaluation mode differs: it uses the running statistics.
    let eval = net.activations(x.view(), Mode::Evaluation).unwrap();
    assert!((&eval.get("bn1").unwrap() - &acts.get("bn1").unwrap()).iter().any(|d| d.abs() > 1e-3));

    // A batch norm frozen at run time keeps its running statistics in training mode too.
    net.set_trainable("bn1", false).unwrap();
    let frozen = net.activations(x.view(), Mode::Training).unwrap();
    assert_eq!(frozen.get("bn1").unwrap(), eval.get("bn1").unwrap());

    // One example has no batch statistics.
    let one = x.slice(s![..1, ..]);
    assert!(matches!(net.activations(one, Mode::Training), Err(gradc::Error::BatchTooSmall { found: 1, .. })));
    assert!(net.activations(one, Mode::Evaluation).is_ok());
}
