//! A plain, slow evaluator of any graph IR, in f64: the reference the property tests hold
//! every pass and the generated code to (as JAX's `eval_jaxpr` evaluates a jaxpr).
//!
//! It shares no code with the runtime's kernels: every op is written here from its
//! definition in `ir::op`, one nested loop at a time, with the activation formulas written
//! out again. Dropout masks come from a hash of the mask node's id and the element index, so
//! a graph and its rewrites (which keep node ids) draw the same masks.

#![allow(dead_code, reason = "each test crate uses part of the interpreter")]

use std::collections::BTreeMap;

use gradc_compiler::ir::{
    Activation, Binary, Broadcast, Dim, Graph, NodeId, Op, Output, Shape, Unary, UpdateRule, Window, broadcast,
};

/// A dense row-major tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Its dimensions, the batch resolved.
    pub shape: Vec<usize>,
    /// Its values.
    pub data: Vec<f64>,
}

impl Tensor {
    fn new(shape: Vec<usize>, data: Vec<f64>) -> Self {
        assert_eq!(shape.iter().product::<usize>(), data.len(), "tensor of shape {shape:?}");
        Tensor { shape, data }
    }

    fn zeros(shape: Vec<usize>) -> Self {
        let n = shape.iter().product();
        Tensor { shape, data: vec![0.0; n] }
    }

    fn scalar(value: f64) -> Self {
        Tensor { shape: vec![], data: vec![value] }
    }
}

/// Everything a graph reads besides its own nodes.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// Examples in the batch.
    pub batch: usize,
    /// The input batch, row-major `[B, ..]`.
    pub x: Vec<f64>,
    /// Class indices (softmax cross-entropy).
    pub labels: Vec<usize>,
    /// Target values (other losses), row-major `[B, outputs]`.
    pub targets: Vec<f64>,
    /// Parameter values by weights-file name.
    pub params: BTreeMap<String, Vec<f64>>,
    /// The run-time learning rate.
    pub lr: f64,
    /// Per-parameter learning-rate scales (`#[lr_scale]`), 1 where absent.
    pub lr_scales: BTreeMap<String, f64>,
    /// Layers frozen at run time (their `LayerTraining` flag is 0).
    pub frozen_layers: Vec<String>,
    /// Seeds the dropout masks.
    pub mask_seed: u64,
}

/// What a graph computed: its named outputs and the new value of every parameter an update
/// writes (optimizer state starting at zero, step 1).
#[derive(Clone, Debug, Default)]
pub struct Results {
    pub outputs: BTreeMap<Output, Tensor>,
    pub updates: BTreeMap<String, Tensor>,
}

/// Evaluates every node of `graph` in topological order.
pub fn interpret(graph: &Graph, inputs: &Inputs) -> Results {
    let mut values: BTreeMap<NodeId, Tensor> = BTreeMap::new();
    let mut results = Results::default();
    for n in graph.topological_order() {
        let operands: Vec<&Tensor> = graph.operands(n).iter().map(|o| &values[o]).collect();
        let value = evaluate(graph, n, &operands, inputs, &values);
        if graph.op(n).has_side_effect() {
            let Op::Param { name, .. } = graph.op(graph.operands(n)[0]) else {
                panic!("side effects write parameters")
            };
            results.updates.insert(name.clone(), value.clone());
        }
        values.insert(n, value);
    }
    for (output, n) in graph.outputs() {
        results.outputs.insert(output.clone(), values[&n].clone());
    }
    results
}

fn dims(shape: &Shape, batch: usize) -> Vec<usize> {
    shape.0.iter().map(|d| if let Dim::Fixed(n) = d { *n } else { batch }).collect()
}

