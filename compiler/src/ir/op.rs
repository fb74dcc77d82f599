//! The closed set of IR operations.

use std::fmt;

pub use crate::vocab::activation::with_constants;
pub use crate::vocab::{Activation, Num, Real, UpdateRule, Window};

use super::axes::Axes;
use super::shape::Shape;

/// What a parameter tensor is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParamKind {
    /// Learned by the optimizer (weights, biases, slopes, batch-norm scale and shift).
    Learnable,
    /// A statistic the forward pass updates in training (batch-norm running mean and variance).
    Buffer,
    /// An integer count (batch norm's `num_batches_tracked`), a 64-bit integer in files.
    Counter,
}

/// A scalar constant, optionally divided by the (run-time) batch size: means over the batch
/// scale their gradients by 1/B.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Const {
    /// The value (before division by B).
    pub value: Real,
    /// Divide by the batch size at run time.
    pub per_batch: bool,
}

impl Const {
    /// A plain number.
    pub fn number(value: f64) -> Self {
        Const { value: Real(value), per_batch: false }
    }

    /// `value / B`.
    pub fn per_batch(value: f64) -> Self {
        Const { value: Real(value), per_batch: true }
    }

    /// The value as a number (before division by B).
    pub fn number_value(self) -> f64 {
        self.value.0
    }

    /// Whether this is exactly the number 1.
    pub fn is_one(self) -> bool {
        self.value.0 == 1.0 && !self.per_batch
    }
}

/// Elementwise functions of one operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unary {
    /// −x
    Neg,
    /// An activation.
    Act(Activation),
    /// The activation's derivative, of x (or of y when `grad_from_output`).
    ActGrad(Activation),
    /// x for x ≤ 0, else 0: ∂prelu/∂slope.
    NegativePart,
    /// sign(x), 0 at 0: the L1 subgradient.
    Sign,
    /// 1/√(x + ε): batch norm's inverse standard deviation.
    Rsqrt { eps: Real },
    /// −½y³ from the output y of `Rsqrt`: its derivative.
    RsqrtGradFromOutput,
}

/// Elementwise functions of two operands. The second broadcasts: it has the first's shape,
/// or is a per-feature vector repeated along the other axes (see [`super::broadcast`]), or a
/// scalar `[]`/`[1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Binary {
    /// a + b
    Add,
    /// a − b
    Sub,
    /// a · b
    Mul,
    /// a for a > 0, else b·a (b the learnable slope)
    Prelu,
    /// ∂prelu/∂a: 1 for a > 0, else b
    PreluGradInput,
}

