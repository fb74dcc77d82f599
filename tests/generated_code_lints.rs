//! The generated code compiles without a single warning, for public and private structs,
//! f32 and f64, every loss, every optimizer (with and without `clip_norm`) and networks with
//! no parameters at all. CI also runs clippy with `-D warnings` over this file, so the
//! generated code passes clippy's default lints too.
#![deny(warnings)]

use gradc::network;

network! {
    /// Public, documented.
    pub struct PublicNet {
        input: [3], dense(4), gelu, dense(2),
        loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
    }
}

network! {
    struct PrivateNet {
        input: [3], #[frozen] a: dense(4), b: prelu(per_unit = true), c: dense(2, bias = false),
        loss: binary_cross_entropy, optimizer: sgd(lr = 0.1), dtype: f64,
    }
}

network! {
    struct NoParams {
        input: [3], act: tanh,
        loss: mse, optimizer: sgd(lr = 0.1),
    }
}

network! {
    struct AllFrozen {
        input: [3], #[frozen] a: dense(2),
        loss: mse, optimizer: sgd(lr = 0.1),
    }
}

network! {
    struct WithMomentum {
        input: [3], a: dense(4), relu, b: dense(2),
        loss: mse, optimizer: momentum(lr = 0.1, clip_norm = 1),
    }
}

network! {
    struct WithNesterov {
        input: [3], a: dense(4), b: batch_norm, c: dense(2),
        loss: softmax_cross_entropy, optimizer: nesterov(lr = 0.1),
    }
}

network! {
    struct WithRmsProp {
        input: [3], a: dense(4), b: prelu, c: dense(1),
        loss: binary_cross_entropy, optimizer: rmsprop(eps_inside = false), dtype: f64,
    }
}

network! {
    struct WithAdam {
        input: [3], a: dense(4), b: batch_norm, c: dropout(0.5), d: dense(2),
        loss: mse, optimizer: adam(clip_norm = 2),
    }
}

network! {
    struct WithAdamW {
        input: [3], #[frozen] a: dense(4), b: elu, c: dense(2),
        loss: softmax_cross_entropy, optimizer: adamw(weight_decay = 0.1),
    }
}

#[test]
fn every_optimizer_steps() {
    let x = gradc::ndarray::Array2::<f32>::ones((2, 3));
    let values = gradc::ndarray::Array2::<f32>::zeros((2, 2));
    let single = gradc::ndarray::Array2::<f64>::zeros((2, 1));
    assert!(WithMomentum::new(0).train_step(x.view(), &values).is_ok());
    assert!(WithNesterov::new(0).train_step(x.view(), &[0, 1]).is_ok());
    assert!(WithRmsProp::new(0).train_step(x.mapv(f64::from).view(), &single).is_ok());
    assert!(WithAdam::new(0).train_step(x.view(), &values).is_ok());
    assert!(WithAdamW::new(0).train_step(x.view(), &[1, 0]).is_ok());
}

#[test]
fn degenerate_networks_still_run() {
    let x = gradc::ndarray::Array2::<f32>::ones((2, 3));
    let mut net = NoParams::new(0);
    let stats = net.train_step(x.view(), &gradc::ndarray::Array2::<f32>::zeros((2, 3))).unwrap();
    assert!((stats.loss - 1f64.tanh().powi(2)).abs() < 1e-6);
    let mut frozen = AllFrozen::new(0);
    let before = frozen.param("a.weight").unwrap().to_owned();
    frozen.train_step(x.view(), &gradc::ndarray::Array2::<f32>::zeros((2, 2))).unwrap();
    assert_eq!(frozen.param("a.weight").unwrap(), before);
    assert!(frozen.set_trainable("a", true).is_err());
    let _ = (PublicNet::new(1), PrivateNet::new(1));
}