/// A deterministic uniform number in [0, 1) from a seed, a node and an index (SplitMix64).
fn uniform(seed: u64, node: u64, index: u64) -> f64 {
    let mut z = seed ^ node.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn evaluate(graph: &Graph, n: NodeId, x: &[&Tensor], inputs: &Inputs, values: &BTreeMap<NodeId, Tensor>) -> Tensor {
    let batch = inputs.batch;
    let shape = dims(graph.shape(n), batch);
    let op = graph.op(n);
    match op {
        Op::Input => Tensor::new(shape, inputs.x.clone()),
        Op::Labels => Tensor::new(shape, inputs.labels.iter().map(|&l| l as f64).collect()),
        Op::Targets => Tensor::new(shape, inputs.targets.clone()),
        Op::Param { name, .. } => Tensor::new(shape, inputs.params[name].clone()),
        Op::Const(c) => {
            let v = c.number_value();
            Tensor::scalar(if c.per_batch { v / batch as f64 } else { v })
        }
        Op::LayerTraining { layer } => Tensor::scalar(if inputs.frozen_layers.contains(layer) { 0.0 } else { 1.0 }),
        Op::DropoutMask { p } => {
            let count = shape.iter().product::<usize>();
            let keep = 1.0 / (1.0 - p.0);
            let data = (0..count)
                .map(|i| if uniform(inputs.mask_seed, n.index() as u64, i as u64) < p.0 { 0.0 } else { keep })
                .collect();
            Tensor::new(shape, data)
        }
        Op::MatMul { transpose_a, transpose_b } => matmul(x[0], x[1], *transpose_a, *transpose_b),
        Op::Sum { axes } => {
            let kept: Vec<bool> = (0..x[0].shape.len()).map(|a| !axes.contains(a)).collect();
            reduce(x[0], &kept, shape, |acc, v| acc + v, 0.0)
        }
        Op::First { axes } => {
            let mut out = Tensor::zeros(shape);
            for (i, &v) in x[0].data.iter().enumerate() {
                let index = unravel(i, &x[0].shape);
                if axes.iter().all(|a| index[a] == 0) {
                    let kept: Vec<usize> = (0..index.len()).filter(|&a| !axes.contains(a)).map(|a| index[a]).collect();
                    out.data[ravel(&kept, &out.shape)] = v;
                }
            }
            out
        }
        Op::Broadcast { axes, .. } => {
            let mut out = Tensor::zeros(shape);
            for i in 0..out.data.len() {
                let index = unravel(i, &out.shape);
                let kept: Vec<usize> = (0..index.len()).filter(|&a| !axes.contains(a)).map(|a| index[a]).collect();
                out.data[i] = x[0].data[ravel(&kept, &x[0].shape)];
            }
            out
        }
        Op::SumAll => Tensor::new(shape, vec![x[0].data.iter().sum()]),
        Op::SumSquares => Tensor::scalar(x[0].data.iter().map(|v| v * v).sum()),
        Op::SumAbs => Tensor::scalar(x[0].data.iter().map(|v| v.abs()).sum()),
        Op::ScaleRows => {
            let per_row = x[0].data.len() / x[1].data.len();
            let data = x[0].data.iter().enumerate().map(|(i, w)| w * x[1].data[i / per_row]).collect();
            Tensor::new(shape, data)
        }
        Op::Conv2d(w) => conv2d(x[0], x[1], w, shape),
        Op::Conv2dGradInput(w) => conv2d_grad_input(x[0], x[1], w, shape),
        Op::Conv2dGradWeight(w) => conv2d_grad_weight(x[0], x[1], w, shape),
        Op::MaxPool2d(w) => pool(x[0], w, shape, PoolKind::Max),
        Op::AvgPool2d(w) => pool(x[0], w, shape, PoolKind::Average),
        Op::MaxPool2dGrad(w) => {
            // The maxima are found again in the forward pool's input.
            let pool_input = graph.operands(graph.operands(n)[0])[0];
            max_pool_grad(&values[&pool_input], x[1], w, shape)
        }
        Op::AvgPool2dGrad(w) => avg_pool_grad(x[0], w, shape),
        Op::Reshape { .. } => Tensor::new(shape, x[0].data.clone()),
        Op::Unary(u) => Tensor::new(shape, x[0].data.iter().map(|&v| unary(*u, v)).collect()),
        Op::Binary(b) => binary(*b, x[0], x[1], graph, n, shape),
        Op::Softmax => rows(x[0], softmax),
        Op::SoftmaxVjp => {
            let cols = *x[0].shape.last().unwrap();
            let mut out = Tensor::zeros(shape);
            for r in 0..x[0].data.len() / cols {
                let (p, dp) = (&x[0].data[r * cols..][..cols], &x[1].data[r * cols..][..cols]);
                let dot: f64 = p.iter().zip(dp).map(|(p, d)| p * d).sum();
                for c in 0..cols {
                    out.data[r * cols + c] = p[c] * (dp[c] - dot);
                }
            }
            out
        }
        Op::OneHot { classes } => {
            let mut out = Tensor::zeros(shape);
            for (r, &label) in x[0].data.iter().enumerate() {
                out.data[r * classes + label as usize] = 1.0;
            }
            out
        }
        Op::CrossEntropy => {
            let cols = x[0].shape[1];
            let total: f64 = x[1].data.iter().enumerate().map(|(r, &y)| -x[0].data[r * cols + y as usize].ln()).sum();
            Tensor::scalar(total / batch as f64)
        }
        Op::CrossEntropyGrad => {
            let cols = x[0].shape[1];
            let mut out = Tensor::zeros(shape);
            for (r, &y) in x[1].data.iter().enumerate() {
                let i = r * cols + y as usize;
                out.data[i] = -1.0 / (batch as f64 * x[0].data[i]);
            }
            out
        }
        Op::SoftmaxCrossEntropy => {
            let cols = x[0].shape[1];
            let total: f64 = x[1]
                .data
                .iter()
                .enumerate()
                .map(|(r, &y)| {
                    let row = &x[0].data[r * cols..][..cols];
                    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln() - row[y as usize]
                })
                .sum();
            Tensor::scalar(total / batch as f64)
        }
        Op::BinaryCrossEntropy => mean_of(x, |s, t| -(t * s.ln().max(-100.0) + (1.0 - t) * (1.0 - s).ln().max(-100.0))),
        Op::BinaryCrossEntropyWithLogits => mean_of(x, |z, t| z.max(0.0) - z * t + (1.0 + (-z.abs()).exp()).ln()),
        Op::MeanSquaredError => mean_of(x, |p, t| (p - t) * (p - t)),
        Op::BinaryCrossEntropyGrad => {
            let count = x[0].data.len() as f64;
            let data =
                x[0].data.iter().zip(&x[1].data).map(|(s, t)| (s - t) / (s * (1.0 - s)).max(1e-12) / count).collect();
            Tensor::new(shape, data)
        }
        Op::ClipScale { max_norm, .. } => {
            let norm = x.iter().flat_map(|t| t.data.iter()).map(|v| v * v).sum::<f64>().sqrt();
            Tensor::scalar((max_norm.0 / (norm + 1e-6)).min(1.0))
        }
        Op::Update { rule, clipped } => {
            let scale = if *clipped { x[2].data[0] } else { 1.0 };
            let Op::Param { name, .. } = graph.op(graph.operands(n)[0]) else { panic!("updates write parameters") };
            let lr = inputs.lr * inputs.lr_scales.get(name).copied().unwrap_or(1.0);
            let data = x[0].data.iter().zip(&x[1].data).map(|(&p, &g)| first_update(*rule, p, scale * g, lr));
            Tensor::new(shape, data.collect())
        }
        Op::RunningUpdate { momentum, unbiased, per_example } => {
            let count = (batch * per_example) as f64;
            let correction = if *unbiased { count / (count - 1.0) } else { 1.0 };
            let m = momentum.0;
            let data = x[0].data.iter().zip(&x[1].data).map(|(r, s)| (1.0 - m) * r + m * correction * s).collect();
            Tensor::new(shape, data)
        }
        Op::CountBatch => Tensor::new(shape, x[0].data.iter().map(|c| c + 1.0).collect()),
    }
}

/// The first update of a parameter (zero state, step 1) by `rule`.
fn first_update(rule: UpdateRule, p: f64, g: f64, lr: f64) -> f64 {
    match rule {
        UpdateRule::Sgd | UpdateRule::Momentum { .. } => p - lr * g,
        // b = g, then θ − η(g + βb).
        UpdateRule::Nesterov { beta } => p - lr * (g + beta.0 * g),
        UpdateRule::RmsProp { beta, eps, eps_inside } => {
            let s = (1.0 - beta.0) * g * g;
            p - lr * g / if eps_inside { (s + eps.0).sqrt() } else { s.sqrt() + eps.0 }
        }
        UpdateRule::Adam { beta1, beta2, eps } => adam(p, g, lr, beta1.0, beta2.0, eps.0),
        UpdateRule::AdamW { beta1, beta2, eps, weight_decay } => {
            adam(p - lr * weight_decay.0 * p, g, lr, beta1.0, beta2.0, eps.0)
        }
    }
}

fn adam(p: f64, g: f64, lr: f64, beta1: f64, beta2: f64, eps: f64) -> f64 {
    let (m, v) = ((1.0 - beta1) * g, (1.0 - beta2) * g * g);
    let (m_hat, v_hat) = (m / (1.0 - beta1), v / (1.0 - beta2));
    p - lr * m_hat / (v_hat.sqrt() + eps)
}

fn mean_of(x: &[&Tensor], f: impl Fn(f64, f64) -> f64) -> Tensor {
    let total: f64 = x[0].data.iter().zip(&x[1].data).map(|(&a, &b)| f(a, b)).sum();
    Tensor::scalar(total / x[0].data.len() as f64)
}

fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for a in (0..shape.len()).rev() {
        index[a] = i % shape[a];
        i /= shape[a];
    }
    index
}

