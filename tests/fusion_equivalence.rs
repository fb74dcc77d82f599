//! `fusion: false` compiles the same network without the fusion passes. Both must agree —
//! loss at every step, every gradient, every parameter and running statistic after ten
//! steps — to 1e-5 relative in f32 and 1e-10 in f64.

mod common;

use common::{Owned, matrix};
use gradc::ndarray::Array2;
use gradc::{Float, Model, network};

macro_rules! pair {
    ($fused:ident, $unfused:ident, $dtype:ident, { $($items:tt)* }) => {
        network! { struct $fused { $($items)* dtype: $dtype, fusion: true, } }
        network! { struct $unfused { $($items)* dtype: $dtype, fusion: false, } }
    };
}

macro_rules! both_dtypes {
    ($f32_fused:ident, $f32_unfused:ident, $f64_fused:ident, $f64_unfused:ident, { $($items:tt)* }) => {
        pair!($f32_fused, $f32_unfused, f32, { $($items)* });
        pair!($f64_fused, $f64_unfused, f64, { $($items)* });
    };
}

both_dtypes!(DeepBn32, DeepBn32Plain, DeepBn64, DeepBn64Plain, {
    input: [12],
    l1: dense(16), b1: batch_norm, a1: relu,
    l2: dense(16), b2: batch_norm, a2: relu,
    l3: dense(16), b3: batch_norm, a3: relu,
    l4: dense(16), b4: batch_norm, a4: relu,
    l5: dense(16), b5: batch_norm, a5: relu,
    l6: dense(16), b6: batch_norm, a6: relu,
    l7: dense(16), b7: batch_norm, a7: relu,
    l8: dense(16), b8: batch_norm, a8: relu,
    l9: dense(16), b9: batch_norm(momentum = 0.5), a9: relu,
    out: dense(4),
    loss: softmax_cross_entropy, optimizer: sgd(lr = 0.01),
});

both_dtypes!(Acts32, Acts32Plain, Acts64, Acts64Plain, {
    input: [6],
    dense(8), sigmoid, dense(8), tanh, dense(8), relu, dense(8), leaky_relu(0.1), dense(8), elu(0.7),
    dense(8), selu, dense(8), gelu, dense(8), gelu(approximate = tanh), dense(8), silu,
    dense(8), prelu, dense(8), prelu(per_unit = true), dense(3),
    loss: mse, optimizer: sgd(lr = 0.01),
});

both_dtypes!(Regularized32, Regularized32Plain, Regularized64, Regularized64Plain, {
    input: [6],
    fc1: dense(10, l1 = 1e-3), bn1: batch_norm, act1: gelu, drop1: dropout(0.3),
    fc2: dense(8), bn2: batch_norm(momentum = 0.2, eps = 1e-3), act2: tanh, drop2: dropout(0.1),
    out: dense(3),
    loss: binary_cross_entropy, optimizer: sgd(lr = 0.1), regularize: l1_l2(1e-4, 1e-3),
});

both_dtypes!(Frozen32, Frozen32Plain, Frozen64, Frozen64Plain, {
    input: [5],
    #[frozen] base: dense(7), #[frozen] base_bn: batch_norm, base_act: elu,
    head: dense(6, bias = false), head_act: prelu(init = 0.2), out: dense(2),
    loss: mse, optimizer: sgd(lr = 0.05),
});

both_dtypes!(Digits32, Digits32Plain, Digits64, Digits64Plain, {
    input: [64], fc1: dense(32), bn1: batch_norm, act1: relu, drop1: dropout(0.2),
    fc2: dense(16), act2: relu, out: dense(10),
    loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1), regularize: l2(1e-4),
});

both_dtypes!(Cnn32, Cnn32Plain, Cnn64, Cnn64Plain, {
    input: [2, 6, 6],
    conv1: conv2d(4, 3, padding = 1, bias = false), bn1: batch_norm, act1: relu, pool: max_pool2d(2),
    res: residual(project = conv1x1) { conv2d(6, 3, stride = 2, padding = 1), tanh },
    gap: global_avg_pool, drop: dropout(0.2), fc: dense(8, bias = false), bn2: batch_norm, act2: relu,
    res2: residual { dense(8), relu }, out: dense(3),
    loss: softmax_cross_entropy, optimizer: adam(lr = 0.01), regularize: l2(1e-3),
});

both_dtypes!(ConvBias32, ConvBias32Plain, ConvBias64, ConvBias64Plain, {
    input: [2, 6, 6],
    conv1: conv2d(4, 3, padding = 1), bn1: batch_norm, act1: relu, pool: max_pool2d(2),
    conv2: conv2d(5, 3, padding = 1), bn2: batch_norm, act2: relu,
    gap: global_avg_pool, out: dense(3),
    loss: softmax_cross_entropy, optimizer: sgd(lr = 0.05),
});

