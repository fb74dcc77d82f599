//! Measures how long the `network!` expansion takes (parse, check, lower, every pass,
//! codegen) for W3 of the JAX comparison written out (60 layers), and for deep networks of
//! dense layers of width 64, each followed by an activation.
//!
//! ```text
//! cargo run -p gradc-compiler --example expansion_time            # as cargo build runs the macro
//! cargo run -p gradc-compiler --example expansion_time --release -- --deep   # + 1,000 and 10,000
//! ```

use std::time::{Duration, Instant};

fn declaration(depth: usize) -> String {
    let mut items = vec!["input: [64]".to_string()];
    for i in 0..depth {
        items.push(format!("fc{i}: dense(64)"));
        items.push(format!("act{i}: {}", ["relu", "tanh", "gelu", "prelu"][i % 4]));
    }
    items.push("out: dense(10)".into());
    items.push("loss: softmax_cross_entropy".into());
    items.push("optimizer: sgd(lr = 0.01)".into());
    format!("struct Deep {{ {} }}", items.join(", "))
}

/// W3 of the JAX comparison written out: 20 × (dense 64 → batch_norm → relu), 60 layers.
fn w3_written_out() -> String {
    let mut items = vec!["input: [64]".to_string()];
    for i in 0..20 {
        items.push(format!("fc{i}: dense(64), bn{i}: batch_norm, act{i}: relu"));
    }
    items.push("out: dense(10), loss: softmax_cross_entropy, optimizer: adam(lr = 1e-3)".into());
    format!("struct W3 {{ {} }}", items.join(", "))
}

/// `blocks` residual blocks of dense → batch_norm → relu (found slow by the `dsl` fuzz target:
/// each block's gradient sum used to take one more sweep of simplify).
fn residual(blocks: usize) -> String {
    format!(
        "struct Residual {{ input: [8], stem: dense(8), \
         blocks: repeat({blocks}) {{ residual {{ fc: dense(8), bn: batch_norm, act: relu }} }}, \
         out: dense(2), loss: mse, optimizer: adam(lr = 0.001) }}"
    )
}

fn main() {
    // W3 first, on a fresh heap as a macro invocation in rustc gets one: after the residual
    // networks' expansions, the allocator made it take twice as long.
    let tokens: proc_macro2::TokenStream = w3_written_out().parse().unwrap();
    let best = (0..5)
        .map(|_| {
            let start = Instant::now();
            gradc_compiler::try_expand(tokens.clone()).unwrap();
            start.elapsed()
        })
        .min()
        .unwrap();
    println!("W3 written out (60 layers: dense, batch_norm, relu): expansion {:>7.2} ms", best.as_secs_f64() * 1e3);
    for blocks in [75, 300] {
        let tokens: proc_macro2::TokenStream = residual(blocks).parse().unwrap();
        let start = Instant::now();
        gradc_compiler::try_expand(tokens).unwrap();
        println!(
            "{blocks} residual blocks (dense, batch_norm, relu): expansion {:>7.2} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    // `--deep` adds 1,000 and 10,000 layers (each timed once).
    let deep = std::env::args().any(|a| a == "--deep");
    let depths: &[usize] = if deep { &[5, 20, 50, 1_000, 10_000] } else { &[5, 20, 50] };
    for &depth in depths {
        let src = declaration(depth);
        let tokens: proc_macro2::TokenStream = src.parse().unwrap();
        let mut best = Duration::MAX;
        let mut size = 0;
        let mut nodes = 0;
        for _ in 0..if depth > 100 { 1 } else { 5 } {
            let start = Instant::now();
            let out = gradc_compiler::try_expand(tokens.clone()).unwrap();
            best = best.min(start.elapsed());
            size = out.to_string().len();
            nodes = gradc_compiler::compile(tokens.clone()).unwrap().train.len();
        }
        println!(
            "{depth:>3} dense layers (+ activations): expansion {:>7.2} ms, {nodes} training-graph nodes, {:.0} KiB of tokens",
            best.as_secs_f64() * 1e3,
            size as f64 / 1024.0
        );
    }
}
