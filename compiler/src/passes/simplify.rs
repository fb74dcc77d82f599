//! Algebraic simplification: small named rewrite rules and common subexpression elimination
//! ([`cse`](super::cse)), run together to a fixpoint since each enables the other.
//!
//! The loss rules are what make the textbook lowering numerically sound: cross-entropy of a
//! softmax becomes log-sum-exp on the logits, and its gradient `p − onehot`; the same for
//! sigmoid and binary cross-entropy. Rules only rewrite; nodes they orphan are left for dce,
//! except the rewritten node itself, removed at once so no rule can match it twice. A
//! replacement without a label takes the label of the node it replaces.

use super::Pass;
use super::cse::merge_common_subexpressions;
use crate::ir::{Activation, Binary, Broadcast, Const, Graph, NodeId, Op, Phase, Real, Unary, broadcast};

/// A rewrite rule: the replacement for `node`, if the rule applies.
type Rule = fn(&mut Graph, NodeId) -> syn::Result<Option<NodeId>>;

/// Every rule, by name, in the order they are tried.
pub const RULES: &[(&str, Rule)] = &[
    ("mul_by_one", mul_by_one),
    ("fold_constant_products", fold_constant_products),
    ("fold_constant_scales", fold_constant_scales),
    ("softmax_cross_entropy", softmax_cross_entropy),
    ("softmax_cross_entropy_grad", softmax_cross_entropy_grad),
    ("sigmoid_binary_cross_entropy", sigmoid_binary_cross_entropy),
    ("sigmoid_binary_cross_entropy_grad", sigmoid_binary_cross_entropy_grad),
    ("sum_of_add", sum_of_add),
    ("sum_of_broadcast_scaled", sum_of_broadcast_scaled),
    ("sum_of_centered", sum_of_centered),
    ("add_zero", add_zero),
];

/// Sweeps over the graph before giving up on a fixpoint (each sweep applies every rule
/// everywhere, so real graphs settle in two or three).
const MAX_SWEEPS: usize = 32;

/// The simplify pass; tests may switch rules off by name.
#[derive(Default)]
pub struct Simplify {
    /// Names of rules not to run.
    pub disabled: Vec<&'static str>,
    /// Skip common subexpression elimination.
    pub no_cse: bool,
}

impl Pass for Simplify {
    fn name(&self) -> &'static str {
        "simplify"
    }

    fn run(&self, graph: &mut Graph) -> syn::Result<()> {
        for sweep in 0..MAX_SWEEPS {
            let mut changed = false;
            for node in graph.topological_order() {
                for (name, rule) in RULES {
                    if self.disabled.contains(name) || !graph.contains(node) {
                        continue;
                    }
                    if let Some(replacement) = rule(graph, node)? {
                        if let Some(label) = graph.node(node).label.clone()
                            && graph.node(replacement).label.is_none()
                        {
                            graph.set_label(replacement, label);
                        }
                        graph.replace_uses(node, replacement);
                        graph.remove(node);
                        changed = true;
                    }
                }
            }
            // After the first sweep, one whose rules changed nothing leaves the graph as the
            // last merge left it, and one merge takes every common subexpression (it walks in
            // topological order, so merged operands make their users equal before it reaches
            // them): nothing is left to do.
            if !changed && sweep > 0 {
                break;
            }
            let merged = !self.no_cse && merge_common_subexpressions(graph);
            if !changed && !merged {
                break;
            }
        }
        Ok(())
    }
}

fn const_of(graph: &Graph, n: NodeId) -> Option<Const> {
    if let Op::Const(c) = graph.op(n) { Some(*c) } else { None }
}

fn is(graph: &Graph, n: NodeId, op: &Op) -> bool {
    graph.op(n) == op
}

fn binary(graph: &Graph, n: NodeId, kind: Binary) -> Option<(NodeId, NodeId)> {
    graph.binary_operands(n, kind)
}

