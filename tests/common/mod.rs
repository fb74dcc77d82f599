//! Helpers shared by the integration tests.
#![allow(dead_code)]

use gradc::Model;
use gradc::ndarray::{self as ndarray, Array2, ArrayD};

/// Every parameter's values, by name: what "the network is unchanged" compares.
pub fn snapshot<M: Model>(net: &M) -> Vec<(&'static str, ArrayD<M::Scalar>)> {
    net.param_names().into_iter().map(|n| (n, net.param(n).unwrap().to_owned())).collect()
}

/// A deterministic pseudo-random matrix with entries in [-scale, scale].
pub fn matrix(rows: usize, cols: usize, seed: u64, scale: f64) -> Array2<f64> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    Array2::from_shape_fn((rows, cols), |_| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
        scale * (2.0 * unit - 1.0)
    })
}

/// Targets owned by the test, converted to `gradc::Targets` at the call.
pub enum Owned {
    Classes(Vec<usize>),
    Values(Array2<f64>),
}

impl Owned {
    /// Targets suited to `loss` for a batch of `batch` rows and `outputs` columns.
    pub fn for_loss(loss: gradc::LossKind, batch: usize, outputs: usize, seed: u64) -> Owned {
        match loss {
            gradc::LossKind::SoftmaxCrossEntropy => {
                Owned::Classes((0..batch).map(|i| (i * 7 + seed as usize) % outputs).collect())
            }
            gradc::LossKind::BinaryCrossEntropy => Owned::Values(matrix(batch, outputs, seed, 0.5).mapv(|v| v + 0.5)),
            gradc::LossKind::MeanSquaredError => Owned::Values(matrix(batch, outputs, seed, 2.0)),
        }
    }

    pub fn targets(&self) -> gradc::Targets<'_, f64> {
        match self {
            Owned::Classes(c) => gradc::Targets::Classes(c),
            Owned::Values(v) => gradc::Targets::Values(v.view()),
        }
    }
}

/// The largest relative error, over every parameter, between the compiled gradient and a
/// central difference of the loss (f64). Per tensor: ‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖),
/// with the denominator floored at 1e-4.
/// Every evaluation starts from a clone of `net`, so a dropout mask is the same each time.
pub fn gradient_check<M: Model<Scalar = f64> + Clone>(net: &mut M, x: &Array2<f64>, targets: &Owned) -> f64 {
    // ≈ ε^(1/3) for f64: balances truncation (h²) against rounding (ε/h).
    const H: f64 = 1e-5;
    let start = net.clone();
    net.loss_and_grads(x.view(), targets.targets()).unwrap();
    // Read every analytic gradient first: the perturbed evaluations below overwrite them.
    // Every differentiable parameter must have one; a missing gradient fails the check.
    let analytic: Vec<_> = M::info()
        .params
        .iter()
        .filter(|spec| spec.differentiable)
        .map(|spec| {
            let grad = net.grad(spec.name).unwrap_or_else(|e| panic!("no gradient for {}: {e}", spec.name));
            (spec.name, grad.to_owned())
        })
        .collect();
    assert!(!analytic.is_empty(), "the network has no differentiable parameter to check");
    let mut worst = 0.0f64;
    for (name, analytic) in analytic {
        let original = net.param(name).unwrap().to_owned();
        let mut numeric = ArrayD::<f64>::zeros(original.raw_dim());
        for i in 0..original.len() {
            let loss_at = |delta: f64| {
                let mut p = original.clone();
                p.as_slice_mut().unwrap()[i] += delta;
                let mut probe = start.clone();
                probe.set_param(name, p.view()).unwrap();
                probe.loss_and_grads(x.view(), targets.targets()).unwrap().loss
            };
            numeric.as_slice_mut().unwrap()[i] = (loss_at(H) - loss_at(-H)) / (2.0 * H);
        }
        let diff = (&analytic - &numeric).mapv(|v| v * v).sum().sqrt();
        let scale = analytic.mapv(|v| v * v).sum().sqrt() + numeric.mapv(|v| v * v).sum().sqrt();
        // A gradient that is exactly 0 in theory (a bias before a batch norm) comes out as
        // numeric noise of ~1e-11; below this floor the comparison is absolute.
        let error = diff / scale.max(1e-4);
        assert!(error.is_finite(), "{name}: non-finite gradient error");
        worst = worst.max(error);
        if error > 1e-6 {
            eprintln!("{name}: relative error {error:e}\nanalytic {analytic}\nnumeric {numeric}");
        }
    }
    worst
}

/// Checks every gradient of `net` against central differences on `batch` random inputs with
/// targets for its loss, to 1e-6 relative.
pub fn assert_gradients<M: Model<Scalar = f64> + Clone>(mut net: M, batch: usize, seed: u64) {
    let info = M::info();
    let x = matrix(batch, info.input_width, seed, 1.0);
    let targets = Owned::for_loss(info.loss, batch, info.output_width, seed + 1);
    let error = gradient_check(&mut net, &x, &targets);
    assert!(error < 1e-6, "{}: relative error {error:e}", info.name);
}

