//! Thirty generated networks (see `tests/generated/networks.rs`) and two wide ones through the
//! real macro, held to the compiler's reference interpreter: on random inputs, the loss, every
//! gradient, the first update of every parameter (running statistics included) and the
//! prediction of the compiled code agree with the interpreted graphs of the same declaration.

#[path = "../compiler/tests/support/interpreter.rs"]
mod interpreter;
#[path = "../compiler/tests/support/random_networks.rs"]
mod random_networks;

use gradc::ndarray::{Array2, ArrayViewD};
use gradc::{Float, Model, network};
use gradc_compiler::ir::Output;
use interpreter::{Tensor, interpret};
use random_networks::{Gen, inputs};

/// The largest difference between the compiled value and the interpreter's, relative to
/// the larger of 1 and the values' size; elements where `skip` holds are left out.
fn difference<T: Float>(compiled: &ArrayViewD<'_, T>, reference: &Tensor, skip: impl Fn(usize) -> bool) -> f64 {
    assert_eq!(compiled.len(), reference.data.len(), "sizes differ");
    let values: Vec<f64> = compiled.iter().map(|v| v.as_f64()).collect();
    let scale = values.iter().chain(&reference.data).fold(1.0f64, |m, v| m.max(v.abs()));
    let worst = values
        .iter()
        .zip(&reference.data)
        .enumerate()
        .filter(|(i, _)| !skip(*i))
        .map(|(_, (a, b))| (a - b).abs())
        .fold(0.0, f64::max);
    worst / scale
}

/// Compiles `declaration` with the compiler library, interprets its graphs on random data
/// and compares them with `M`, the same declaration expanded by `network!`. Returns the
/// largest relative difference seen.
fn check<M: Model + Clone + NewNetwork>(declaration: &str, seed: u64) -> f64 {
    let compiled = gradc_compiler::compile(declaration.parse().unwrap()).expect("the declaration compiles");
    let tolerance = if M::Scalar::NAME == "f64" { 1e-9 } else { 2e-4 };
    let mut g = Gen(seed);
    let net = M::new_network(seed);
    let mut data = inputs(&mut g, &compiled.train, 3);
    // The network's own initial parameters, and the data rounded to its float type.
    for spec in M::info().params {
        let values = net.param(spec.name).unwrap().iter().map(|v| v.as_f64()).collect();
        data.params.insert(spec.name.to_string(), values);
        data.lr_scales.insert(spec.name.to_string(), spec.lr_scale);
    }
    data.lr = net.state().lr;
    let round = |v: &mut Vec<f64>| v.iter_mut().for_each(|x| *x = M::Scalar::from_f64(*x).as_f64());
    round(&mut data.x);
    round(&mut data.targets);
    let width = M::info().input_width;
    let x = Array2::from_shape_fn((3, width), |(r, c)| M::Scalar::from_f64(data.x[r * width + c]));
    let outputs = M::info().output_width;
    let values = Array2::from_shape_fn((3, outputs), |(r, c)| {
        M::Scalar::from_f64(data.targets.get(r * outputs + c).copied().unwrap_or(0.0))
    });
    let targets = || match data.labels.is_empty() {
        true => gradc::Targets::Values(values.view()),
        false => gradc::Targets::Classes(&data.labels),
    };

    let reference = interpret(&compiled.train, &data);
    let mut worst = 0.0f64;
    let mut note = |what: &str, d: f64| {
        assert!(d <= tolerance, "{what} differs by {d:e} (tolerance {tolerance:e}) in\n{declaration}");
        worst = worst.max(d);
    };

    // Loss and gradients.
    let mut run = net.clone();
    let loss = run.loss_and_grads(x.view(), targets()).unwrap().loss;
    let expected = reference.outputs[&Output::Loss].data[0];
    note("the loss", (loss - expected).abs() / expected.abs().max(1.0));
    for (output, value) in &reference.outputs {
        if let Output::Grad(name) = output {
            note(&format!("the gradient of `{name}`"), difference(&run.grad(name).unwrap(), value, |_| false));
        }
    }

    // One step: every update the compiled graph makes. Adam and RMSProp divide a gradient by
    // its own size, so an element whose gradient is zero up to rounding takes a step of
    // arbitrary sign: those elements are left out.
    let mut stepped = net.clone();
    stepped.train_step(x.view(), targets()).unwrap();
    for (name, value) in &reference.updates {
        let gradient = reference.outputs.get(&Output::Grad(name.clone()));
        let tiny = |i: usize| gradient.is_some_and(|g| g.data[i].abs() < 1e-6);
        note(&format!("the update of `{name}`"), difference(&stepped.param(name).unwrap(), value, tiny));
    }

    // The prediction, in evaluation mode.
    let prediction = interpret(&compiled.forward, &data).outputs[&Output::Prediction].clone();
    let forward = net.forward(x.view()).unwrap();
    note("the prediction", difference(&forward.view().into_dyn(), &prediction, |_| false));
    worst
}

