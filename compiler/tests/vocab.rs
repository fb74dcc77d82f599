//! Each vocabulary's table and its exhaustive facts agree: every entry, written back with
//! `describe()`, checks as the same entry, and every entry of every table is reachable from
//! the DSL under its own name.

use gradc_compiler::dsl;
use gradc_compiler::vocab::{self, ACTIVATIONS, INITS, LAYERS, LOSSES, LayerKind, OPTIMIZERS, REGULARIZERS};

fn network(layers: &str, optimizer: &str) -> dsl::ast::Network {
    network_on("[3]", layers, optimizer)
}

fn network_on(input: &str, layers: &str, optimizer: &str) -> dsl::ast::Network {
    let src = format!("struct N {{ input: {input}, {layers}, out: dense(2), loss: mse, optimizer: {optimizer} }}");
    dsl::check(dsl::parse(src.parse().unwrap()).unwrap()).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// A call of `spec` with its required arguments given.
fn call<T>(spec: &vocab::Spec<T>) -> String {
    let required: Vec<String> = spec
        .args
        .iter()
        .filter(|a| matches!(a.default, vocab::Default::Required(_)))
        .map(|a| match a.ty {
            vocab::ArgType::Count { min } => format!("{} = {}", a.name, min + 2),
            vocab::ArgType::Size { .. } => format!("{} = (2, 3)", a.name),
            _ => format!("{} = 0.5", a.name),
        })
        .collect();
    if required.is_empty() { spec.name.to_string() } else { format!("{}({})", spec.name, required.join(", ")) }
}

#[test]
fn every_activation_and_layer_round_trips_through_describe() {
    for spec in ACTIVATIONS {
        let first = network(&format!("a: {}", call(spec)), "sgd(0.1)");
        assert_eq!(first.layers[0].kind.name(), spec.name);
        let again = network(&format!("a: {}", first.layers[0].kind.describe()), "sgd(0.1)");
        assert_eq!(again.layers[0].kind, first.layers[0].kind, "{}", spec.name);
    }
    for spec in LAYERS {
        // Image layers get an image, and a flatten after them when they output one.
        let (input, after) = match spec.name {
            "conv2d" | "max_pool2d" | "avg_pool2d" => ("[3, 6, 6]", ", f: flatten"),
            "global_avg_pool" | "flatten" => ("[3, 6, 6]", ""),
            _ => ("[3]", ""),
        };
        let first = network_on(input, &format!("a: {}{after}", call(spec)), "sgd(0.1)");
        assert_eq!(first.layers[0].kind.name(), spec.name);
        let again = network_on(input, &format!("a: {}{after}", first.layers[0].kind.describe()), "sgd(0.1)");
        assert_eq!(again.layers[0].kind, first.layers[0].kind, "{}", spec.name);
    }
}

#[test]
fn every_initializer_round_trips_through_describe() {
    for spec in INITS {
        let net = network(&format!("a: dense(4, init = {})", call(spec)), "sgd(0.1)");
        let LayerKind::Dense { init, .. } = net.layers[0].kind else { panic!("a dense layer") };
        assert_eq!(init.name(), spec.name);
        let again = network(&format!("a: dense(4, init = {})", init.describe()), "sgd(0.1)");
        assert_eq!(again.layers[0].kind, net.layers[0].kind, "{}", spec.name);
    }
}

#[test]
fn every_optimizer_round_trips_through_describe() {
    for spec in OPTIMIZERS {
        let first = network("a: relu", &format!("{}(lr = 0.5, clip_norm = 2)", spec.name));
        assert_eq!(first.optimizer.rule.name(), spec.name);
        assert_eq!(first.optimizer.clip_norm, Some(2.0));
        let again = network("a: relu", &first.optimizer.describe());
        assert_eq!(again.optimizer, first.optimizer, "{}", spec.name);
    }
}

#[test]
fn every_loss_and_regularizer_is_reachable_by_name() {
    for spec in LOSSES {
        let src = format!("struct N {{ input: [3], dense(2), loss: {}, optimizer: sgd(0.1) }}", spec.name);
        let net = dsl::check(dsl::parse(src.parse().unwrap()).unwrap()).unwrap();
        assert_eq!(net.loss.0.name(), spec.name);
    }
    for spec in REGULARIZERS {
        let src =
            format!("struct N {{ input: [3], dense(2), loss: mse, optimizer: sgd(0.1), regularize: {} }}", call(spec));
        let net = dsl::check(dsl::parse(src.parse().unwrap()).unwrap()).unwrap();
        assert!(net.regularize.l1 + net.regularize.l2 > 0.0, "{}", spec.name);
    }
}

#[test]
fn the_reference_lists_every_entry_with_its_arguments() {
    let reference = vocab::reference::reference();
    for (name, args) in ACTIVATIONS
        .iter()
        .map(|s| (s.name, s.args))
        .chain(LAYERS.iter().map(|s| (s.name, s.args)))
        .chain(OPTIMIZERS.iter().map(|s| (s.name, s.args)))
        .chain(INITS.iter().map(|s| (s.name, s.args)))
    {
        let line = reference.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or_else(|| panic!("{name}"));
        for arg in args {
            assert!(line.contains(arg.name), "{name}: {line}");
        }
    }
}