/// A tensor of a safetensors file as f64 (f32, f64 and i64 tensors), or `None` if absent.
pub fn fixture_tensor(file: &safetensors::SafeTensors, name: &str) -> Option<ArrayD<f64>> {
    let t = file.tensor(name).ok()?;
    let values: Vec<f64> = match t.dtype() {
        safetensors::Dtype::F32 => {
            t.data().chunks_exact(4).map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap()))).collect()
        }
        safetensors::Dtype::F64 => {
            t.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect()
        }
        safetensors::Dtype::I64 => {
            t.data().chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64).collect()
        }
        other => panic!("unexpected dtype {other:?}"),
    };
    Some(ArrayD::from_shape_vec(ndarray::IxDyn(t.shape()), values).unwrap())
}

/// max |a − b| / max(max |b|, 1e-2): the error relative to the tensor's scale. The floor
/// matters for a gradient that is 0 in theory (a dense bias before a batch norm): it is
/// rounding noise on both sides and is compared absolutely.
pub fn relative_error(actual: &ArrayD<f64>, expected: &ArrayD<f64>) -> f64 {
    assert_eq!(actual.shape(), expected.shape());
    let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-2);
    actual.iter().zip(expected).fold(0.0f64, |m, (a, b)| m.max((a - b).abs())) / scale
}

/// Compares a network with a PyTorch fixture written by `tools/make_fixtures.py` or
/// `tools/make_cnn_fixtures.py` (in `tests/fixtures/<dir>`): loads the initial weights
/// strictly, then reports the relative error of the evaluation output, the loss, every
/// gradient, the whole state after `steps` training steps, and the evaluation output after
/// them. Runs the steps on `net`.
pub fn fixture_report<M: Model>(dir: &str, case: &str, net: &mut M, steps: usize) -> Vec<(String, f64)> {
    use gradc::Float;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir);
    let bytes = std::fs::read(dir.join(format!("{case}.data.safetensors"))).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let tensor = |name: &str| fixture_tensor(&file, name);
    let scalar = |t: ArrayD<f64>| t.mapv(M::Scalar::from_f64);
    let relative = |actual: &ArrayD<M::Scalar>, expected: &ArrayD<f64>| {
        relative_error(&actual.mapv(|v| v.as_f64()), &expected.mapv(|v| M::Scalar::from_f64(v).as_f64()))
    };
    net.load(dir.join(format!("{case}.weights.safetensors"))).unwrap();
    let x: Array2<M::Scalar> = scalar(tensor("x").unwrap()).into_dimensionality().unwrap();
    let labels: Option<Vec<usize>> = tensor("labels").map(|l| l.iter().map(|&v| v as usize).collect());
    let values: Option<Array2<M::Scalar>> = tensor("targets").map(|t| scalar(t).into_dimensionality().unwrap());
    let targets = || match (&labels, &values) {
        (Some(l), _) => gradc::Targets::Classes(l),
        (None, Some(v)) => gradc::Targets::Values(v.view()),
        (None, None) => panic!("fixture has no targets"),
    };
    let mut report = Vec::new();
    let eval = net.forward(x.view()).unwrap().into_dyn();
    report.push(("evaluation output before".to_string(), relative(&eval, &tensor("eval_logits_before").unwrap())));
    let stats = net.loss_and_grads(x.view(), targets()).unwrap();
    let expected_loss = tensor("loss").unwrap().into_iter().next().unwrap();
    report.push(("loss".into(), (stats.loss - expected_loss).abs() / expected_loss.abs()));
    for spec in M::info().params.iter().filter(|s| s.differentiable) {
        let grad = net.grad(spec.name).unwrap().to_owned();
        let expected =
            tensor(&format!("grad.{}", spec.name)).unwrap_or_else(|| panic!("fixture lacks grad.{}", spec.name));
        report.push((format!("grad {}", spec.name), relative(&grad, &expected)));
    }
    for _ in 0..steps {
        net.train_step(x.view(), targets()).unwrap();
    }
    for name in net.param_names() {
        let value = net.param(name).unwrap().to_owned();
        let expected = tensor(&format!("after.{name}")).unwrap_or_else(|| panic!("fixture lacks after.{name}"));
        report.push((format!("after {steps} steps {name}"), relative(&value, &expected)));
    }
    if let Some(expected) = tensor("eval_logits_after") {
        let eval = net.forward(x.view()).unwrap().into_dyn();
        report.push(("evaluation output after".to_string(), relative(&eval, &expected)));
    }
    report
}

/// Fails with every entry of `report` above `tolerance`; prints the worst.
pub fn assert_report_within(case: &str, report: &[(String, f64)], tolerance: f64) {
    let worst = report.iter().map(|r| r.1).fold(0.0, f64::max);
    println!("{case}: worst relative error {worst:.2e} over {} comparisons", report.len());
    if std::env::var_os("GRADC_REPORT").is_some() {
        report.iter().for_each(|(what, e)| println!("  {what}: {e:.2e}"));
    }
    let failures: Vec<String> = report
        .iter()
        .filter(|(_, e)| e.is_nan() || *e >= tolerance)
        .map(|(what, e)| format!("{what}: {e:e}"))
        .collect();
    assert!(
        failures.is_empty(),
        "{case} differs from PyTorch (relative, tolerance {tolerance:e}):\n{}",
        failures.join("\n")
    );
}
