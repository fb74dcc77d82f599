//! Random-network property tests against a reference interpreter.
//!
//! For a few hundred generated networks (depth, widths, activations, batch norm, dropout,
//! convolutions, pooling, residual blocks, losses, optimizers, regularizers, dtype, fusion on
//! and off), on random inputs and parameters:
//! - every pass preserves what the graph computes: the loss, every gradient, every update and
//!   the prediction agree, interpreted before and after the pass;
//! - the gradients autodiff derives agree with central differences of the interpreted loss.
//!
//! A few dozen generated networks without dropout also go through the real macro: they are
//! written to `tests/generated/networks.rs`, which `tests/generated_networks.rs` compiles and
//! compares with this interpreter. A test here keeps that file what the generator makes.

#[path = "support/interpreter.rs"]
mod interpreter;
#[path = "support/random_networks.rs"]
mod random_networks;

use gradc_compiler::ir::{Graph, Mode, Op, Output};
use gradc_compiler::{dsl, lower, passes};
use interpreter::{Inputs, Results, Tensor, interpret};
use random_networks::{Gen, body, declaration, inputs};

/// How many generated networks each test checks: 300, or `GRADC_PROPERTY_CASES`.
fn cases() -> usize {
    std::env::var("GRADC_PROPERTY_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

/// A seed, moved by `GRADC_PROPERTY_SEED` to explore other networks locally.
fn seed(base: u64) -> u64 {
    base ^ std::env::var("GRADC_PROPERTY_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// A generated network that compiles, with its checked declaration.
fn networks(seed: u64, count: usize) -> Vec<(String, dsl::ast::Network)> {
    let mut g = Gen(seed);
    let mut found: Vec<(String, dsl::ast::Network)> = Vec::new();
    let mut tries = 0;
    while found.len() < count {
        tries += 1;
        assert!(tries < count * 20, "the generator makes too few valid networks");
        let src = declaration(&mut g, "N");
        let tokens = src.parse().expect("generated declarations are token streams");
        let Ok(network) = dsl::parse(tokens).and_then(dsl::check) else { continue };
        if gradc_compiler::compile(src.parse().unwrap()).is_err() {
            continue;
        }
        found.push((src, network));
    }
    let with = |word: &str| found.iter().filter(|(src, _)| src.contains(word)).count();
    eprintln!(
        "{count} networks from {tries} tries: {} with images, {} batch norm, {} dropout, {} residual, {} f64, {} unfused",
        with("input: [1,") + with("input: [2,"),
        with("batch_norm"),
        with("dropout"),
        with("residual"),
        with("dtype: f64"),
        with("fusion: false"),
    );
    found
}

/// The largest difference between two tensors relative to their scale, over the elements
/// `keep` accepts.
fn difference(a: &Tensor, b: &Tensor, keep: impl Fn(usize) -> bool) -> f64 {
    assert_eq!(a.shape, b.shape);
    let scale = a.data.iter().chain(&b.data).fold(1.0f64, |m, v| m.max(v.abs()));
    let worst = (0..a.data.len()).filter(|&i| keep(i)).map(|i| (a.data[i] - b.data[i]).abs()).fold(0.0, f64::max);
    worst / scale
}

/// Checks that `after` computes what `before` did: every output and update both have.
fn assert_same(before: &Results, after: &Results, what: &str) -> usize {
    let mut compared = 0;
    for (output, value) in &after.outputs {
        if let Some(reference) = before.outputs.get(output) {
            let d = difference(reference, value, |_| true);
            assert!(d < 1e-9, "{what}: output `{output}` differs by {d:e}");
            compared += 1;
        }
    }
    for (param, value) in &after.updates {
        if let Some(reference) = before.updates.get(param) {
            // Adam and RMSProp divide a gradient by its own size: an element whose gradient
            // is zero up to rounding (a bias that batch norm cancels) takes a step of
            // arbitrary size and sign, so those elements are left out.
            let gradient = before.outputs.get(&Output::Grad(param.clone()));
            let d = difference(reference, value, |i| gradient.is_none_or(|g| g.data[i].abs() >= 1e-6));
            assert!(d < 1e-9, "{what}: the update of `{param}` differs by {d:e}");
            compared += 1;
        }
    }
    compared
}

/// Runs `pipeline` on `graph`, keeping the graph after each pass.
fn after_each_pass(mut graph: Graph, pipeline: &[Box<dyn passes::Pass>]) -> Vec<(String, Graph)> {
    let mut graphs = Vec::new();
    passes::run(&mut graph, pipeline, |name, g| graphs.push((name.to_string(), g.clone()))).expect("passes run");
    graphs
}

#[test]
fn every_pass_preserves_what_the_graph_computes() {
    let mut g = Gen(seed(0x5EED_0F9A_5500));
    let (mut checked, mut compared) = (0, 0);
    for (src, network) in networks(seed(0xC0FFEE), cases()) {
        let options = gradc_compiler::pass_options(&network);
        let fine_tunes = gradc_compiler::compile(src.parse().unwrap()).unwrap().fine_tune.is_some();
        let mut modes = vec![
            (Mode::Training, passes::training_pipeline(&options)),
            (Mode::Inference, passes::inference_pipeline(&options)),
            (Mode::Inspection, passes::inspection_pipeline(&options)),
        ];
        if fine_tunes {
            modes.push((Mode::FineTuning, passes::training_pipeline(&options)));
        }
        for (mode, pipeline) in modes {
            let lowered = lower::lower(&network, mode).unwrap();
            let mut data = inputs(&mut g, &lowered, 3);
            // Freeze about half of the batch norms a fine-tuning or inspection graph can switch.
            for n in lowered.node_ids() {
                if let Op::LayerTraining { layer } = lowered.op(n)
                    && g.chance(50)
                {
                    data.frozen_layers.push(layer.clone());
                }
            }
            let mut before = interpret(&lowered, &data);
            let mut previous = "lowering".to_string();
            for (pass, graph) in after_each_pass(lowered, &pipeline) {
                let after = interpret(&graph, &data);
                compared +=
                    assert_same(&before, &after, &format!("{mode:?} pass `{pass}` after `{previous}` on\n{src}"));
                (before, previous) = (after, pass);
            }
            checked += 1;
        }
    }
    // The comparisons must have happened: outputs and updates exist after the passes.
    assert!(compared > cases() * 10, "only {compared} comparisons over {checked} graphs");
    eprintln!(
        "{checked} graphs (training, inference, inspection, fine-tuning), {compared} outputs and updates compared across passes"
    );
}

/// ‖a − n‖ / (‖a‖ + ‖n‖ + 1e-3): relative for gradients of ordinary size, absolute (to
/// 1e-3) for gradients near zero, whose central differences carry rounding noise of about
/// ε·loss/h ≈ 1e-10.
fn relative_error(analytic: &[f64], numeric: &[f64]) -> f64 {
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let diff: Vec<f64> = analytic.iter().zip(numeric).map(|(a, n)| a - n).collect();
    norm(&diff) / (norm(analytic) + norm(numeric) + 1e-3)
}

fn loss(graph: &Graph, data: &Inputs) -> f64 {
    interpret(graph, data).outputs[&Output::Loss].data[0]
}

#[test]
fn autodiff_gradients_match_finite_differences_of_the_interpreted_loss() {
    const H: f64 = 1e-6;
    let mut g = Gen(seed(0xF1_D1FF));
    let (mut tensors, mut worst) = (0, 0.0f64);
    for (src, network) in networks(seed(0xBADC0DE), cases()) {
        let lowered = lower::lower(&network, Mode::Training).unwrap();
        let data = inputs(&mut g, &lowered, 3);
        let mut graph = lowered.clone();
        passes::run(&mut graph, &[Box::new(passes::Autodiff) as Box<dyn passes::Pass>], |_, _| {}).unwrap();
        let results = interpret(&graph, &data);
        for (output, analytic) in &results.outputs {
            let Output::Grad(param) = output else { continue };
            // At most 6 elements of each tensor, spread over it.
            let count = analytic.data.len();
            let picks: Vec<usize> = (0..count.min(6)).map(|i| i * count / count.min(6)).collect();
            let numeric: Vec<f64> = picks
                .iter()
                .map(|&i| {
                    let at = |delta: f64| {
                        let mut shifted = data.clone();
                        shifted.params.get_mut(param).unwrap()[i] += delta;
                        loss(&lowered, &shifted)
                    };
                    (at(H) - at(-H)) / (2.0 * H)
                })
                .collect();
            let analytic: Vec<f64> = picks.iter().map(|&i| analytic.data[i]).collect();
            let error = relative_error(&analytic, &numeric);
            assert!(
                error < 1e-5,
                "gradient of `{param}`: relative error {error:e}\nanalytic {analytic:?}\nnumeric  {numeric:?}\n{src}"
            );
            worst = worst.max(error);
            tensors += 1;
        }
    }
    assert!(tensors > cases(), "only {tensors} gradients checked");
    eprintln!("{tensors} gradient tensors checked; worst relative error {worst:e}");
}

/// How many generated networks go through the real macro.
const MACRO_NETWORKS: usize = 30;

/// The text of `tests/generated/networks.rs`.
fn macro_cases() -> String {
    let mut g = Gen(0x0DDBA11);
    let mut cases = Vec::new();
    while cases.len() < MACRO_NETWORKS {
        let name = format!("Net{}", cases.len());
        let items = body(&mut g, false);
        let src = format!("struct {name} {{ {items} }}");
        if gradc_compiler::compile(src.parse().unwrap()).is_ok() {
            cases.push(format!("    {name} {{ {items} }}"));
        }
    }
    format!(
        "// Written by `GRADC_WRITE_GENERATED=1 cargo test -p gradc-compiler --test random_networks`\n\
         // from the generator in compiler/tests/support/random_networks.rs; do not edit.\n\
         cases! {{\n{}\n}}\n",
        cases.join("\n")
    )
}

#[test]
fn the_macro_cases_are_what_the_generator_makes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/generated/networks.rs");
    let expected = macro_cases();
    if std::env::var_os("GRADC_WRITE_GENERATED").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == expected, "{} is stale: rerun with GRADC_WRITE_GENERATED=1", path.display());
}
