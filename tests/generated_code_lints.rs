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

network! {
    /// Layer names that are also identifiers of the generated code (arguments, loop indices,
    /// fused locals, the graph module's functions).
    struct ClashingNames {
        input: [3], x: dense(4), batch: batch_norm, c: relu, r: dropout(0.1), i: dense(4), v3: tanh,
        col2: dense(3), forward: sigmoid, update: prelu, out: dense(2), params: tanh, buffers: dense(2),
        loss: softmax_cross_entropy, optimizer: adam(0.01),
    }
}

network! {
    /// The same network with plain names.
    struct PlainNames {
        input: [3], l0: dense(4), l1: batch_norm, l2: relu, l3: dropout(0.1), l4: dense(4), l5: tanh,
        l6: dense(3), l7: sigmoid, l8: prelu, l9: dense(2), l10: tanh, l11: dense(2),
        loss: softmax_cross_entropy, optimizer: adam(0.01),
    }
}

#[test]
fn layer_names_never_change_what_is_computed() {
    let x = gradc::ndarray::Array2::<f32>::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f32 * 0.2 - 1.0);
    let labels = [0, 1, 1, 0];
    let (mut clashing, mut plain) = (ClashingNames::new(0), PlainNames::new(0));
    let first = plain.train_step(x.view(), &labels).unwrap().loss;
    assert_eq!(clashing.train_step(x.view(), &labels).unwrap().loss, first);
    let mut last = first;
    for _ in 0..50 {
        last = plain.train_step(x.view(), &labels).unwrap().loss;
        assert_eq!(clashing.train_step(x.view(), &labels).unwrap().loss, last);
    }
    assert!(last < first, "the network learns: {first} -> {last}");
    assert_eq!(clashing.forward(x.view()).unwrap(), plain.forward(x.view()).unwrap());
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