fn ravel(index: &[usize], shape: &[usize]) -> usize {
    index.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i)
}

fn reduce(x: &Tensor, kept: &[bool], shape: Vec<usize>, f: impl Fn(f64, f64) -> f64, start: f64) -> Tensor {
    let mut out = Tensor::new(shape.clone(), vec![start; shape.iter().product()]);
    for (i, &v) in x.data.iter().enumerate() {
        let index = unravel(i, &x.shape);
        let target: Vec<usize> = index.iter().zip(kept).filter(|(_, k)| **k).map(|(i, _)| *i).collect();
        let o = ravel(&target, &out.shape);
        out.data[o] = f(out.data[o], v);
    }
    out
}

fn matmul(a: &Tensor, b: &Tensor, transpose_a: bool, transpose_b: bool) -> Tensor {
    let at = |i: usize, k: usize| if transpose_a { a.data[k * a.shape[1] + i] } else { a.data[i * a.shape[1] + k] };
    let bt = |k: usize, j: usize| if transpose_b { b.data[j * b.shape[1] + k] } else { b.data[k * b.shape[1] + j] };
    let (m, inner) = if transpose_a { (a.shape[1], a.shape[0]) } else { (a.shape[0], a.shape[1]) };
    let n = if transpose_b { b.shape[0] } else { b.shape[1] };
    let mut out = Tensor::zeros(vec![m, n]);
    for i in 0..m {
        for j in 0..n {
            out.data[i * n + j] = (0..inner).map(|k| at(i, k) * bt(k, j)).sum();
        }
    }
    out
}

