//! Behaviour of dropout and batch norm beyond their gradients: statistics of the masks,
//! determinism, evaluation mode, running statistics, and the batch-of-one error.

mod common;

use common::snapshot;
use gradc::ndarray::{Array2, array};
use gradc::{Model, network};
use rand::SeedableRng;

/// Six standard errors (a correct implementation fails ~1e-9 of the time).
const Z: f64 = 6.0;

#[test]
fn mask_kernel_drops_p_and_preserves_the_mean() {
    let mut rng = gradc::__private::Rng::seed_from_u64(1);
    for p in [0.1f64, 0.5, 0.8] {
        let n = 200_000;
        let mut mask = vec![0.0f64; n];
        gradc::kernels::dropout_mask(&mut rng, p, &mut mask);
        let dropped = mask.iter().filter(|&&m| m == 0.0).count() as f64 / n as f64;
        // Binomial: the dropped fraction has standard error √(p(1−p)/n).
        assert!((dropped - p).abs() < Z * (p * (1.0 - p) / n as f64).sqrt(), "p={p}: dropped {dropped}");
        assert!(mask.iter().all(|&m| m == 0.0 || (m - 1.0 / (1.0 - p)).abs() < 1e-15));
        // A mask element has mean 1 and variance p/(1−p).
        let mean = mask.iter().sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < Z * (p / (1.0 - p) / n as f64).sqrt(), "p={p}: mean {mean}");
    }
}

network! {
    struct DropOnly {
        input: [1000],
        drop: dropout(0.3),
        loss: mse,
        optimizer: sgd(lr = 0.1),
        dtype: f64,
    }
}

#[test]
fn compiled_dropout_drops_the_declared_fraction() {
    let mut net = DropOnly::new(4);
    let x = Array2::<f64>::ones((4, 1000));
    let zeros = Array2::<f64>::zeros((4, 1000));
    // With x = 1 and target 0 the loss is mean(m²) = kept / (1 − p)².
    let loss = net.loss_and_grads(x.view(), &zeros).unwrap().loss;
    let dropped: f64 = 1.0 - loss * 0.7 * 0.7;
    assert!((dropped - 0.3).abs() < Z * (0.3f64 * 0.7 / 4000.0).sqrt(), "dropped {dropped}");
    // Evaluation is the identity.
    assert_eq!(net.forward(x.view()).unwrap(), x);
}