/// `Model` has no constructor; every generated network has `new(seed)`.
trait NewNetwork {
    fn new_network(seed: u64) -> Self;
}

macro_rules! cases {
    ($($name:ident { $($body:tt)* })*) => {
        $(
            network! { struct $name { $($body)* } }
            impl NewNetwork for $name {
                fn new_network(seed: u64) -> Self {
                    $name::new(seed)
                }
            }
        )*

        /// Checks every case; returns how many ran and the largest difference.
        fn check_all() -> (usize, f64) {
            let mut results: Vec<f64> = Vec::new();
            $(
                let seed = results.len() as u64 + 1;
                results.push(check::<$name>(stringify!(struct $name { $($body)* }), seed));
            )*
            (results.len(), results.into_iter().fold(0.0, f64::max))
        }
    };
}

include!("generated/networks.rs");

#[test]
fn generated_networks_agree_with_the_interpreter() {
    let (count, worst) = check_all();
    assert_eq!(count, 30);
    eprintln!("{count} generated networks agree with the interpreter; largest relative difference {worst:e}");
}

// Widths that are multiples of 16 and 32 (f64, and f32 without the ill-conditioned tanh after a
// batch norm of three rows): their row sums (batch norm's statistics and
// gradients, the biases' gradients) run in column blocks. The layer names are the kernels'
// own local names (`len`, `j`, `c0`, `b0`, `BLOCK`) or shaped like them (`h_row`, `h_block`).
network! {
    struct WideBlocks {
        input: [40], len: dense(48), j: batch_norm, c0: relu, b0: dense(64), h: relu,
        h_row: dense(32), h_block: batch_norm, BLOCK: tanh, out: dense(3),
        loss: softmax_cross_entropy, optimizer: adam(lr = 0.01), dtype: f64
    }
}
network! {
    struct WideBlocks64 {
        input: [16], fc: dense(96), bn: batch_norm, act: relu, out: dense(2),
        loss: mse, optimizer: momentum(lr = 0.01)
    }
}

impl NewNetwork for WideBlocks {
    fn new_network(seed: u64) -> Self {
        WideBlocks::new(seed)
    }
}

impl NewNetwork for WideBlocks64 {
    fn new_network(seed: u64) -> Self {
        WideBlocks64::new(seed)
    }
}

#[test]
fn column_blocked_row_sums_agree_with_the_interpreter() {
    let declaration = "struct WideBlocks { input: [40], len: dense(48), j: batch_norm, c0: relu, b0: dense(64), \
                       h: relu, h_row: dense(32), h_block: batch_norm, BLOCK: tanh, out: dense(3), \
                       loss: softmax_cross_entropy, optimizer: adam(lr = 0.01), dtype: f64 }";
    check::<WideBlocks>(declaration, 7);
    let declaration = "struct WideBlocks64 { input: [16], fc: dense(96), bn: batch_norm, act: relu, out: dense(2), \
                       loss: mse, optimizer: momentum(lr = 0.01) }";
    check::<WideBlocks64>(declaration, 8);
}
