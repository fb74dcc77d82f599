//! Transfer learning and checkpoints: non-strict loads with a report and name maps, copies
//! between networks in memory, per-parameter optimizer steps (a layer that starts training
//! late gets a fresh Adam bias correction), per-layer learning rates, and checkpoints that
//! resume bit for bit.

mod common;

use gradc::ndarray::{Array2, ArrayD};
use gradc::{NameMap, network};

network! {
    /// The source: a base trained on one task with a 5-class head.
    struct Source {
        input: [6],
        fc1: dense(8), bn1: batch_norm, act1: relu,
        fc2: dense(8), act2: relu,
        head: dense(5),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
        dtype: f64,
    }
}

network! {
    /// The target: the same base, a new 3-class head under a new name, and an `fc2` of
    /// another width (a shape mismatch the report must show).
    struct Target {
        input: [6],
        fc1: dense(8), bn1: batch_norm, act1: relu,
        fc2: dense(8), act2: relu,
        new_head: dense(3),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
        dtype: f64,
    }
}

network! {
    /// A target with a different base width for `fc2` and the same head name as the source.
    struct Narrow {
        input: [6],
        fc1: dense(8), bn1: batch_norm, act1: relu,
        fc2: dense(4), act2: relu,
        head: dense(5),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

network! {
    /// The base under other layer names, as a model saved elsewhere would have it.
    struct Renamed {
        input: [6],
        features_0: dense(8), features_1: batch_norm, act1: relu,
        features_2: dense(8), act2: relu,
        classifier: dense(5),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

network! {
    /// Dropout, batch norm, Adam, a scaled layer: everything a checkpoint must carry.
    struct Resumable {
        input: [6],
        fc1: dense(16), bn1: batch_norm, act1: relu, drop1: dropout(0.3),
        #[lr_scale = 0.5] fc2: dense(8), act2: tanh,
        out: dense(3),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
        dtype: f32,
    }
}

network! {
    struct Scaled {
        input: [4],
        #[lr_scale = 0.25] fc1: dense(3), act: tanh,
        out: dense(2),
        loss: mse, optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gradc-transfer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn batch(rows: usize, classes: usize, seed: u64) -> (Array2<f64>, Vec<usize>) {
    (common::matrix(rows, 6, seed, 1.0), (0..rows).map(|r| r % classes).collect())
}

fn trained_source() -> Source {
    let mut source = Source::new(1);
    let (x, labels) = batch(16, 5, 3);
    for _ in 0..10 {
        source.train_step(x.view(), &labels).unwrap();
    }
    source
}

fn same(a: &ArrayD<f64>, b: gradc::ndarray::ArrayViewD<'_, f64>) -> bool {
    a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn a_partial_load_takes_the_matching_base_and_reports_the_rest() {
    let source = trained_source();
    let path = temp("source.safetensors");
    source.save(&path).unwrap();
    let mut target = Target::new(7);
    let head_before = target.param("new_head.weight").unwrap().to_owned();
    let report = target.load_partial(&path, &NameMap::new()).unwrap();
    let base = [
        "fc1.weight",
        "fc1.bias",
        "bn1.weight",
        "bn1.bias",
        "bn1.running_mean",
        "bn1.running_var",
        "bn1.num_batches_tracked",
        "fc2.weight",
        "fc2.bias",
    ];
    assert_eq!(report.loaded, base, "{report}");
    assert_eq!(report.missing, ["new_head.weight", "new_head.bias"]);
    assert_eq!(report.unexpected, ["head.bias", "head.weight"]);
    assert!(report.mismatched.is_empty() && !report.is_complete());
    for name in base {
        assert!(same(&source.param(name).unwrap().to_owned(), target.param(name).unwrap()), "{name}");
    }
    assert_eq!(target.param("new_head.weight").unwrap(), head_before);
    // The base computes the same features: the two networks' hidden activations agree, so
    // their evaluation-mode outputs differ only by the head. Checked through a head copy.
    let text = report.to_string();
    assert!(text.contains("missing (kept as they were): new_head.weight, new_head.bias"), "{text}");
}

#[test]
fn a_shape_mismatch_is_reported_and_leaves_the_tensor_alone() {
    let source = trained_source();
    let path = temp("source-narrow.safetensors");
    source.save(&path).unwrap();
    let mut narrow = Narrow::new(2);
    let fc2_before = narrow.param("fc2.weight").unwrap().to_owned();
    let report = narrow.load_partial(&path, &NameMap::new()).unwrap();
    let mismatched: Vec<_> =
        report.mismatched.iter().map(|m| (m.name.as_str(), m.expected.clone(), m.found.clone())).collect();
    let expected = [
        ("fc2.weight", vec![4, 8], vec![8, 8]),
        ("fc2.bias", vec![4], vec![8]),
        ("head.weight", vec![5, 4], vec![5, 8]),
    ];
    assert_eq!(mismatched, expected);
    assert_eq!(narrow.param("fc2.weight").unwrap(), fc2_before);
    assert!(report.loaded.contains(&"head.bias".to_string()) && report.loaded.contains(&"fc1.weight".to_string()));
    // The strict load refuses the same file.
    assert!(narrow.load(&path).is_err());
}

#[test]
fn a_name_map_loads_weights_saved_under_other_names() {
    let source = trained_source();
    let path = temp("source-for-renamed.safetensors");
    source.save(&path).unwrap();
    let mut renamed = Renamed::new(3);
    let map = NameMap::new()
        .replace_prefix("fc1.", "features_0.")
        .replace_prefix("bn1.", "features_1.")
        .replace_prefix("fc2.", "features_2.")
        .rename("head.weight", "classifier.weight")
        .rename("head.bias", "classifier.bias");
    let report = renamed.load_partial(&path, &map).unwrap();
    assert!(report.is_complete(), "{report}");
    let x = batch(5, 5, 9).0;
    assert_eq!(renamed.forward(x.view()).unwrap(), source.forward(x.view()).unwrap());
}

#[test]
fn copying_from_a_network_in_memory_matches_loading_its_file() {
    let source = trained_source();
    let path = temp("source-copy.safetensors");
    source.save(&path).unwrap();
    let (mut from_file, mut from_memory) = (Target::new(4), Target::new(4));
    let file_report = from_file.load_partial(&path, &NameMap::new()).unwrap();
    let memory_report = from_memory.copy_params_from(&source, &NameMap::new()).unwrap();
    assert_eq!(file_report, memory_report);
    for name in from_file.param_names() {
        assert!(same(&from_file.param(name).unwrap().to_owned(), from_memory.param(name).unwrap()), "{name}");
    }
    // An f32 network copies from an f64 one, rounding each value once.
    let mut single = Resumable::new(1);
    let report = single.copy_params_from(&source, &NameMap::new()).unwrap();
    assert_eq!(report.loaded, ["bn1.num_batches_tracked", "fc2.bias"], "{report}");
    let rounded: Vec<f32> = source.param("fc2.bias").unwrap().iter().map(|&v| v as f32).collect();
    assert_eq!(single.param("fc2.bias").unwrap().iter().copied().collect::<Vec<f32>>(), rounded);
}

#[test]
fn a_failed_partial_load_changes_nothing() {
    let source = trained_source();
    let mut target = Target::new(5);
    let before = common::snapshot(&target);
    // Two source names mapped onto one network name.
    let map = NameMap::new().rename("head.bias", "fc1.bias");
    let err = target.copy_params_from(&source, &map).unwrap_err().to_string();
    assert!(err.contains("both map to `fc1.bias`"), "{err}");
    // A non-finite value in a tensor that would be loaded.
    let mut poisoned = trained_source();
    let mut b = poisoned.param("fc2.bias").unwrap().to_owned();
    b[[0]] = 1e300;
    poisoned.set_param("fc2.bias", b.view()).unwrap();
    let path = temp("poisoned.safetensors");
    poisoned.save(&path).unwrap();
    let mut single = Resumable::new(1);
    let single_before = common::snapshot(&single);
    let err = single.load_partial(&path, &NameMap::new()).unwrap_err().to_string();
    assert!(err.contains("not a finite f32"), "{err}");
    assert_eq!(common::snapshot(&single), single_before);
    assert_eq!(common::snapshot(&target), before);
}

#[test]
fn a_layer_that_starts_training_late_gets_a_fresh_adam_bias_correction() {
    let mut net = Source::new(11);
    net.set_trainable("fc2", false).unwrap();
    let (x, labels) = batch(16, 5, 3);
    for _ in 0..20 {
        net.train_step(x.view(), &labels).unwrap();
    }
    net.set_trainable("fc2", true).unwrap();
    net.loss_and_grads(x.view(), &labels).unwrap();
    let grad = net.grad("fc2.weight").unwrap().to_owned();
    let before = net.param("fc2.weight").unwrap().to_owned();
    net.train_step(x.view(), &labels).unwrap();
    let after = net.param("fc2.weight").unwrap().to_owned();
    // Adam's first step: m̂ = g, v̂ = g², so θ moves by −lr·g/(|g| + ε), at most lr.
    let (lr, eps) = (0.01, 1e-8);
    for ((b, a), g) in before.iter().zip(&after).zip(&grad) {
        let expected = -lr * g / (g.abs() + eps);
        assert!((a - b - expected).abs() <= 1e-12 * lr, "moved {} expected {expected}", a - b);
    }
    // The optimizer file keeps each parameter's own step count.
    let path = temp("late.optimizer.safetensors");
    net.save_optimizer(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let step = |name: &str| i64::from_le_bytes(file.tensor(name).unwrap().data().try_into().unwrap());
    assert_eq!((step("fc1.weight.step"), step("fc2.weight.step"), step("step")), (21, 1, 21));
}

#[test]
fn the_learning_rate_scale_multiplies_the_step() {
    let mut net = Scaled::new(1);
    let x = common::matrix(4, 4, 2, 1.0);
    let y = common::matrix(4, 2, 3, 1.0);
    let moved = |net: &mut Scaled, name: &str| {
        net.loss_and_grads(x.view(), y.view()).unwrap();
        let (g, before) = (net.grad(name).unwrap().to_owned(), net.param(name).unwrap().to_owned());
        net.train_step(x.view(), y.view()).unwrap();
        let delta = &net.param(name).unwrap().to_owned() - &before;
        (delta, g)
    };
    let (delta, g) = moved(&mut net, "fc1.weight");
    assert!(delta.iter().zip(&g).all(|(d, g)| (d + 0.1 * 0.25 * g).abs() < 1e-15), "{delta} vs {g}");
    let (delta, g) = moved(&mut net, "out.weight");
    assert!(delta.iter().zip(&g).all(|(d, g)| (d + 0.1 * g).abs() < 1e-15));
    // At run time, and through a schedule's learning rate.
    net.set_lr_scale("out", 0.5).unwrap();
    net.set_lr(0.2).unwrap();
    let (delta, g) = moved(&mut net, "out.weight");
    assert!(delta.iter().zip(&g).all(|(d, g)| (d + 0.2 * 0.5 * g).abs() < 1e-15));
    assert!(net.set_lr_scale("act", 0.5).is_err());
    assert!(net.set_lr_scale("out", -1.0).is_err());
    assert!(net.set_lr_scale("out", f64::NAN).is_err());
}

#[test]
fn a_checkpoint_resumes_bit_for_bit() {
    let x = common::matrix(12, 6, 5, 1.0).mapv(|v| v as f32);
    let labels: Vec<usize> = (0..12).map(|r| r % 3).collect();
    let mut uninterrupted = Resumable::new(3);
    uninterrupted.set_trainable("out", false).unwrap();
    uninterrupted.set_lr_scale("fc1", 0.7).unwrap();
    for _ in 0..6 {
        uninterrupted.train_step(x.view(), &labels).unwrap();
    }
    uninterrupted.set_trainable("out", true).unwrap();
    uninterrupted.set_lr(0.004).unwrap();
    for _ in 0..3 {
        uninterrupted.train_step(x.view(), &labels).unwrap();
    }
    let path = temp("resume.checkpoint.safetensors");
    uninterrupted.save_checkpoint(&path).unwrap();
    let mut resumed = Resumable::new(99);
    resumed.load_checkpoint(&path).unwrap();
    assert_eq!(resumed.lr(), 0.004);
    for _ in 0..6 {
        let a = uninterrupted.train_step(x.view(), &labels).unwrap();
        let b = resumed.train_step(x.view(), &labels).unwrap();
        assert_eq!(a.loss.to_bits(), b.loss.to_bits());
    }
    for name in uninterrupted.param_names() {
        let (a, b) = (uninterrupted.param(name).unwrap(), resumed.param(name).unwrap());
        assert!(a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits()), "{name}");
    }
    // A checkpoint is not a weights file, and a weights file is not a checkpoint.
    let weights = temp("resume.weights.safetensors");
    resumed.save(&weights).unwrap();
    let before = common::snapshot(&resumed);
    let err = resumed.load_checkpoint(&weights).unwrap_err().to_string();
    assert!(err.contains("is it a checkpoint?"), "{err}");
    assert_eq!(common::snapshot(&resumed), before);
    assert!(resumed.load(&path).is_err());
}

#[test]
fn an_optimizer_file_with_impossible_state_is_refused() {
    let mut net = Source::new(1);
    let (x, labels) = batch(8, 5, 1);
    net.train_step(x.view(), &labels).unwrap();
    let path = temp("good.optimizer.safetensors");
    net.save_optimizer(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let rewrite = |name: &str, value: f64| {
        let mut tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> =
            file.tensors().into_iter().map(|(n, t)| (n, t.dtype(), t.shape().to_vec(), t.data().to_vec())).collect();
        let entry = tensors.iter_mut().find(|t| t.0 == name).unwrap();
        entry.3[..8].copy_from_slice(&value.to_le_bytes());
        let views: Vec<_> = tensors
            .iter()
            .map(|(n, d, s, b)| (n.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap()))
            .collect();
        let out = temp(&format!("bad-{name}-{value}.safetensors"));
        std::fs::write(&out, safetensors::serialize(views, None).unwrap()).unwrap();
        out
    };
    for (name, value) in
        [("fc1.weight.exp_avg", f64::NAN), ("fc1.weight.exp_avg_sq", -1.0), ("fc1.bias.exp_avg", f64::INFINITY)]
    {
        let before = (common::snapshot(&net), net.optimizer_state(name).unwrap().to_owned());
        let err = net.load_optimizer(rewrite(name, value)).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains("must be finite"), "{err}");
        assert_eq!((common::snapshot(&net), net.optimizer_state(name).unwrap().to_owned()), before);
    }
}

network! {
    struct FrozenAtCompileTime {
        input: [6],
        #[frozen] fc1: dense(8), #[frozen] bn1: batch_norm, act1: relu,
        drop: dropout(0.2),
        head: dense(3),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
        dtype: f64,
    }
}

network! {
    struct FrozenAtRunTime {
        input: [6],
        fc1: dense(8), bn1: batch_norm, act1: relu,
        drop: dropout(0.2),
        head: dense(3),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
        dtype: f64,
    }
}

#[test]
fn a_batch_norm_frozen_at_run_time_trains_exactly_like_a_frozen_one() {
    let source = trained_source();
    let (mut compiled, mut runtime) = (FrozenAtCompileTime::new(5), FrozenAtRunTime::new(5));
    for net in [&mut compiled as &mut dyn LoadPartial, &mut runtime] {
        net.load_base(&source);
    }
    runtime.set_trainable("fc1", false).unwrap();
    runtime.set_trainable("bn1", false).unwrap();
    let (x, labels) = batch(16, 3, 8);
    for _ in 0..5 {
        let a = compiled.train_step(x.view(), &labels).unwrap();
        let b = runtime.train_step(x.view(), &labels).unwrap();
        assert_eq!(a.loss.to_bits(), b.loss.to_bits());
    }
    for name in compiled.param_names() {
        let (a, b) = (compiled.param(name).unwrap().to_owned(), runtime.param(name).unwrap());
        assert!(same(&a, b), "{name}");
    }
    // Evaluation mode: no running-statistic update while frozen.
    assert_eq!(runtime.param("bn1.running_mean").unwrap(), source.param("bn1.running_mean").unwrap());
    assert_eq!(runtime.param("bn1.num_batches_tracked").unwrap(), source.param("bn1.num_batches_tracked").unwrap());
    // Unfreezing restores training mode: batch statistics, and the running ones move again.
    runtime.set_trainable("bn1", true).unwrap();
    runtime.train_step(x.view(), &labels).unwrap();
    assert_ne!(runtime.param("bn1.running_mean").unwrap(), source.param("bn1.running_mean").unwrap());
    let counted = runtime.param("bn1.num_batches_tracked").unwrap()[[]];
    assert_eq!(counted, source.param("bn1.num_batches_tracked").unwrap()[[]] + 1.0);
}

/// Loads `Source`'s base into either network type.
trait LoadPartial {
    fn load_base(&mut self, source: &Source);
}

impl LoadPartial for FrozenAtCompileTime {
    fn load_base(&mut self, source: &Source) {
        let report = self.copy_params_from(source, &NameMap::new()).unwrap();
        assert_eq!(report.loaded.len(), 7, "{report}");
    }
}

impl LoadPartial for FrozenAtRunTime {
    fn load_base(&mut self, source: &Source) {
        let report = self.copy_params_from(source, &NameMap::new()).unwrap();
        assert_eq!(report.loaded.len(), 7, "{report}");
    }
}