/// Every operation of the IR. Ops compare, order and hash by structure (numbers by their
/// bits), so equal ops over equal operands compute equal values.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    // ---- leaves
    /// The input batch `[B, width]`.
    Input,
    /// Class indices `[B]` (softmax cross-entropy targets).
    Labels,
    /// Target values `[B, width]` (binary cross-entropy, mse).
    Targets,
    /// A parameter tensor, by weights-file name; `frozen` when its layer is `#[frozen]`.
    Param { name: String, kind: ParamKind, frozen: bool },
    /// A scalar constant.
    Const(Const),
    /// A fresh inverted-dropout mask `[B, n]`: 0 with probability p, else 1/(1−p). Drawn
    /// from the network's seeded generator each run, in schedule order.
    DropoutMask { p: Real },
    /// `[]`: 1 while `layer` trains, 0 once `set_trainable(layer, false)` froze it at run
    /// time (a frozen batch norm then normalizes with its running statistics).
    LayerTraining { layer: String },

    // ---- linear algebra
    /// `op(a)·op(b)`, `op` transposing where flagged.
    MatMul { transpose_a: bool, transpose_b: bool },
    /// The sum over `axes` (`sum[0]`: `[B, n] -> [n]`; `sum[0,2,3]`: `[B, C, H, W] -> [C]`).
    /// The kept axes are contiguous.
    Sum { axes: Axes },
    /// `[..] -> [1]`: sum of all elements (undoes a scalar broadcast).
    SumAll,
    /// The operand repeated along `axes` of the result shape `to` (undoes `Sum`).
    Broadcast { axes: Axes, to: Shape },
    /// Index 0 along `axes` (`first[0]`: the first row; a shift that makes one-pass variance
    /// stable).
    First { axes: Axes },
    /// `(w [m, ..], v [m]) -> [m, ..]`: slice i of w times v[i] (folds a per-unit scale into
    /// a dense weight, or a per-channel one into a conv weight).
    ScaleRows,
    /// `[..] -> []`: Σx² (the L2 penalty).
    SumSquares,
    /// `[..] -> []`: Σ|x| (the L1 penalty).
    SumAbs,

    // ---- images `[B, C, H, W]`
    /// `(x, w)`: 2-D convolution (cross-correlation, as PyTorch), weight `[out, in/groups, kh, kw]`.
    Conv2d(Window),
    /// `(g, w)`: the convolution's gradient with respect to its input.
    Conv2dGradInput(Window),
    /// `(x, g)`: the convolution's gradient with respect to its weight (summed over the batch).
    Conv2dGradWeight(Window),
    /// `(x)`: the maximum of each window (padding never wins).
    MaxPool2d(Window),
    /// `(y, g)`: `g` routed to the first maximum of each window, at the positions the
    /// forward pool `y` (a `max_pool2d` node) saved when it ran.
    MaxPool2dGrad(Window),
    /// `(x)`: the mean of each window, padding counted.
    AvgPool2d(Window),
    /// `(g)`: `g` spread evenly over each window.
    AvgPool2dGrad(Window),
    /// The same values in another per-example shape (`flatten`): `to` without the batch.
    Reshape { to: Vec<usize> },

    // ---- elementwise
    /// f(x)
    Unary(Unary),
    /// f(a, b) with b broadcast
    Binary(Binary),

    // ---- row-wise
    /// Softmax over the last axis.
    Softmax,
    /// `(p, dp) -> p ⊙ (dp − Σ dp⊙p)`: the softmax vector-Jacobian product.
    SoftmaxVjp,
    /// Labels `[B]` -> `[B, classes]` of 0/1.
    OneHot { classes: usize },

    // ---- losses: scalar `[]` means over the batch
    /// `(p, labels)`: −mean ln p[y], from probabilities.
    CrossEntropy,
    /// `(p, labels)`: ∂CrossEntropy/∂p = −onehot(y)/(B·p).
    CrossEntropyGrad,
    /// `(z, labels)`: cross-entropy of softmax(z), log-sum-exp stable.
    SoftmaxCrossEntropy,
    /// `(s, t)`: −mean(t ln s + (1−t) ln(1−s)), from probabilities.
    BinaryCrossEntropy,
    /// `(s, t)`: ∂BinaryCrossEntropy/∂s = (s−t)/(s(1−s)·N).
    BinaryCrossEntropyGrad,
    /// `(z, t)`: binary cross-entropy of sigmoid(z), stable.
    BinaryCrossEntropyWithLogits,
    /// `(p, t)`: mean (p−t)².
    MeanSquaredError,

    // ---- optimizer
    /// `(g₁, …, gₙ) -> []`: min(1, c / (‖g‖ + 1e-6)) over every trainable gradient together
    /// (`torch.nn.utils.clip_grad_norm_`).
    ClipScale { max_norm: Real, count: usize },
    /// `(θ, g[, scale])`: the optimizer's update of θ in place (a side effect), with its state
    /// tensors kept by the runtime; η is the run-time learning rate, `scale` the clip factor.
    Update { rule: UpdateRule, clipped: bool },
    /// `(running, stat)`: running ← (1−m)·running + m·stat, the stat first scaled by
    /// n/(n−1) when `unbiased` (batch norm's running variance, as PyTorch), n the number of
    /// values per feature in the batch: B times `per_example` (the pixels of an image channel).
    RunningUpdate { momentum: Real, unbiased: bool, per_example: usize },
    /// `(counter)`: counter ← counter + 1 (batch norm's `num_batches_tracked`).
    CountBatch,
}

impl Op {
    /// The number of operands the op takes.
    pub fn arity(&self) -> usize {
        match self {
            Op::Input
            | Op::Labels
            | Op::Targets
            | Op::Param { .. }
            | Op::Const(_)
            | Op::DropoutMask { .. }
            | Op::LayerTraining { .. } => 0,
            Op::ClipScale { count, .. } => *count,
            Op::Update { clipped: true, .. } => 3,
            Op::Sum { .. }
            | Op::SumAll
            | Op::Broadcast { .. }
            | Op::First { .. }
            | Op::SumSquares
            | Op::SumAbs
            | Op::Unary(_)
            | Op::Softmax
            | Op::OneHot { .. }
            | Op::CountBatch
            | Op::MaxPool2d(_)
            | Op::AvgPool2d(_)
            | Op::AvgPool2dGrad(_)
            | Op::Reshape { .. } => 1,
            Op::MatMul { .. }
            | Op::ScaleRows
            | Op::Binary(_)
            | Op::SoftmaxVjp
            | Op::CrossEntropy
            | Op::CrossEntropyGrad
            | Op::SoftmaxCrossEntropy
            | Op::BinaryCrossEntropy
            | Op::BinaryCrossEntropyGrad
            | Op::BinaryCrossEntropyWithLogits
            | Op::MeanSquaredError
            | Op::Update { clipped: false, .. }
            | Op::RunningUpdate { .. }
            | Op::Conv2d(_)
            | Op::Conv2dGradInput(_)
            | Op::Conv2dGradWeight(_)
            | Op::MaxPool2dGrad(_) => 2,
        }
    }

