//! Behaviour of the stages below the macro: checking, lowering, the verifier, the passes.

use gradc_compiler::ir::{Const, Graph, Mode, Num, Op, Output, verify};
use gradc_compiler::lower::lower;
use gradc_compiler::vocab::{InitSpec, LayerKind};
use gradc_compiler::{compile, dsl};

fn network(src: &str) -> gradc_compiler::dsl::ast::Network {
    dsl::check(dsl::parse(src.parse().unwrap()).unwrap()).unwrap()
}

fn errors(src: &str) -> Vec<String> {
    match dsl::parse(src.parse().unwrap()).and_then(dsl::check) {
        Ok(_) => vec![],
        Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn unnamed_layers_are_named_by_position_like_sequential() {
    let net = network("struct N { input: [3], dense(4), relu, named: dense(2), loss: mse, optimizer: sgd(lr = 0.1) }");
    let names: Vec<_> = net.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["0", "1", "named"]);
    assert_eq!(
        net.layers[0].kind,
        LayerKind::Dense { units: 4, init: InitSpec::HeNormal, bias: true, l1: None, l2: None }
    );
}

#[test]
fn several_mistakes_are_reported_together() {
    let found = errors("struct N { input: [3], dense(0), rleu, loss: mse, loss: mse, optimizer: sgd(lr = -1) }");
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(found[0].contains("`units` must be at least 1"));
    assert!(found[1].contains("unknown layer `rleu`"));
    assert!(found[2].contains("`loss` given twice"));
    assert!(found[3].contains("`lr` must be non-negative"), "{found:?}");
}

#[test]
fn a_valid_declaration_has_no_errors() {
    assert!(
        errors("struct N { input: [3], dense(2), loss: mse, optimizer: sgd(0.5), dtype: f64, fusion: false }")
            .is_empty()
    );
}

#[test]
fn numbers_print_compactly() {
    assert_eq!(Num(1.0).to_string(), "1");
    assert_eq!(Num(0.01).to_string(), "0.01");
    assert_eq!(Num(1e-8).to_string(), "1e-8");
    assert_eq!(Const::per_batch(0.5).to_string(), "0.5/B");
}

#[test]
fn the_verifier_rejects_a_shape_the_operands_do_not_give() {
    let net = network("struct N { input: [3], a: dense(4), b: dense(2), loss: mse, optimizer: sgd(lr = 0.1) }");
    let mut graph: Graph = lower(&net, Mode::Inference).unwrap();
    verify(&graph, "lowering").unwrap();
    // Make b's matmul read a's weight ([4,3]) instead of its own ([2,4]): the inner sizes clash.
    let a_weight = graph.param("a.weight").unwrap();
    let b_weight = graph.param("b.weight").unwrap();
    graph.replace_uses(b_weight, a_weight);
    let error = verify(&graph, "sabotage").unwrap_err();
    assert!(error.contains("after sabotage") && error.contains("matmul"), "{error}");
}

#[test]
fn the_verifier_rejects_an_output_naming_a_removed_node() {
    let net = network("struct N { input: [3], a: dense(4), loss: mse, optimizer: sgd(lr = 0.1) }");
    let mut graph = lower(&net, Mode::Inference).unwrap();
    let prediction = graph.output(&Output::Prediction).unwrap();
    graph.remove(prediction);
    assert!(verify(&graph, "sabotage").unwrap_err().contains("removed node"));
}

#[test]
fn dce_removes_the_input_gradient_and_frozen_gradients() {
    let compiled = compile(
        "struct N { input: [3], #[frozen] a: dense(4), act: tanh, b: dense(2), loss: mse, optimizer: sgd(lr = 0.1) }"
            .parse()
            .unwrap(),
    )
    .unwrap();
    let train = &compiled.train;
    let input = train.node_ids().into_iter().find(|&n| *train.op(n) == Op::Input).unwrap();
    // The input is read only by the forward matmul and b's weight gradient reads no input.
    assert_eq!(train.users(input).len(), 1, "{train}");
    let grads: Vec<String> = train.outputs().map(|(o, _)| o.to_string()).collect();
    assert_eq!(grads, ["prediction", "loss", "grad b.bias", "grad b.weight"]);
    // No update writes a frozen parameter, and nothing computes a's gradients.
    assert_eq!(train.node_ids().into_iter().filter(|&n| train.op(n).has_side_effect()).count(), 2);
    assert!(!train.to_string().contains("# a (grad)"), "{train}");
}

#[test]
fn cse_leaves_one_node_per_distinct_computation() {
    let compiled = compile(
        "struct N { input: [3], a: dense(4), relu, b: dense(3), relu, loss: mse, optimizer: sgd(lr = 0.1) }"
            .parse()
            .unwrap(),
    )
    .unwrap();
    let train = &compiled.train;
    let mut seen = std::collections::BTreeSet::new();
    for n in train.node_ids() {
        if train.op(n).is_leaf() && !matches!(train.op(n), Op::Const(_)) || train.op(n).has_side_effect() {
            continue;
        }
        // Rematerialization deliberately recomputes forward values in the backward phase.
        let key = format!("{:?} {:?} {:?}", train.op(n), train.operands(n), train.node(n).phase);
        assert!(seen.insert(key.clone()), "duplicate node {key}\n{train}");
    }
}

#[test]
fn the_stable_loss_forms_replace_the_textbook_ones() {
    let bce = compile(
        "struct N { input: [3], dense(2), loss: binary_cross_entropy, optimizer: sgd(lr = 0.1) }".parse().unwrap(),
    )
    .unwrap();
    let text = bce.train.to_string();
    assert!(text.contains("binary_cross_entropy_with_logits"), "{text}");
    assert!(!text.contains("binary_cross_entropy_grad") && !text.contains("sigmoid_grad"), "{text}");
    let ce = compile(
        "struct N { input: [3], dense(2), loss: softmax_cross_entropy, optimizer: sgd(lr = 0.1) }".parse().unwrap(),
    )
    .unwrap();
    let text = ce.train.to_string();
    assert!(text.contains("softmax_cross_entropy") && text.contains("one_hot[2]"), "{text}");
    assert!(!text.contains("= cross_entropy") && !text.contains("softmax_vjp"), "{text}");
}

#[test]
fn updates_run_after_every_gradient() {
    let compiled = compile(
        "struct N { input: [3], dense(4), relu, dense(2), loss: mse, optimizer: sgd(lr = 0.1) }".parse().unwrap(),
    )
    .unwrap();
    let order = compiled.train.schedule().unwrap().to_vec();
    let first_update = order.iter().position(|&n| compiled.train.op(n).has_side_effect()).unwrap();
    assert!(order[first_update..].iter().all(|&n| compiled.train.op(n).has_side_effect()));
}

#[test]
fn a_max_pool_gradient_reads_the_forward_pool_that_saved_its_maxima() {
    let src = "struct N { input: [1, 4, 4], conv: conv2d(2, 3, padding = 1), pool: max_pool2d(2), act: relu, \
               flatten, out: dense(2), loss: mse, optimizer: sgd(lr = 0.1) }";
    let mut train = compile(src.parse().unwrap()).unwrap().train;
    let ids = train.node_ids();
    let pool = ids.iter().copied().find(|&n| matches!(train.op(n), Op::MaxPool2d(_))).unwrap();
    let grad = ids.iter().copied().find(|&n| matches!(train.op(n), Op::MaxPool2dGrad(_))).unwrap();
    assert_eq!(train.operands(grad)[0], pool, "{train}");
    verify(&train, "compile").unwrap();
    // The relu after the pool has the pool's shape but saved no maxima.
    let relu = train.users(pool).into_iter().find(|&u| matches!(train.op(u), Op::Unary(_))).unwrap();
    train.set_operand(grad, 0, relu);
    let error = verify(&train, "sabotage").unwrap_err();
    assert!(error.contains("does not read the forward pool"), "{error}");
}

#[test]
fn deep_nesting_is_a_spanned_error_not_a_stack_overflow() {
    let deep_init = format!(
        "struct N {{ input: [3], a: dense(4, init = {}0.1{}), loss: mse, optimizer: sgd(lr = 0.1) }}",
        "normal(".repeat(10_000),
        ")".repeat(10_000)
    );
    let deep_blocks = format!(
        "struct N {{ input: [3], {} relu {}, loss: mse, optimizer: sgd(lr = 0.1) }}",
        "residual { ".repeat(2_000),
        "}".repeat(2_000)
    );
    // On an 8 MiB stack, as rustc's thread that runs macros has (a test thread has 2 MiB,
    // which the tokenizer of this test's text alone exceeds with `span-locations`).
    let errors = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            [deep_init, deep_blocks].map(|src| dsl::parse(src.parse().unwrap()).err().expect("too deep").to_string())
        })
        .unwrap()
        .join()
        .unwrap();
    for error in errors {
        assert!(error.contains("nested more than 64 levels deep"), "{error}");
    }
}

#[test]
fn a_product_reading_a_fused_value_does_not_head_its_group() {
    // Found by the property test: the projection's matmul reads the prelu output, which is in
    // the same elementwise group; as the group's head it would run before its own input.
    let src = "struct N { input: [4], l0: prelu, residual { residual(project = dense) { gelu } }, \
               out: dense(3), loss: mse, optimizer: sgd(lr = 0.01) }";
    let code = gradc_compiler::try_expand(src.parse().unwrap()).unwrap();
    syn::parse2::<syn::File>(code).unwrap();
}
