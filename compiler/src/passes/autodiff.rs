//! Reverse-mode automatic differentiation as a graph transformation.
//!
//! Seeds the loss with 1 and walks the nodes the loss depends on in reverse topological
//! order. Each op's vector-Jacobian product is a rule below that builds new IR nodes over the
//! forward nodes; gradients of a node with several users are summed. Every float leaf gets a
//! gradient — the input and frozen parameters included — and only trainable parameters'
//! gradients become outputs, so dead-code elimination removes the rest.
//!
//! Not done here: any simplification (the rules are textbook, not clever) and second-order
//! derivatives (the gradient ops themselves have no rules; asking for one is an error).

use std::collections::{BTreeMap, BTreeSet};

use super::Pass;
use crate::ir::{Activation, Binary, Broadcast, Const, Graph, NodeId, Op, Output, Phase, Unary, broadcast};

/// The autodiff pass.
pub struct Autodiff;

impl Pass for Autodiff {
    fn name(&self) -> &'static str {
        "autodiff"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        let loss = graph
            .output(&Output::Loss)
            .ok_or_else(|| syn::Error::new(proc_macro2::Span::call_site(), "gradc: autodiff needs a loss output"))?;
        let relevant = graph.ancestors([loss]);
        let order: Vec<NodeId> = graph.topological_order().into_iter().filter(|n| relevant.contains(n)).collect();
        // Only values that depend on a differentiable parameter take gradients (activity
        // analysis): the rest (constants, run-time flags, the running statistics and what is
        // computed from them alone) are constants as far as the loss's gradient goes.
        let mut varying: BTreeSet<NodeId> = BTreeSet::new();
        for &n in &order {
            if graph.op(n).is_differentiable_param() || graph.operands(n).iter().any(|o| varying.contains(o)) {
                varying.insert(n);
            }
        }
        let mut pending: BTreeMap<NodeId, Vec<NodeId>> = BTreeMap::new();
        let seed = graph.add_like(loss, Phase::Gradient, Op::Const(Const::number(1.0)), &[])?;
        pending.insert(loss, vec![seed]);
        for &node in order.iter().rev() {
            let Some(contributions) = pending.remove(&node) else {
                continue;
            };
            let g = sum(graph, node, contributions)?;
            // The gradient of a named value is named after it (a parameter by its own name).
            let name = match graph.op(node) {
                Op::Param { name, .. } => Some(name),
                _ => graph.node(node).label.as_ref(),
            };
            if let Some(name) = name
                && graph.node(g).label.is_none()
            {
                graph.set_label(g, gradient_label(name));
            }
            if let Op::Param { name, .. } = graph.op(node) {
                if graph.op(node).is_differentiable_param() {
                    graph.set_output(Output::Grad(name.clone()), g);
                }
                continue;
            }
            if graph.op(node).is_leaf() {
                continue;
            }
            let operands = graph.operands(node);
            for (position, grad) in vjp(graph, node, &operands, g)? {
                let operand = operands[position];
                if graph.op(operand).takes_gradient() && varying.contains(&operand) {
                    if graph.shape(grad) != graph.shape(operand) {
                        return Err(syn::Error::new(
                            graph.node(node).span,
                            format!(
                                "gradc internal error: gradient of `{}` has the wrong shape",
                                graph.op(node).mnemonic()
                            ),
                        ));
                    }
                    pending.entry(operand).or_default().push(grad);
                }
            }
        }
        Ok(())
    }
}

/// The label of the gradient of a value labelled `label`: `d` before its last part
/// (`fc1.weight` → `fc1.dweight`, `act1` → `dact1`).
fn gradient_label(label: &str) -> String {
    match label.rsplit_once('.') {
        Some((prefix, last)) => format!("{prefix}.d{last}"),
        None => format!("d{label}"),
    }
}

/// Sums the gradient contributions of `node` (one user: itself; several: a chain of adds).
fn sum(graph: &mut Graph, node: NodeId, contributions: Vec<NodeId>) -> syn::Result<NodeId> {
    let mut iter = contributions.into_iter();
    let mut total = iter.next().expect("at least one contribution");
    for next in iter {
        total = graph.add_like(node, Phase::Gradient, Op::Binary(Binary::Add), &[total, next])?;
    }
    Ok(total)
}