    /// Whether the op reads no other node.
    pub fn is_leaf(&self) -> bool {
        self.arity() == 0
    }

    /// Whether the op changes state outside its own result (dce never removes it).
    pub fn has_side_effect(&self) -> bool {
        matches!(self, Op::Update { .. } | Op::RunningUpdate { .. } | Op::CountBatch)
    }

    /// Whether the op is an optimizer update (skipped for parameters made non-trainable).
    pub fn is_optimizer_update(&self) -> bool {
        matches!(self, Op::Update { .. })
    }

    /// Whether each run gives a different result (never merged by CSE).
    pub fn is_random(&self) -> bool {
        matches!(self, Op::DropoutMask { .. })
    }

    /// Whether the value is supplied from outside the graph's buffers (data, parameters,
    /// constants) rather than computed by a kernel.
    pub fn is_supplied(&self) -> bool {
        matches!(
            self,
            Op::Input | Op::Labels | Op::Targets | Op::Param { .. } | Op::Const(_) | Op::LayerTraining { .. }
        )
    }

    /// Whether the op is a GEMM-backed product whose result can head a fused group (the
    /// group's passes then run in the same kernel, right after the product).
    pub fn is_product(&self) -> bool {
        matches!(self, Op::MatMul { .. } | Op::Conv2d(_) | Op::Conv2dGradInput(_))
    }

    /// Whether the op maps elements independently (a candidate for elementwise fusion).
    pub fn is_elementwise(&self) -> bool {
        matches!(self, Op::Unary(_) | Op::Binary(_))
    }

    /// Whether gradients of the loss are computed for this parameter: learnable and not
    /// `#[frozen]`. (The run-time `set_trainable` flag decides whether it is updated.)
    pub fn is_differentiable_param(&self) -> bool {
        matches!(self, Op::Param { kind: ParamKind::Learnable, frozen: false, .. })
    }

    /// Whether the result is a mean-reduced loss scalar.
    pub fn is_loss(&self) -> bool {
        matches!(
            self,
            Op::CrossEntropy
                | Op::SoftmaxCrossEntropy
                | Op::BinaryCrossEntropy
                | Op::BinaryCrossEntropyWithLogits
                | Op::MeanSquaredError
        )
    }

    /// Whether the result holds indices rather than floats.
    pub fn is_index(&self) -> bool {
        matches!(self, Op::Labels)
    }

    /// Whether gradients flow into a node with this op (leaves that are data or constants
    /// do not take one).
    pub fn takes_gradient(&self) -> bool {
        !matches!(self, Op::Labels | Op::Targets | Op::Const(_) | Op::DropoutMask { .. } | Op::LayerTraining { .. })
    }