fn rows(x: &Tensor, f: impl Fn(&[f64]) -> Vec<f64>) -> Tensor {
    let cols = *x.shape.last().unwrap();
    Tensor::new(x.shape.clone(), x.data.chunks(cols).flat_map(f).collect())
}

fn softmax(row: &[f64]) -> Vec<f64> {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = row.iter().map(|v| (v - max).exp()).sum();
    row.iter().map(|v| (v - max).exp() / total).collect()
}

const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn phi(x: f64) -> f64 {
    0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
}

/// tanh-approximated gelu's inner function and its derivative.
fn gelu_tanh_inner(x: f64) -> (f64, f64) {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    (c * (x + 0.044715 * x * x * x), c * (1.0 + 3.0 * 0.044715 * x * x))
}

pub fn activation(a: Activation, x: f64) -> f64 {
    match a {
        Activation::Sigmoid => sigmoid(x),
        Activation::Tanh => x.tanh(),
        Activation::Relu => x.max(0.0),
        Activation::LeakyRelu { alpha } => {
            if x > 0.0 {
                x
            } else {
                alpha.0 * x
            }
        }
        Activation::Elu { alpha } => {
            if x > 0.0 {
                x
            } else {
                alpha.0 * x.exp_m1()
            }
        }
        Activation::Selu => SELU_LAMBDA * if x > 0.0 { x } else { SELU_ALPHA * x.exp_m1() },
        Activation::Gelu { tanh_approximation: false } => x * phi(x),
        Activation::Gelu { tanh_approximation: true } => 0.5 * x * (1.0 + gelu_tanh_inner(x).0.tanh()),
        Activation::Silu => x * sigmoid(x),
    }
}