/// x · 1 → x, and 1 · x → x where x already has the product's shape
fn mul_by_one(graph: &mut Graph, n: NodeId) -> syn::Result<Option<NodeId>> {
    let Some((a, b)) = binary(graph, n, Binary::Mul) else { return Ok(None) };
    let one = |x: NodeId| const_of(graph, x).is_some_and(Const::is_one);
    Ok(if one(b) {
        Some(a)
    } else if one(a) && graph.shape(b) == graph.shape(n) {
        Some(b)
    } else {
        None
    })
}

/// c₁ · c₂ → (c₁c₂), when at most one of them is divided by B
fn fold_constant_products(graph: &mut Graph, n: NodeId) -> syn::Result<Option<NodeId>> {
    let Some((a, b)) = binary(graph, n, Binary::Mul) else { return Ok(None) };
    let (Some(c1), Some(c2)) = (const_of(graph, a), const_of(graph, b)) else { return Ok(None) };
    if c1.per_batch && c2.per_batch {
        return Ok(None);
    }
    let folded = Const { value: Real(c1.number_value() * c2.number_value()), per_batch: c1.per_batch || c2.per_batch };
    graph.add_like(n, graph.node(n).phase, Op::Const(folded), &[]).map(Some)
}

/// (x · c₁) · c₂ → x · (c₁c₂), when at most one of them is divided by B
fn fold_constant_scales(graph: &mut Graph, n: NodeId) -> syn::Result<Option<NodeId>> {
    let Some((inner, c2)) = binary(graph, n, Binary::Mul) else {
        return Ok(None);
    };
    let (Some(c2), Some((x, c1))) = (const_of(graph, c2), binary(graph, inner, Binary::Mul)) else {
        return Ok(None);
    };
    let Some(c1) = const_of(graph, c1) else {
        return Ok(None);
    };
    if c1.per_batch && c2.per_batch {
        return Ok(None);
    }
    let folded = Const { value: Real(c1.number_value() * c2.number_value()), per_batch: c1.per_batch || c2.per_batch };
    let c = graph.add_like(n, graph.node(n).phase, Op::Const(folded), &[])?;
    graph.add_like(n, graph.node(n).phase, Op::Binary(Binary::Mul), &[x, c]).map(Some)
}

/// cross_entropy(softmax(z), y) → softmax_cross_entropy(z, y)   (log-sum-exp, stable)
fn softmax_cross_entropy(graph: &mut Graph, n: NodeId) -> syn::Result<Option<NodeId>> {
    if !is(graph, n, &Op::CrossEntropy) {
        return Ok(None);
    }
    let [p, labels] = graph.operands(n)[..] else {
        return Ok(None);
    };
    if !is(graph, p, &Op::Softmax) {
        return Ok(None);
    }
    let z = graph.operands(p)[0];
    graph.add_like(n, Phase::Forward, Op::SoftmaxCrossEntropy, &[z, labels]).map(Some)
}

/// softmax_vjp(p, cross_entropy_grad(p, y)) with p = softmax(z) → (p − onehot(y)) · 1/B
fn softmax_cross_entropy_grad(graph: &mut Graph, n: NodeId) -> syn::Result<Option<NodeId>> {
    if !is(graph, n, &Op::SoftmaxVjp) {
        return Ok(None);
    }
    let [p, dp] = graph.operands(n)[..] else {
        return Ok(None);
    };
    if !is(graph, p, &Op::Softmax) || !is(graph, dp, &Op::CrossEntropyGrad) || graph.operands(dp)[0] != p {
        return Ok(None);
    }
    let labels = graph.operands(dp)[1];
    let classes = graph.shape(p).fixed_numel();
    let onehot = graph.add_like(n, Phase::Gradient, Op::OneHot { classes }, &[labels])?;
    let diff = graph.add_like(n, Phase::Gradient, Op::Binary(Binary::Sub), &[p, onehot])?;
    let scale = graph.add_like(n, Phase::Gradient, Op::Const(Const::per_batch(1.0)), &[])?;
    let dlogits = graph.add_like(n, Phase::Gradient, Op::Binary(Binary::Mul), &[diff, scale])?;
    graph.set_label(dlogits, "loss.dlogits");
    Ok(Some(dlogits))
}

