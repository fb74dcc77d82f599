//! A seeded generator of small network declarations that are meant to be valid (depth,
//! widths, activations, batch norm, dropout, convolutions, pooling, residual blocks, losses,
//! optimizers, regularizers, dtype), and random inputs and parameters for them.

#![allow(dead_code, reason = "each test crate uses part of the generator")]

use std::collections::BTreeMap;

use gradc_compiler::ir::{Graph, Op, ParamKind};

use super::interpreter::Inputs;

/// A small, seeded generator (xorshift64*), so the cases are the same on every run.
pub struct Gen(pub u64);

impl Gen {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

const ACTIVATIONS: &[&str] = &[
    "relu",
    "tanh",
    "sigmoid",
    "selu",
    "silu",
    "gelu",
    "gelu(approximate = tanh)",
    "elu(alpha = 0.5)",
    "leaky_relu(0.1)",
    "prelu",
    "prelu(per_unit = true)",
];

fn dense(g: &mut Gen) -> String {
    let units = g.pick(&["2", "3", "5"]);
    match g.below(3) {
        0 => format!("dense({units}, bias = false)"),
        1 => format!(
            "dense({units}, init = {})",
            g.pick(&["he_normal", "glorot_uniform", "lecun_normal", "normal(0.5)"])
        ),
        _ => format!("dense({units})"),
    }
}

fn image_layer(g: &mut Gen) -> String {
    match g.below(6) {
        0 => format!("conv2d({}, {})", g.pick(&["2", "3"]), g.pick(&["1", "2", "3"])),
        1 => format!("conv2d({}, 3, padding = same)", g.pick(&["2", "4"])),
        2 => format!("conv2d({}, 2, stride = 2, padding = 1)", g.pick(&["2", "3"])),
        3 => "max_pool2d(2)".to_string(),
        4 => "avg_pool2d(2, stride = 1)".to_string(),
        _ => "conv2d(4, 3, groups = 2, padding = 1, bias = false)".to_string(),
    }
}

fn layer(g: &mut Gen, images: bool, depth: usize, dropout: bool) -> String {
    match g.below(12) {
        0..=2 if images => image_layer(g),
        0..=3 => dense(g),
        4..=6 => g.pick(ACTIVATIONS).to_string(),
        7 => format!("batch_norm(momentum = {})", g.pick(&["0.1", "0.3"])),
        8 if dropout => format!("dropout({})", g.pick(&["0.2", "0.5"])),
        9 if depth == 0 && !images => {
            let units = g.pick(&["2", "3"]);
            format!("residual {{ dense({units}), {} }}", g.pick(ACTIVATIONS))
        }
        10 if depth == 0 => {
            let body: Vec<String> = (0..1 + g.below(2)).map(|_| layer(g, images, depth + 1, dropout)).collect();
            let head = if images { "residual(project = conv1x1)" } else { "residual(project = dense)" };
            format!("{head} {{ {} }}", body.join(", "))
        }
        _ => g.pick(&["relu", "tanh"]).to_string(),
    }
}

/// A declaration of a struct named `name`.
pub fn declaration(g: &mut Gen, name: &str) -> String {
    format!("struct {name} {{ {} }}", body(g, true))
}

/// The items of a declaration (what goes between the braces), with or without dropout.
pub fn body(g: &mut Gen, dropout: bool) -> String {
    let images = g.chance(30);
    let mut items = vec![if images {
        format!("input: [{}, {}, {}]", g.pick(&["1", "2"]), g.pick(&["4", "5"]), g.pick(&["4", "5"]))
    } else {
        format!("input: [{}]", g.pick(&["2", "3", "4"]))
    }];
    for i in 0..1 + g.below(5) {
        let attribute = match g.below(20) {
            0 => "#[frozen] ",
            1 => "#[lr_scale = 0.5] ",
            _ => "",
        };
        items.push(format!("{attribute}l{i}: {}", layer(g, images, 0, dropout)));
    }
    if images {
        items.push(g.pick(&["flatten", "global_avg_pool"]).to_string());
    }
    items.push(format!("out: dense({})", g.pick(&["1", "2", "3"])));
    items.push(format!("loss: {}", g.pick(&["mse", "softmax_cross_entropy", "binary_cross_entropy"])));
    let lr = g.pick(&["0.1", "0.01"]);
    items.push(format!(
        "optimizer: {}",
        match g.below(7) {
            0 => format!("sgd(lr = {lr})"),
            1 => format!("momentum(lr = {lr})"),
            2 => format!("adam(lr = {lr}, clip_norm = 1.0)"),
            3 => format!("rmsprop(lr = {lr})"),
            4 => format!("adamw(lr = {lr}, weight_decay = 0.01)"),
            5 => format!("adam(lr = {lr})"),
            _ => format!("nesterov(lr = {lr})"),
        }
    ));
    if g.chance(50) {
        items.push("dtype: f64".into());
    }
    if g.chance(25) {
        items.push(format!("regularize: {}", g.pick(&["l2(1e-2)", "l1(1e-2)"])));
    }
    if g.chance(25) {
        items.push("fusion: false".into());
    }
    items.join(", ")
}

/// Random inputs for `graph` (a lowered graph of a generated network): a batch of `batch`,
/// targets suited to its loss, and every parameter (running variances positive).
pub fn inputs(g: &mut Gen, graph: &Graph, batch: usize) -> Inputs {
    let mut params = BTreeMap::new();
    let (mut x, mut labels, mut targets) = (Vec::new(), Vec::new(), Vec::new());
    for n in graph.node_ids() {
        let shape = graph.shape(n);
        let count = shape.fixed_numel();
        match graph.op(n) {
            Op::Param { name, kind, .. } => {
                // Weights with variance 1/fan-in keep every layer's output, and so the logits,
                // of order 1: a saturated sigmoid would make the probability form of binary
                // cross-entropy (clamped, as PyTorch's) differ from the logit form that
                // `simplify` rewrites it to, and its finite differences meaningless.
                let dims = shape.as_fixed().unwrap_or_default();
                let bound = match dims.as_slice() {
                    [out, ..] if dims.len() >= 2 => (3.0 * *out as f64 / count as f64).sqrt(),
                    _ => 0.5,
                };
                let center = if dims.len() == 1 && name.ends_with(".weight") { 1.0 } else { 0.0 };
                let values = (0..count)
                    .map(|_| match kind {
                        ParamKind::Learnable => center + g.uniform(-bound, bound),
                        ParamKind::Buffer if name.ends_with("running_var") => g.uniform(0.5, 1.5),
                        ParamKind::Buffer => g.uniform(-0.5, 0.5),
                        ParamKind::Counter => 0.0,
                    })
                    .collect();
                params.insert(name.clone(), values);
            }
            Op::Input => x = (0..batch * count).map(|_| g.uniform(-1.0, 1.0)).collect(),
            Op::Targets => targets = (0..batch * count).map(|_| g.uniform(0.05, 0.95)).collect(),
            _ => {}
        }
    }
    let classes = graph.node_ids().into_iter().find_map(|n| match graph.op(n) {
        Op::SoftmaxCrossEntropy | Op::CrossEntropy => Some(graph.shape(graph.operands(n)[0]).fixed_numel()),
        _ => None,
    });
    if let Some(classes) = classes {
        labels = (0..batch).map(|_| g.below(classes)).collect();
    }
    let (lr, lr_scales, frozen_layers) = (0.05, BTreeMap::new(), Vec::new());
    Inputs { batch, x, labels, targets, params, lr, lr_scales, frozen_layers, mask_seed: g.next() }
}