/// The derivative, of the input `x`, or of the output `y` when the compiler says so.
fn activation_grad(a: Activation, v: f64) -> f64 {
    match (a, a.derivative().from_output) {
        (Activation::Sigmoid, true) => v * (1.0 - v),
        (Activation::Tanh, true) => 1.0 - v * v,
        (Activation::Relu, false) => f64::from(v > 0.0),
        (Activation::LeakyRelu { alpha }, false) => {
            if v > 0.0 {
                1.0
            } else {
                alpha.0
            }
        }
        (Activation::Elu { alpha }, false) => {
            if v > 0.0 {
                1.0
            } else {
                alpha.0 * v.exp()
            }
        }
        (Activation::Selu, false) => SELU_LAMBDA * if v > 0.0 { 1.0 } else { SELU_ALPHA * v.exp() },
        (Activation::Gelu { tanh_approximation: false }, false) => {
            phi(v) + v * (-v * v / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt()
        }
        (Activation::Gelu { tanh_approximation: true }, false) => {
            let (u, du) = gelu_tanh_inner(v);
            let t = u.tanh();
            0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du
        }
        (Activation::Silu, false) => {
            let s = sigmoid(v);
            s * (1.0 + v * (1.0 - s))
        }
        (a, from_output) => panic!("no derivative of {a:?} from output = {from_output}"),
    }
}

fn unary(u: Unary, v: f64) -> f64 {
    match u {
        Unary::Neg => -v,
        Unary::Act(a) => activation(a, v),
        Unary::ActGrad(a) => activation_grad(a, v),
        Unary::NegativePart => v.min(0.0),
        Unary::Sign => {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        Unary::Rsqrt { eps } => 1.0 / (v + eps.0).sqrt(),
        Unary::RsqrtGradFromOutput => -0.5 * v * v * v,
    }
}

fn binary(kind: Binary, a: &Tensor, b: &Tensor, graph: &Graph, n: NodeId, shape: Vec<usize>) -> Tensor {
    let operands = graph.operands(n);
    let how = broadcast(graph.shape(operands[0]), graph.shape(operands[1])).expect("verified shapes");
    let f = |a: f64, b: f64| match kind {
        Binary::Add => a + b,
        Binary::Sub => a - b,
        Binary::Mul => a * b,
        Binary::Prelu => {
            if a > 0.0 {
                a
            } else {
                b * a
            }
        }
        Binary::PreluGradInput => {
            if a > 0.0 {
                1.0
            } else {
                b
            }
        }
    };
    let data = (0..a.data.len())
        .map(|i| {
            let bv = match how {
                Broadcast::Same => b.data[i],
                Broadcast::Scalar => b.data[0],
                Broadcast::Along(_) => b.data[unravel(i, &a.shape)[1]],
            };
            f(a.data[i], bv)
        })
        .collect();
    Tensor::new(shape, data)
}

/// The input position a kernel tap reads, or `None` in the padding.
fn tap(w: &Window, out: [usize; 2], k: [usize; 2]) -> Option<[usize; 2]> {
    let y = (out[0] * w.stride[0] + k[0] * w.dilation[0]).checked_sub(w.padding[0])?;
    let x = (out[1] * w.stride[1] + k[1] * w.dilation[1]).checked_sub(w.padding[1])?;
    (y < w.height && x < w.width).then_some([y, x])
}

/// Calls `f([example, out channel], output position, weight index, input index)` for every
/// multiply of the convolution `w` over a batch of `batch`.
fn each_conv_tap(w: &Window, batch: usize, mut f: impl FnMut([usize; 2], [usize; 2], usize, usize)) {
    let [oh, ow] = w.output();
    let per_group_in = w.channels_in / w.groups;
    let per_group_out = w.channels_out / w.groups;
    for b in 0..batch {
        for o in 0..w.channels_out {
            let group = o / per_group_out;
            for ci in 0..per_group_in {
                let i = group * per_group_in + ci;
                for oy in 0..oh {
                    for ox in 0..ow {
                        for ky in 0..w.kernel[0] {
                            for kx in 0..w.kernel[1] {
                                if let Some([iy, ix]) = tap(w, [oy, ox], [ky, kx]) {
                                    let weight = ((o * per_group_in + ci) * w.kernel[0] + ky) * w.kernel[1] + kx;
                                    let input = ((b * w.channels_in + i) * w.height + iy) * w.width + ix;
                                    f([b, o], [oy, ox], weight, input);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn conv_output_index(w: &Window, b: usize, o: usize, [oy, ox]: [usize; 2]) -> usize {
    let [oh, ow] = w.output();
    ((b * w.channels_out + o) * oh + oy) * ow + ox
}

fn conv2d(x: &Tensor, weight: &Tensor, w: &Window, shape: Vec<usize>) -> Tensor {
    let mut out = Tensor::zeros(shape);
    let batch = x.shape[0];
    each_conv_tap(w, batch, |[b, o], position, wi, xi| {
        out.data[conv_output_index(w, b, o, position)] += x.data[xi] * weight.data[wi];
    });
    out
}

fn conv2d_grad_input(g: &Tensor, weight: &Tensor, w: &Window, shape: Vec<usize>) -> Tensor {
    let mut out = Tensor::zeros(shape);
    let batch = g.shape[0];
    each_conv_tap(w, batch, |[b, o], position, wi, xi| {
        out.data[xi] += g.data[conv_output_index(w, b, o, position)] * weight.data[wi];
    });
    out
}

fn conv2d_grad_weight(x: &Tensor, g: &Tensor, w: &Window, shape: Vec<usize>) -> Tensor {
    let mut out = Tensor::zeros(shape);
    let batch = x.shape[0];
    each_conv_tap(w, batch, |[b, o], position, wi, xi| {
        out.data[wi] += x.data[xi] * g.data[conv_output_index(w, b, o, position)];
    });
    out
}

#[derive(Clone, Copy, PartialEq)]
enum PoolKind {
    Max,
    Average,
}

/// For each pooling output: its index and the input indices of its window (padding left out).
fn pool_windows(w: &Window, batch: usize) -> Vec<(usize, Vec<usize>)> {
    let [oh, ow] = w.output();
    let mut windows = Vec::new();
    for b in 0..batch {
        for c in 0..w.channels_in {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut taps = Vec::new();
                    for ky in 0..w.kernel[0] {
                        for kx in 0..w.kernel[1] {
                            if let Some([iy, ix]) = tap(w, [oy, ox], [ky, kx]) {
                                taps.push(((b * w.channels_in + c) * w.height + iy) * w.width + ix);
                            }
                        }
                    }
                    windows.push((((b * w.channels_in + c) * oh + oy) * ow + ox, taps));
                }
            }
        }
    }
    windows
}

fn pool(x: &Tensor, w: &Window, shape: Vec<usize>, kind: PoolKind) -> Tensor {
    let mut out = Tensor::zeros(shape);
    let window_size = (w.kernel[0] * w.kernel[1]) as f64;
    for (o, taps) in pool_windows(w, x.shape[0]) {
        out.data[o] = match kind {
            PoolKind::Max => taps.iter().map(|&i| x.data[i]).fold(f64::NEG_INFINITY, f64::max),
            PoolKind::Average => taps.iter().map(|&i| x.data[i]).sum::<f64>() / window_size,
        };
    }
    out
}

fn max_pool_grad(source: &Tensor, g: &Tensor, w: &Window, shape: Vec<usize>) -> Tensor {
    // Each output's gradient goes to the first tap (in window order) holding the maximum.
    let mut out = Tensor::zeros(shape);
    for (o, taps) in pool_windows(w, g.shape[0]) {
        let best = taps.iter().copied().reduce(|best, i| if source.data[i] > source.data[best] { i } else { best });
        if let Some(i) = best {
            out.data[i] += g.data[o];
        }
    }
    out
}

fn avg_pool_grad(g: &Tensor, w: &Window, shape: Vec<usize>) -> Tensor {
    let mut out = Tensor::zeros(shape);
    let window_size = (w.kernel[0] * w.kernel[1]) as f64;
    for (o, taps) in pool_windows(w, g.shape[0]) {
        for i in taps {
            out.data[i] += g.data[o] / window_size;
        }
    }
    out
}