const SIGMOID: Op = Op::Unary(Unary::Act(Activation::Sigmoid));
const SIGMOID_GRAD: Op = Op::Unary(Unary::ActGrad(Activation::Sigmoid));

/// binary_cross_entropy(sigmoid(z), t) → binary_cross_entropy_with_logits(z, t)   (stable)
fn sigmoid_binary_cross_entropy(graph: &mut Graph, n: NodeId) -> syn::Result<Option<NodeId>> {
    if !is(graph, n, &Op::BinaryCrossEntropy) {
        return Ok(None);
    }
    let [s, t] = graph.operands(n)[..] else {
        return Ok(None);
    };
    if !is(graph, s, &SIGMOID) {
        return Ok(None);
    }
    let z = graph.operands(s)[0];
    graph.add_like(n, Phase::Forward, Op::BinaryCrossEntropyWithLogits, &[z, t]).map(Some)
}

/// binary_cross_entropy_grad(s, t) · sigmoid_grad(s) with s = sigmoid(z) → (s − t) · 1/N
fn sigmoid_binary_cross_entropy_grad(graph: &mut Graph, n: NodeId) -> syn::Result<Option<NodeId>> {
    let Some((d, slope)) = binary(graph, n, Binary::Mul) else {
        return Ok(None);
    };
    if !is(graph, d, &Op::BinaryCrossEntropyGrad) || !is(graph, slope, &SIGMOID_GRAD) {
        return Ok(None);
    }
    let [s, t] = graph.operands(d)[..] else {
        return Ok(None);
    };
    if graph.operands(slope)[0] != s || !is(graph, s, &SIGMOID) {
        return Ok(None);
    }
    let per_example = graph.shape(s).fixed_numel() as f64;
    let diff = graph.add_like(n, Phase::Gradient, Op::Binary(Binary::Sub), &[s, t])?;
    let scale = graph.add_like(n, Phase::Gradient, Op::Const(Const::per_batch(1.0 / per_example)), &[])?;
    let dlogits = graph.add_like(n, Phase::Gradient, Op::Binary(Binary::Mul), &[diff, scale])?;
    graph.set_label(dlogits, "loss.dlogits");
    Ok(Some(dlogits))
}

/// Σ (a + b) → Σ a + Σ b   (lets each sum join the earliest pass it can)
fn sum_of_add(graph: &mut Graph, n: NodeId) -> syn::Result<Option<NodeId>> {
    let op @ Op::Sum { .. } = graph.op(n).clone() else { return Ok(None) };
    let Some((a, b)) = binary(graph, graph.operands(n)[0], Binary::Add) else { return Ok(None) };
    if graph.shape(a) != graph.shape(b) {
        return Ok(None);
    }
    let sa = distributed_sum(graph, n, &op, a, 0)?;
    let sb = distributed_sum(graph, n, &op, b, 0)?;
    let phase = graph.node(n).phase;
    graph.add_like(n, phase, Op::Binary(Binary::Add), &[sa, sb]).map(Some)
}

/// How deep one application of [`sum_of_add`] follows a chain of additions (a residual
/// network's gradient is one addition per block); the next sweep goes on from there.
const SUM_OF_ADD_DEPTH: usize = 256;

/// `op` (a sum) of `x`: a node that already computes it, or the sums of `x`'s terms added if
/// `x` is an addition, or a new sum. Doing the whole chain at once, reusing the sums that
/// exist (each block's gradient sum is also the next block's), keeps a residual network's
/// rewrite linear instead of one sweep of the graph per block.
fn distributed_sum(graph: &mut Graph, like: NodeId, op: &Op, x: NodeId, depth: usize) -> syn::Result<NodeId> {
    if let Some(existing) = graph.users(x).into_iter().find(|&u| u != like && graph.op(u) == op) {
        return Ok(existing);
    }
    let phase = graph.node(like).phase;
    if depth < SUM_OF_ADD_DEPTH
        && let Some((a, b)) = binary(graph, x, Binary::Add)
        && graph.shape(a) == graph.shape(b)
    {
        let sa = distributed_sum(graph, like, op, a, depth + 1)?;
        let sb = distributed_sum(graph, like, op, b, depth + 1)?;
        return graph.add_like(like, phase, Op::Binary(Binary::Add), &[sa, sb]);
    }
    graph.add_like(like, phase, op.clone(), &[x])
}