/// Reduces `g` to the shape of an operand that was broadcast: the sum over the repeated axes.
fn unbroadcast(graph: &mut Graph, at: NodeId, g: NodeId, operand: NodeId) -> syn::Result<NodeId> {
    match broadcast(graph.shape(g), graph.shape(operand)) {
        Some(Broadcast::Same) => Ok(g),
        Some(Broadcast::Along(axes)) => graph.add_like(at, Phase::Gradient, Op::Sum { axes }, &[g]),
        _ => graph.add_like(at, Phase::Gradient, Op::SumAll, &[g]),
    }
}

/// The vector-Jacobian product of `node` with upstream gradient `g`: for each operand
/// position that takes a gradient, the node computing it.
fn vjp(graph: &mut Graph, node: NodeId, operands: &[NodeId], g: NodeId) -> syn::Result<Vec<(usize, NodeId)>> {
    let op = graph.op(node).clone();
    let add = |graph: &mut Graph, op: Op, args: &[NodeId]| graph.add_like(node, Phase::Gradient, op, args);
    let mm = |transpose_a, transpose_b| Op::MatMul { transpose_a, transpose_b };
    let mul = Op::Binary(Binary::Mul);
    let (a, b) = (operands.first().copied(), operands.get(1).copied());
    let a = a.unwrap_or(node);
    let b = b.unwrap_or(node);
    Ok(match op {
        // C = A·B: dA = G·Bᵀ, dB = Aᵀ·G
        Op::MatMul { transpose_a: false, transpose_b: false } => {
            vec![(0, add(graph, mm(false, true), &[g, b])?), (1, add(graph, mm(true, false), &[a, g])?)]
        }
        // C = A·Bᵀ: dA = G·B, dB = Gᵀ·A
        Op::MatMul { transpose_a: false, transpose_b: true } => {
            vec![(0, add(graph, mm(false, false), &[g, b])?), (1, add(graph, mm(true, false), &[g, a])?)]
        }
        // C = Aᵀ·B: dA = B·Gᵀ, dB = A·G
        Op::MatMul { transpose_a: true, transpose_b: false } => {
            vec![(0, add(graph, mm(false, true), &[b, g])?), (1, add(graph, mm(false, false), &[a, g])?)]
        }
        // C = Aᵀ·Bᵀ: dA = Bᵀ·Gᵀ, dB = Gᵀ·Aᵀ
        Op::MatMul { transpose_a: true, transpose_b: true } => {
            vec![(0, add(graph, mm(true, true), &[b, g])?), (1, add(graph, mm(true, true), &[g, a])?)]
        }
        // d(a + b) = g, g summed over b's broadcast axes
        Op::Binary(Binary::Add) => vec![(0, g), (1, unbroadcast(graph, node, g, b)?)],
        // d(a − b) = g, −g
        Op::Binary(Binary::Sub) => {
            let gb = unbroadcast(graph, node, g, b)?;
            vec![(0, g), (1, graph.add_like(node, Phase::Gradient, Op::Unary(Unary::Neg), &[gb])?)]
        }
        // d(a·b) = g·b, g·a
        Op::Binary(Binary::Mul) => {
            let ga = add(graph, mul.clone(), &[g, b])?;
            let gb = add(graph, mul, &[g, a])?;
            vec![(0, ga), (1, unbroadcast(graph, node, gb, b)?)]
        }
        // d/dx prelu(x, s) = 1 if x > 0 else s;  d/ds = x if x ≤ 0 else 0
        Op::Binary(Binary::Prelu) => {
            let slope_x = add(graph, Op::Binary(Binary::PreluGradInput), &[a, b])?;
            let gx = add(graph, mul.clone(), &[g, slope_x])?;
            let neg = add(graph, Op::Unary(Unary::NegativePart), &[a])?;
            let gs = add(graph, mul, &[g, neg])?;
            vec![(0, gx), (1, unbroadcast(graph, node, gs, b)?)]
        }
        // d/dx 1/√(x+ε) = −½·y³ with y the output
        Op::Unary(Unary::Rsqrt { .. }) => {
            let slope = add(graph, Op::Unary(Unary::RsqrtGradFromOutput), &[node])?;
            vec![(0, add(graph, mul, &[g, slope])?)]
        }
        // y = conv(x, w): dx = conv_transpose(g, w), dw = Σ_batch g ⋆ x
        Op::Conv2d(window) => vec![
            (0, add(graph, Op::Conv2dGradInput(window), &[g, b])?),
            (1, add(graph, Op::Conv2dGradWeight(window), &[a, g])?),
        ],
        // d max_pool: g to the first maximum of each window, as the forward pool saved it
        Op::MaxPool2d(window) => vec![(0, add(graph, Op::MaxPool2dGrad(window), &[node, g])?)],
        // d avg_pool: g / window size to every cell of the window
        Op::AvgPool2d(window) => vec![(0, add(graph, Op::AvgPool2dGrad(window), &[g])?)],
        // d reshape = the gradient in the operand's shape
        Op::Reshape { .. } => {
            let to = graph.shape(a).as_fixed_after_batch();
            vec![(0, add(graph, Op::Reshape { to }, &[g])?)]
        }
        // d Σ_axes x = g repeated along the summed axes
        Op::Sum { axes } => {
            let to = graph.shape(a).clone();
            vec![(0, add(graph, Op::Broadcast { axes, to }, &[g])?)]
        }
        // d broadcast_axes(x) = Σ_axes g
        Op::Broadcast { axes, .. } => vec![(0, add(graph, Op::Sum { axes }, &[g])?)],
        // d Σx² = 2x·g
        Op::SumSquares => {
            let two = add(graph, Op::Const(Const::number(2.0)), &[])?;
            let twice = add(graph, mul.clone(), &[a, two])?;
            vec![(0, add(graph, mul, &[twice, g])?)]
        }
        // d Σ|x| = sign(x)·g (0 at 0)
        Op::SumAbs => {
            let sign = add(graph, Op::Unary(Unary::Sign), &[a])?;
            vec![(0, add(graph, mul, &[sign, g])?)]
        }
        // d(−x) = −g
        Op::Unary(Unary::Neg) => vec![(0, add(graph, Op::Unary(Unary::Neg), &[g])?)],
        // d act(x) = g · act'(x); sigmoid' = y(1−y) and tanh' = 1−y² read the output y
        Op::Unary(Unary::Act(act)) => {
            let at = if act.derivative().from_output { node } else { a };
            let slope = add(graph, Op::Unary(Unary::ActGrad(act)), &[at])?;
            vec![(0, add(graph, mul, &[g, slope])?)]
        }
        // d softmax: dz = p ⊙ (g − Σ g⊙p)
        Op::Softmax => vec![(0, add(graph, Op::SoftmaxVjp, &[node, g])?)],
        // d/dp cross_entropy(p, y) = −onehot(y) / (B·p)
        Op::CrossEntropy => {
            let d = add(graph, Op::CrossEntropyGrad, &[a, b])?;
            vec![(0, add(graph, mul, &[d, g])?)]
        }
        // d/dz softmax_cross_entropy(z, y) = (softmax(z) − onehot(y)) / B
        Op::SoftmaxCrossEntropy => {
            let classes = graph.shape(a).fixed_numel();
            let p = add(graph, Op::Softmax, &[a])?;
            let onehot = add(graph, Op::OneHot { classes }, &[b])?;
            let diff = add(graph, Op::Binary(Binary::Sub), &[p, onehot])?;
            let scale = add(graph, Op::Const(Const::per_batch(1.0)), &[])?;
            let d = add(graph, mul.clone(), &[diff, scale])?;
            vec![(0, add(graph, mul, &[d, g])?)]
        }
        // d/ds binary_cross_entropy(s, t) = (s − t) / (s(1−s)·N)
        Op::BinaryCrossEntropy => {
            let d = add(graph, Op::BinaryCrossEntropyGrad, &[a, b])?;
            vec![(0, add(graph, mul, &[d, g])?)]
        }
        // d/dz bce_with_logits(z, t) = (σ(z) − t) / N
        Op::BinaryCrossEntropyWithLogits => {
            let n = graph.shape(a).fixed_numel() as f64;
            let s = add(graph, Op::Unary(Unary::Act(Activation::Sigmoid)), &[a])?;
            let diff = add(graph, Op::Binary(Binary::Sub), &[s, b])?;
            let scale = add(graph, Op::Const(Const::per_batch(1.0 / n)), &[])?;
            let d = add(graph, mul.clone(), &[diff, scale])?;
            vec![(0, add(graph, mul, &[d, g])?)]
        }
        // d/dp mean((p − t)²) = 2(p − t) / N
        Op::MeanSquaredError => {
            let n = graph.shape(a).fixed_numel() as f64;
            let diff = add(graph, Op::Binary(Binary::Sub), &[a, b])?;
            let scale = add(graph, Op::Const(Const::per_batch(2.0 / n)), &[])?;
            let d = add(graph, mul.clone(), &[diff, scale])?;
            vec![(0, add(graph, mul, &[d, g])?)]
        }
        other => {
            return Err(syn::Error::new(
                graph.node(node).span,
                format!("gradc: no gradient rule for `{}`", other.mnemonic()),
            ));
        }
    })
}