/// The shared tensor-scale relative error (tests/common), on f64 copies.
fn relative<T: Float>(a: &[T], b: &[T]) -> f64 {
    let f64s = |v: &[T]| {
        gradc::ndarray::ArrayD::from_shape_vec(
            gradc::ndarray::IxDyn(&[v.len()]),
            v.iter().map(|x| x.as_f64()).collect(),
        )
        .unwrap()
    };
    common::relative_error(&f64s(a), &f64s(b))
}

fn compare<F, U>(mut fused: F, mut plain: U, tolerance: f64)
where
    F: Model,
    U: Model<Scalar = F::Scalar>,
{
    let info = F::info();
    // A batch of 32: with a handful of examples, ten batch norms in f32 turn rounding
    // differences (one-pass against two-pass statistics) of 1e-7 into 1e-5 within ten steps.
    let x: Array2<F::Scalar> = matrix(32, info.input_width, 5, 1.5).mapv(F::Scalar::from_f64);
    let targets = Owned::for_loss(info.loss, 32, info.output_width, 3);
    let values = match &targets {
        Owned::Values(v) => Some(v.mapv(F::Scalar::from_f64)),
        Owned::Classes(_) => None,
    };
    let t = || match (&targets, &values) {
        (Owned::Classes(c), _) => gradc::Targets::Classes(c),
        (_, Some(v)) => gradc::Targets::Values(v.view()),
        _ => unreachable!(),
    };
    let mut worst = 0.0f64;
    for step in 0..10 {
        let (a, b) = (fused.train_step(x.view(), t()).unwrap().loss, plain.train_step(x.view(), t()).unwrap().loss);
        let e = (a - b).abs() / b.abs().max(1e-2);
        assert!(e < tolerance, "{}: loss of step {step} differs: {a} vs {b}", info.name);
        worst = worst.max(e);
    }
    fused.loss_and_grads(x.view(), t()).unwrap();
    plain.loss_and_grads(x.view(), t()).unwrap();
    for spec in info.params {
        let (a, b) = (fused.param(spec.name).unwrap(), plain.param(spec.name).unwrap());
        let e = relative(a.as_slice().unwrap(), b.as_slice().unwrap());
        assert!(e < tolerance, "{}: {} differs by {e:e}", info.name, spec.name);
        worst = worst.max(e);
        if spec.differentiable {
            let (a, b) = (fused.grad(spec.name).unwrap(), plain.grad(spec.name).unwrap());
            // A dense bias before a batch norm has a gradient of exactly 0, which the fused
            // build knows (it drops the bias from the computation) and the unfused one computes
            // as rounding noise: compare that one absolutely.
            let e = if a.iter().all(|v| *v == F::Scalar::from_f64(0.0)) {
                b.iter().fold(0.0f64, |m, v| m.max(v.as_f64().abs()))
            } else {
                relative(a.as_slice().unwrap(), b.as_slice().unwrap())
            };
            assert!(e < tolerance, "{}: gradient of {} differs by {e:e}", info.name, spec.name);
            worst = worst.max(e);
        }
    }
    let e = relative(
        fused.forward(x.view()).unwrap().as_slice().unwrap(),
        plain.forward(x.view()).unwrap().as_slice().unwrap(),
    );
    assert!(e < tolerance, "{}: evaluation output differs by {e:e}", info.name);
    println!("{}: worst relative difference {worst:.1e}", info.name);
}

#[test]
fn ten_layer_batch_norm_network() {
    compare(DeepBn32::new(1), DeepBn32Plain::new(1), 1e-5);
    compare(DeepBn64::new(1), DeepBn64Plain::new(1), 1e-10);
}

#[test]
fn every_activation() {
    compare(Acts32::new(2), Acts32Plain::new(2), 1e-5);
    compare(Acts64::new(2), Acts64Plain::new(2), 1e-10);
}

#[test]
fn batch_norm_dropout_and_penalties() {
    compare(Regularized32::new(3), Regularized32Plain::new(3), 1e-5);
    compare(Regularized64::new(3), Regularized64Plain::new(3), 1e-10);
}

#[test]
fn frozen_layers_prelu_and_no_bias() {
    compare(Frozen32::new(4), Frozen32Plain::new(4), 1e-5);
    compare(Frozen64::new(4), Frozen64Plain::new(4), 1e-10);
}

#[test]
fn digits_network() {
    compare(Digits32::new(5), Digits32Plain::new(5), 1e-5);
    compare(Digits64::new(5), Digits64Plain::new(5), 1e-10);
}

#[test]
fn convolutional_and_residual_network() {
    compare(Cnn32::new(6), Cnn32Plain::new(6), 1e-5);
    compare(Cnn64::new(6), Cnn64Plain::new(6), 1e-10);
}

#[test]
fn the_fused_graphs_really_are_fused() {
    assert!(DeepBn32::TRAIN_IR.contains("[fused"));
    assert!(!DeepBn32Plain::TRAIN_IR.contains("[fused"));
}

#[test]
fn a_conv_bias_before_batch_norm_is_dropped_without_changing_the_results() {
    compare(ConvBias32::new(6), ConvBias32Plain::new(6), 1e-5);
    compare(ConvBias64::new(6), ConvBias64Plain::new(6), 1e-10);
}