/// Σ_axes (a · v) → (Σ_axes a) · v for a v repeated along the summed axes (a broadcast one,
/// or one the multiplication broadcasts)
fn sum_of_broadcast_scaled(graph: &mut Graph, n: NodeId) -> syn::Result<Option<NodeId>> {
    let Op::Sum { axes } = graph.op(n).clone() else { return Ok(None) };
    let product = graph.operands(n)[0];
    let Some((a, b)) = binary(graph, product, Binary::Mul) else { return Ok(None) };
    let repeated = |x: NodeId| -> Option<NodeId> {
        match graph.op(x) {
            Op::Broadcast { axes: along, .. } if *along == axes => Some(graph.operands(x)[0]),
            _ if broadcast(graph.shape(product), graph.shape(x)) == Some(Broadcast::Along(axes)) => Some(x),
            _ => None,
        }
    };
    let (full, v) = match (repeated(b), repeated(a)) {
        (Some(v), _) => (a, v),
        (None, Some(v)) => (b, v),
        (None, None) => return Ok(None),
    };
    if graph.shape(full) != graph.shape(product) {
        return Ok(None);
    }
    let phase = graph.node(n).phase;
    let sum = graph.add_like(n, phase, Op::Sum { axes }, &[full])?;
    graph.add_like(n, phase, Op::Binary(Binary::Mul), &[sum, v]).map(Some)
}

/// Σ (x − mean(x)) → 0 per feature   (deviations from the mean sum to zero)
fn sum_of_centered(graph: &mut Graph, n: NodeId) -> syn::Result<Option<NodeId>> {
    if !matches!(graph.op(n), Op::Sum { .. }) {
        return Ok(None);
    }
    let Some((x, mean)) = binary(graph, graph.operands(n)[0], Binary::Sub) else { return Ok(None) };
    let centered = graph.operands(n)[0];
    let is_mean = graph.per_feature_mean(mean).is_some_and(|(_, of)| of == x);
    if !is_mean || !graph.is_per_feature_sum_of(n, centered) {
        return Ok(None);
    }
    // A zero of the right shape: the mean times 0.
    let phase = graph.node(n).phase;
    let zero = graph.add_like(n, phase, Op::Const(Const::number(0.0)), &[])?;
    graph.add_like(n, phase, Op::Binary(Binary::Mul), &[mean, zero]).map(Some)
}

/// Whether `n` is 0 by construction: the constant 0, or a product with a zero.
fn is_zero(graph: &Graph, n: NodeId) -> bool {
    if const_of(graph, n).is_some_and(|c| c.number_value() == 0.0) {
        return true;
    }
    if matches!(graph.op(n), Op::Unary(Unary::Neg)) {
        return is_zero(graph, graph.operands(n)[0]);
    }
    binary(graph, n, Binary::Mul).is_some_and(|(a, b)| is_zero(graph, a) || is_zero(graph, b))
}

/// x + 0 → x, and 0 + x → x where x already has the sum's shape
fn add_zero(graph: &mut Graph, n: NodeId) -> syn::Result<Option<NodeId>> {
    let Some((a, b)) = binary(graph, n, Binary::Add) else { return Ok(None) };
    Ok(if is_zero(graph, b) && graph.shape(a) == graph.shape(n) {
        Some(a)
    } else if is_zero(graph, a) && graph.shape(b) == graph.shape(n) {
        Some(b)
    } else {
        None
    })
}
