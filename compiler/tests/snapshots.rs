//! Snapshots of a catalogue of networks: the IR after each pass of both pipelines (verified
//! after every pass) and the pretty-printed generated code. Review every change like code.

use gradc_compiler::ir::Mode;
use gradc_compiler::lower::lower;
use gradc_compiler::{dsl, pass_options, passes};

/// The IR of the training and inference pipelines: `## input`, then `## after <pass>`.
fn trace(src: &str) -> String {
    let network = dsl::check(dsl::parse(src.parse().unwrap()).unwrap()).unwrap();
    let mut out = String::new();
    let options = pass_options(&network);
    for (mode, pipeline) in
        [(Mode::Training, passes::training_pipeline(&options)), (Mode::Inference, passes::inference_pipeline(&options))]
    {
        let mut graph = lower(&network, mode).unwrap();
        gradc_compiler::ir::verify(&graph, "lowering").unwrap();
        out.push_str(&format!("## input ({mode:?})\n{graph}\n"));
        passes::run(&mut graph, &pipeline, |name, g| out.push_str(&format!("## after {name}\n{g}\n"))).unwrap();
    }
    out
}

/// The generated code, formatted.
fn code(src: &str) -> String {
    let tokens = gradc_compiler::try_expand(src.parse().unwrap()).unwrap();
    prettyplease::unparse(&syn::parse2(tokens).unwrap())
}

macro_rules! catalogue {
    ($($name:ident => $src:literal,)*) => {$(
        #[test]
        fn $name() {
            insta::assert_snapshot!(concat!(stringify!($name), "_passes"), trace($src));
            insta::assert_snapshot!(concat!(stringify!($name), "_code"), code($src));
        }
    )*};
}

catalogue! {
    digits_mlp => "
        /// The digits network of the main example.
        pub struct DigitNet {
            input: [64], fc1: dense(128), act1: relu, fc2: dense(64), act2: relu, out: dense(10),
            loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
        }",
    activations_mse => "
        struct Activations {
            input: [3], dense(4), sigmoid, dense(4), tanh, dense(4), leaky_relu(0.2), dense(4), elu,
            dense(4), selu, dense(4), gelu, dense(4), gelu(approximate = tanh), dense(4), silu, dense(2),
            loss: mse, optimizer: sgd(lr = 0.01), dtype: f64,
        }",
    prelu_bce => "
        pub(crate) struct PreluNet {
            input: [5], hidden: dense(6), slope: prelu, wide: dense(4), per_unit: prelu(init = 0.1, per_unit = true),
            out: dense(3), loss: binary_cross_entropy, optimizer: sgd(lr = 0.05),
        }",
    frozen_base => "
        struct FineTune {
            input: [8],
            #[frozen] base: dense(16, init = lecun_normal), base_act: selu,
            head: dense(4, bias = false),
            loss: softmax_cross_entropy, optimizer: sgd(lr = 0.01),
        }",
    linear_regression => "
        struct Linear { input: [3], dense(1, init = zeros), loss: mse, optimizer: sgd(lr = 0.1), dtype: f64 }",
    batch_norm_dropout_fused => "
        struct BnNet {
            input: [6], fc1: dense(8), bn1: batch_norm, act1: relu, drop1: dropout(0.25),
            out: dense(3), loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1), regularize: l2(1e-4),
        }",
    batch_norm_unfused => "
        struct BnPlain {
            input: [6], fc1: dense(8), bn1: batch_norm(momentum = 0.2), act1: tanh,
            out: dense(2), loss: mse, optimizer: sgd(lr = 0.1), fusion: false,
        }",
    momentum_clip_norm => "
        struct Momentum {
            input: [3], hidden: dense(4), act: relu, out: dense(2),
            loss: mse, optimizer: momentum(lr = 0.1, beta = 0.8, clip_norm = 1),
        }",
    nesterov => "
        struct Nesterov {
            input: [3], hidden: dense(4), act: tanh, out: dense(2),
            loss: softmax_cross_entropy, optimizer: nesterov(lr = 0.05),
        }",
    rmsprop_eps_outside => "
        struct RmsNet {
            input: [3], hidden: dense(4), act: relu, out: dense(2),
            loss: mse, optimizer: rmsprop(lr = 0.01, beta = 0.99, eps_inside = false), dtype: f64,
        }",
    adam_batch_norm => "
        struct AdamNet {
            input: [3], hidden: dense(4), bn: batch_norm, act: relu, out: dense(2),
            loss: softmax_cross_entropy, optimizer: adam(lr = 0.001),
        }",
    adamw_clip_norm_frozen => "
        struct AdamWNet {
            input: [3], #[frozen] base: dense(4), act: silu, out: dense(2),
            loss: binary_cross_entropy, optimizer: adamw(weight_decay = 0.05, clip_norm = 0.5),
        }",
    small_cnn => "
        struct SmallCnn {
            input: [1, 6, 6], conv: conv2d(2, 3, padding = 1), bn: batch_norm, act: relu, pool: max_pool2d(2),
            flat: flatten, out: dense(2), loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1),
        }",
    residual_block => "
        struct ResBlock {
            input: [4], fc: dense(4), res: residual(project = dense) { a: dense(3), b: relu },
            out: dense(2), loss: mse, optimizer: sgd(lr = 0.1),
        }",
    shared_output_activation => "
        struct Squash {
            input: [2], dense(3, init = normal(0.5)), tanh, dense(2, init = uniform(0.1)), sigmoid,
            loss: binary_cross_entropy, optimizer: sgd(lr = 1), fusion: false,
        }",
}

#[test]
fn switching_off_a_loss_rule_keeps_the_textbook_form() {
    let network = dsl::check(
        dsl::parse(
            "struct N { input: [2], dense(3), loss: softmax_cross_entropy, optimizer: sgd(lr = 1) }".parse().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let mut graph = lower(&network, Mode::Training).unwrap();
    let pipeline: Vec<Box<dyn passes::Pass>> = vec![
        Box::new(passes::Autodiff),
        Box::new(passes::Simplify {
            disabled: vec!["softmax_cross_entropy", "softmax_cross_entropy_grad"],
            no_cse: false,
        }),
        Box::new(passes::DeadCodeElimination),
    ];
    passes::run(&mut graph, &pipeline, |_, _| {}).unwrap();
    let text = graph.to_string();
    assert!(text.contains("= cross_entropy "), "{text}");
    assert!(text.contains("softmax_vjp"), "{text}");
    assert!(!text.contains("softmax_cross_entropy"), "{text}");
}