network! {
    struct Dropping {
        input: [8], fc: dense(16), act: relu, drop: dropout(0.5), out: dense(3),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

network! {
    struct NotDropping {
        input: [8], fc: dense(16), act: relu, drop: dropout(0), out: dense(3),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

fn losses<M: Model<Scalar = f32>>(net: &mut M, steps: usize) -> Vec<f64> {
    let x = common::matrix(6, 8, 3, 1.0).mapv(|v| v as f32);
    (0..steps).map(|_| net.train_step(x.view(), &[0, 1, 2, 0, 1, 2]).unwrap().loss).collect()
}

#[test]
fn same_seed_same_masks_other_seed_other_masks() {
    let (mut a, mut b, mut c) = (Dropping::new(7), Dropping::new(7), Dropping::new(7));
    c.set_param("out.bias", a.param("out.bias").unwrap()).unwrap();
    assert_eq!(losses(&mut a, 5), losses(&mut b, 5));
    assert_eq!(snapshot(&a), snapshot(&b));
    // Same parameters, another generator state: different masks, different losses.
    let mut d = Dropping::new(8);
    for name in d.param_names() {
        d.set_param(name, c.param(name).unwrap()).unwrap();
    }
    assert_ne!(losses(&mut c, 3), losses(&mut d, 3));
}

#[test]
fn dropout_of_zero_compiles_away_and_evaluation_ignores_dropout() {
    assert!(!NotDropping::TRAIN_IR.contains("dropout_mask"));
    assert!(Dropping::TRAIN_IR.contains("dropout_mask[0.5]"));
    assert!(!Dropping::IR.contains("dropout_mask"));
    let a = Dropping::new(2);
    let mut b = NotDropping::new(0);
    for name in a.param_names() {
        b.set_param(name, a.param(name).unwrap()).unwrap();
    }
    let x = common::matrix(4, 8, 1, 1.0).mapv(|v| v as f32);
    assert_eq!(a.forward(x.view()).unwrap(), b.forward(x.view()).unwrap());
}

network! {
    struct Normalized {
        input: [3], fc: dense(4), bn: batch_norm(momentum = 0.25), act: relu, out: dense(2),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1), dtype: f64,
    }
}

#[test]
fn a_training_batch_of_one_is_an_error_and_changes_nothing() {
    let mut net = Normalized::new(1);
    let before = snapshot(&net);
    let error = net.train_step(array![[1.0, 2.0, 3.0]].view(), &[1]).unwrap_err().to_string();
    assert!(error.contains("batch of 1 examples is too small") && error.contains("batch norm"), "{error}");
    assert_eq!(snapshot(&net), before);
    assert_eq!(net.state().steps, 0);
    // Evaluation of a single example is fine.
    assert!(net.forward(array![[1.0, 2.0, 3.0]].view()).is_ok());
}

#[test]
fn running_statistics_follow_pytorch_updates() {
    let mut net = Normalized::new(1);
    let x = common::matrix(5, 3, 4, 1.0);
    // The batch statistics of bn's input, computed here from fc's parameters.
    let w = net.param("fc.weight").unwrap().to_owned().into_dimensionality::<gradc::ndarray::Ix2>().unwrap();
    let b = net.param("fc.bias").unwrap().to_owned();
    let z = x.dot(&w.t()) + &b;
    let mean = z.mean_axis(gradc::ndarray::Axis(0)).unwrap();
    let unbiased = z.var_axis(gradc::ndarray::Axis(0), 1.0);
    net.train_step(x.view(), &[0, 1, 0, 1, 1]).unwrap();
    let running_mean = net.param("bn.running_mean").unwrap().to_owned();
    let running_var = net.param("bn.running_var").unwrap().to_owned();
    for j in 0..4 {
        assert!((running_mean[j] - 0.25 * mean[j]).abs() < 1e-12);
        assert!((running_var[j] - (0.75 + 0.25 * unbiased[j])).abs() < 1e-12);
    }
    assert_eq!(net.param("bn.num_batches_tracked").unwrap()[[]], 1.0);
    // loss_and_grads does not move the running statistics.
    net.loss_and_grads(x.view(), &[0, 1, 0, 1, 1]).unwrap();
    assert_eq!(net.param("bn.running_mean").unwrap(), running_mean.view());
}

network! {
    struct FrozenNorm {
        input: [3], fc: dense(4), #[frozen] bn: batch_norm, act: relu, out: dense(2),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1), dtype: f64,
    }
}

#[test]
fn a_frozen_batch_norm_runs_in_evaluation_mode() {
    let mut net = FrozenNorm::new(1);
    let stats: Vec<_> = ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
        .iter()
        .map(|n| net.param(n).unwrap().to_owned())
        .collect();
    let x = common::matrix(4, 3, 2, 1.0);
    net.train_step(x.view(), &[0, 1, 1, 0]).unwrap();
    net.train_step(array![[0.5, 0.5, 0.5]].view(), &[1]).unwrap();
    for (name, before) in
        ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"].iter().zip(stats)
    {
        assert_eq!(net.param(name).unwrap(), before.view(), "{name} changed");
    }
    assert!(!FrozenNorm::TRAIN_IR.contains("running_update"));
}

#[test]
fn batch_norm_state_round_trips_through_a_weights_file() {
    let mut net = Normalized::new(3);
    let x = common::matrix(6, 3, 8, 1.0);
    for _ in 0..4 {
        net.train_step(x.view(), &[0, 1, 0, 1, 1, 0]).unwrap();
    }
    let path = std::env::temp_dir().join(format!("gradc-bn-{}.safetensors", std::process::id()));
    net.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let counter = file.tensor("bn.num_batches_tracked").unwrap();
    assert_eq!((counter.dtype(), counter.shape()), (safetensors::Dtype::I64, &[][..]));
    assert_eq!(i64::from_le_bytes(counter.data().try_into().unwrap()), 4);
    let mut other = Normalized::new(9);
    other.load(&path).unwrap();
    assert_eq!(snapshot(&other), snapshot(&net));
    assert_eq!(other.forward(x.view()).unwrap(), net.forward(x.view()).unwrap());
    std::fs::remove_file(&path).unwrap();
}
