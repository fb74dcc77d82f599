//! Transfer learning on convolutional networks: a `#[frozen]` convolutional base gets no
//! updates and no gradient code, `set_trainable(layer, false)` stops a conv layer's updates
//! at run time, and a CNN with residual blocks saves and loads (PyTorch names and layouts)
//! to the same outputs.

mod common;

use gradc::network;

network! {
    struct FrozenBase {
        input: [2, 6, 6],
        #[frozen] conv1: conv2d(4, 3, padding = 1), #[frozen] bn1: batch_norm, act1: relu, pool: max_pool2d(2),
        flat: flatten, head: dense(3),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
    }
}

network! {
    struct Tunable {
        input: [2, 6, 6],
        conv1: conv2d(4, 3, padding = 1), act1: relu,
        res: residual(project = conv1x1) { conv2d(5, 3, stride = 2, padding = 1), tanh },
        gap: global_avg_pool, head: dense(3),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01),
    }
}

fn batch() -> (gradc::ndarray::Array2<f32>, Vec<usize>) {
    (common::matrix(6, 2 * 6 * 6, 11, 1.0).mapv(|v| v as f32), vec![0, 1, 2, 0, 1, 2])
}

#[test]
fn a_frozen_convolutional_base_does_not_move_and_has_no_gradient_code() {
    let mut net = FrozenBase::new(1);
    let base = common::snapshot(&net);
    let (x, labels) = batch();
    for _ in 0..5 {
        net.train_step(x.view(), &labels).unwrap();
    }
    let after = common::snapshot(&net);
    for ((name, before), (_, now)) in base.iter().zip(&after) {
        let frozen = name.starts_with("conv1.") || name.starts_with("bn1.");
        assert_eq!(before == now, frozen, "{name}: frozen {frozen}");
    }
    assert!(!FrozenBase::TRAIN_IR.contains("conv2d_grad"), "{}", FrozenBase::TRAIN_IR);
}

#[test]
fn set_trainable_stops_a_conv_layer_at_run_time() {
    let mut net = Tunable::new(2);
    net.set_trainable("conv1", false).unwrap();
    net.set_trainable("res.project", false).unwrap();
    let before = common::snapshot(&net);
    let (x, labels) = batch();
    for _ in 0..5 {
        net.train_step(x.view(), &labels).unwrap();
    }
    for ((name, was), (_, now)) in before.iter().zip(&common::snapshot(&net)) {
        let stopped = name.starts_with("conv1.") || name.starts_with("res.project.");
        assert_eq!(was == now, stopped, "{name}");
    }
}

#[test]
fn a_residual_cnn_saves_and_loads_to_the_same_outputs() {
    let mut trained = Tunable::new(3);
    let (x, labels) = batch();
    for _ in 0..3 {
        trained.train_step(x.view(), &labels).unwrap();
    }
    let path = std::env::temp_dir().join(format!("gradc-cnn-{}.safetensors", std::process::id()));
    trained.save(&path).unwrap();
    let mut fresh = Tunable::new(99);
    assert_ne!(fresh.forward(x.view()).unwrap(), trained.forward(x.view()).unwrap());
    fresh.load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(fresh.forward(x.view()).unwrap(), trained.forward(x.view()).unwrap());
    assert!(fresh.param_names().contains(&"res.project.weight"));
}
