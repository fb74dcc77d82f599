//! The generated code compiles without a single warning, for public and private structs,
//! f32 and f64, every loss, and networks with no parameters at all.
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