    /// The mnemonic printed in IR text (without operands).
    pub fn mnemonic(&self) -> String {
        match self {
            Op::Input => "input".into(),
            Op::Labels => "labels".into(),
            Op::Targets => "targets".into(),
            Op::Param { name, kind, frozen } => {
                let kind = match kind {
                    ParamKind::Learnable => "",
                    ParamKind::Buffer => " buffer",
                    ParamKind::Counter => " counter",
                };
                let frozen = if *frozen { " frozen" } else { "" };
                format!("param {name}{kind}{frozen}")
            }
            Op::Const(c) => format!("const {c}"),
            Op::DropoutMask { p } => format!("dropout_mask[{p}]"),
            Op::LayerTraining { layer } => format!("training {layer}"),
            Op::Broadcast { axes, .. } => format!("broadcast[{axes}]"),
            Op::First { axes } => format!("first[{axes}]"),
            Op::ScaleRows => "scale_rows".into(),
            Op::SumSquares => "sum_squares".into(),
            Op::SumAbs => "sum_abs".into(),
            Op::Unary(Unary::Sign) => "sign".into(),
            Op::Unary(Unary::Rsqrt { eps }) => format!("rsqrt[{eps}]"),
            Op::Unary(Unary::RsqrtGradFromOutput) => "rsqrt_grad".into(),
            Op::RunningUpdate { momentum, unbiased: false, .. } => format!("running_update[{momentum}]"),
            Op::RunningUpdate { momentum, unbiased: true, per_example: 1 } => {
                format!("running_update[{momentum}, unbiased]")
            }
            Op::RunningUpdate { momentum, unbiased: true, per_example } => {
                format!("running_update[{momentum}, unbiased over B·{per_example}]")
            }
            Op::Conv2d(w) => format!("conv2d[{w}]"),
            Op::Conv2dGradInput(w) => format!("conv2d_grad_input[{w}]"),
            Op::Conv2dGradWeight(w) => format!("conv2d_grad_weight[{w}]"),
            Op::MaxPool2d(w) => format!("max_pool2d[{w}]"),
            Op::MaxPool2dGrad(w) => format!("max_pool2d_grad[{w}]"),
            Op::AvgPool2d(w) => format!("avg_pool2d[{w}]"),
            Op::AvgPool2dGrad(w) => format!("avg_pool2d_grad[{w}]"),
            Op::Reshape { to } => {
                let dims: Vec<String> = to.iter().map(usize::to_string).collect();
                format!("reshape[B,{}]", dims.join(","))
            }
            Op::CountBatch => "count_batch".into(),
            Op::MatMul { .. } => "matmul".into(),
            Op::Sum { axes } => format!("sum[{axes}]"),
            Op::SumAll => "sum_all".into(),
            Op::Unary(Unary::Neg) => "neg".into(),
            Op::Unary(Unary::Act(a)) => a.mnemonic(),
            Op::Unary(Unary::ActGrad(a)) => with_constants(&format!("{}_grad", a.function()), &a.constants()),
            Op::Unary(Unary::NegativePart) => "negative_part".into(),
            Op::Binary(Binary::Add) => "add".into(),
            Op::Binary(Binary::Sub) => "sub".into(),
            Op::Binary(Binary::Mul) => "mul".into(),
            Op::Binary(Binary::Prelu) => "prelu".into(),
            Op::Binary(Binary::PreluGradInput) => "prelu_grad_input".into(),
            Op::Softmax => "softmax".into(),
            Op::SoftmaxVjp => "softmax_vjp".into(),
            Op::OneHot { classes } => format!("one_hot[{classes}]"),
            Op::CrossEntropy => "cross_entropy".into(),
            Op::CrossEntropyGrad => "cross_entropy_grad".into(),
            Op::SoftmaxCrossEntropy => "softmax_cross_entropy".into(),
            Op::BinaryCrossEntropy => "binary_cross_entropy".into(),
            Op::BinaryCrossEntropyGrad => "binary_cross_entropy_grad".into(),
            Op::BinaryCrossEntropyWithLogits => "binary_cross_entropy_with_logits".into(),
            Op::MeanSquaredError => "mean_squared_error".into(),
            Op::ClipScale { max_norm, .. } => format!("clip_scale[{max_norm}]"),
            Op::Update { rule, .. } => rule.mnemonic(),
        }
    }

    /// A short name usable in a Rust identifier (`matmul`, `leaky_relu_grad`).
    pub fn ident(&self) -> String {
        match self {
            Op::Param { .. } => "param".into(),
            Op::Const(_) => "const".into(),
            Op::Unary(Unary::Act(a)) => a.function().into(),
            Op::Unary(Unary::ActGrad(a)) => format!("{}_grad", a.function()),
            Op::OneHot { .. } => "one_hot".into(),
            Op::DropoutMask { .. } => "dropout_mask".into(),
            Op::LayerTraining { .. } => "training".into(),
            Op::Unary(Unary::Rsqrt { .. }) => "rsqrt".into(),
            Op::RunningUpdate { .. } => "running_update".into(),
            Op::Conv2d(_) => "conv2d".into(),
            Op::Conv2dGradInput(_) => "conv2d_grad_input".into(),
            Op::Conv2dGradWeight(_) => "conv2d_grad_weight".into(),
            Op::MaxPool2d(_) => "max_pool2d".into(),
            Op::MaxPool2dGrad(_) => "max_pool2d_grad".into(),
            Op::AvgPool2d(_) => "avg_pool2d".into(),
            Op::AvgPool2dGrad(_) => "avg_pool2d_grad".into(),
            Op::Sum { .. } => "sum".into(),
            Op::Broadcast { .. } => "broadcast".into(),
            Op::First { .. } => "first".into(),
            Op::Reshape { .. } => "reshape".into(),
            Op::ClipScale { .. } => "clip_scale".into(),
            Op::Update { rule, .. } => format!("{}_update", rule.name()),
            other => other.mnemonic(),
        }
    }
}

impl fmt::Display for Const {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.per_batch { write!(f, "{}/B", self.value) } else { write!(f, "{}", self.value) }
    }
}
