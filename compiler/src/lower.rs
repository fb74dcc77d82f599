//! Lowering: a checked [`Network`] to the forward graph IR.
//!
//! Each layer becomes its primitive ops: dense is `matmul` then `add` of the bias; an
//! activation one elementwise op; prelu `prelu` with its slope parameter; batch norm the
//! textbook statistics and normalization (training) or the running statistics (evaluation);
//! dropout a `mul` by a random mask (training only). In training mode the loss is lowered in
//! its textbook form — `softmax` then `cross_entropy`, `sigmoid` then `binary_cross_entropy`
//! — plus the weight penalties, and the simplify pass turns the losses into their stable
//! fused forms. Running-statistic updates are side-effect nodes, scheduled with the
//! optimizer's updates, so a step that fails changes nothing.

use proc_macro2::Span;

use crate::dsl::ast::{InitSpec, Layer, LayerKind, Loss, Network};
use crate::ir::{Activation, Binary, Const, Graph, NodeId, Op, Output, Phase, Shape, Unary};

/// Which function a graph computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `forward`: input to prediction, batch norm on running statistics, no dropout.
    Inference,
    /// `train_step`: input and targets to the loss (autodiff and the optimizer add the rest).
    Training,
}

/// What a parameter tensor is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Learned by the optimizer (weights, biases, slopes, batch-norm scale and shift).
    Learnable,
    /// Updated by the forward pass in training (batch-norm running statistics).
    Buffer,
    /// An integer count (batch norm's `num_batches_tracked`), a 64-bit integer in files.
    Counter,
}

/// One parameter as lowering declares it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    /// Weights-file name (`fc1.weight`).
    pub name: String,
    /// Owning layer.
    pub layer: String,
    /// Shape (`[]` for a counter).
    pub shape: Vec<usize>,
    /// How it starts.
    pub init: ParamInit,
    /// Learnable, buffer or counter.
    pub kind: ParamKind,
    /// `false` if the layer is `#[frozen]`.
    pub frozen: bool,
}

impl ParamDecl {
    /// Whether autodiff computes its gradient and the optimizer updates it.
    pub fn trainable(&self) -> bool {
        self.kind == ParamKind::Learnable && !self.frozen
    }
}

/// How a parameter starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamInit {
    /// A dense weight initializer.
    Weight(InitSpec),
    /// Every element this value.
    Constant(f64),
}

/// The parameters of `net`, in weights-file order (layer order, then as PyTorch lists them).
pub fn params(net: &Network) -> Vec<ParamDecl> {
    let mut out = Vec::new();
    let mut width = net.input_width;
    for layer in &net.layers {
        let mut decl = |suffix: &str, shape: Vec<usize>, init: ParamInit, kind: ParamKind| {
            out.push(ParamDecl {
                name: format!("{}.{suffix}", layer.name),
                layer: layer.name.clone(),
                shape,
                init,
                kind,
                frozen: layer.frozen,
            })
        };
        match &layer.kind {
            LayerKind::Dense { units, init, bias, .. } => {
                decl("weight", vec![*units, width], ParamInit::Weight(*init), ParamKind::Learnable);
                if *bias {
                    decl("bias", vec![*units], ParamInit::Constant(0.0), ParamKind::Learnable);
                }
                width = *units;
            }
            LayerKind::Prelu { init, per_unit } => {
                let shape = vec![if *per_unit { width } else { 1 }];
                decl("weight", shape, ParamInit::Constant(*init), ParamKind::Learnable);
            }
            LayerKind::BatchNorm { .. } => {
                decl("weight", vec![width], ParamInit::Constant(1.0), ParamKind::Learnable);
                decl("bias", vec![width], ParamInit::Constant(0.0), ParamKind::Learnable);
                decl("running_mean", vec![width], ParamInit::Constant(0.0), ParamKind::Buffer);
                decl("running_var", vec![width], ParamInit::Constant(1.0), ParamKind::Buffer);
                decl("num_batches_tracked", vec![], ParamInit::Constant(0.0), ParamKind::Counter);
            }
            LayerKind::Activation(_) | LayerKind::Dropout { .. } => {}
        }
    }
    out
}

/// The output width of each layer.
pub fn layer_widths(net: &Network) -> Vec<usize> {
    let mut width = net.input_width;
    net.layers
        .iter()
        .map(|l| {
            if let LayerKind::Dense { units, .. } = l.kind {
                width = units;
            }
            width
        })
        .collect()
}

/// Whether training needs at least two examples per batch (a batch norm computes statistics).
pub fn needs_two_examples(net: &Network) -> bool {
    net.layers.iter().any(|l| matches!(l.kind, LayerKind::BatchNorm { .. }) && !l.frozen)
}

/// Builds one layer's nodes.
struct LayerBuilder<'a> {
    graph: &'a mut Graph,
    layer: &'a Layer,
    params: &'a [ParamDecl],
}

impl LayerBuilder<'_> {
    fn param(&mut self, suffix: &str) -> NodeId {
        let full = format!("{}.{suffix}", self.layer.name);
        let decl = self.params.iter().find(|p| p.name == full).expect("params() declares every parameter");
        let op = Op::Param { name: full, trainable: decl.trainable() };
        self.graph.add_leaf(op, Shape::fixed(&decl.shape), Some(self.layer.name.clone()), self.layer.span)
    }

    fn op(&mut self, op: Op, operands: &[NodeId]) -> syn::Result<NodeId> {
        self.graph.add(op, operands, Some(self.layer.name.clone()), Phase::Forward, self.layer.span)
    }

    fn constant(&mut self, c: Const) -> syn::Result<NodeId> {
        self.op(Op::Const(c), &[])
    }

    /// Batch norm with the batch's statistics, and the running-statistic updates.
    fn batch_norm_train(&mut self, x: NodeId, momentum: f64, eps: f64) -> syn::Result<NodeId> {
        let (gamma, beta) = (self.param("weight"), self.param("bias"));
        let (running_mean, running_var) = (self.param("running_mean"), self.param("running_var"));
        let counter = self.param("num_batches_tracked");
        let per_example = self.constant(Const::per_batch(1.0))?;
        // μ = Σx / B;  σ² = Σ(x − μ)² / B (biased, as PyTorch normalizes)
        let sum = self.op(Op::SumRows, &[x])?;
        let mean = self.op(Op::Binary(Binary::Mul), &[sum, per_example])?;
        let centered = self.op(Op::Binary(Binary::Sub), &[x, mean])?;
        let squares = self.op(Op::Binary(Binary::Mul), &[centered, centered])?;
        let square_sum = self.op(Op::SumRows, &[squares])?;
        let var = self.op(Op::Binary(Binary::Mul), &[square_sum, per_example])?;
        let inv_std = self.op(Op::Unary(Unary::Rsqrt { eps }), &[var])?;
        let normalized = self.op(Op::Binary(Binary::Mul), &[centered, inv_std])?;
        let scaled = self.op(Op::Binary(Binary::Mul), &[normalized, gamma])?;
        let y = self.op(Op::Binary(Binary::Add), &[scaled, beta])?;
        self.op(Op::RunningUpdate { momentum, unbiased: false }, &[running_mean, mean])?;
        self.op(Op::RunningUpdate { momentum, unbiased: true }, &[running_var, var])?;
        self.op(Op::CountBatch, &[counter])?;
        Ok(y)
    }

    /// Batch norm with the running statistics (evaluation, or a frozen layer).
    fn batch_norm_eval(&mut self, x: NodeId, eps: f64) -> syn::Result<NodeId> {
        let (gamma, beta) = (self.param("weight"), self.param("bias"));
        let (running_mean, running_var) = (self.param("running_mean"), self.param("running_var"));
        let centered = self.op(Op::Binary(Binary::Sub), &[x, running_mean])?;
        let inv_std = self.op(Op::Unary(Unary::Rsqrt { eps }), &[running_var])?;
        let normalized = self.op(Op::Binary(Binary::Mul), &[centered, inv_std])?;
        let scaled = self.op(Op::Binary(Binary::Mul), &[normalized, gamma])?;
        self.op(Op::Binary(Binary::Add), &[scaled, beta])
    }

    fn lower(&mut self, x: NodeId, mode: Mode) -> syn::Result<NodeId> {
        match self.layer.kind.clone() {
            LayerKind::Dense { bias, .. } => {
                let w = self.param("weight");
                let y = self.op(Op::MatMul { transpose_a: false, transpose_b: true }, &[x, w])?;
                if bias {
                    let b = self.param("bias");
                    self.op(Op::Binary(Binary::Add), &[y, b])
                } else {
                    Ok(y)
                }
            }
            LayerKind::Activation(a) => self.op(Op::Unary(Unary::Act(a)), &[x]),
            LayerKind::Prelu { .. } => {
                let slope = self.param("weight");
                self.op(Op::Binary(Binary::Prelu), &[x, slope])
            }
            LayerKind::BatchNorm { momentum, eps } => match mode {
                Mode::Training if !self.layer.frozen => self.batch_norm_train(x, momentum, eps),
                _ => self.batch_norm_eval(x, eps),
            },
            LayerKind::Dropout { p } if mode == Mode::Training && p > 0.0 => {
                let shape = self.graph.shape(x).clone();
                let mask =
                    self.graph.add_leaf(Op::DropoutMask { p }, shape, Some(self.layer.name.clone()), self.layer.span);
                self.op(Op::Binary(Binary::Mul), &[x, mask])
            }
            LayerKind::Dropout { .. } => Ok(x),
        }
    }
}

/// Adds the weight penalties of every dense layer to `loss`: a/2·‖W‖² and b·‖W‖₁.
fn add_penalties(graph: &mut Graph, net: &Network, mut loss: NodeId) -> syn::Result<NodeId> {
    for layer in &net.layers {
        let LayerKind::Dense { l1, l2, .. } = layer.kind else { continue };
        let (l1, l2) = (l1.unwrap_or(net.regularize.l1), l2.unwrap_or(net.regularize.l2));
        if l1 == 0.0 && l2 == 0.0 {
            continue;
        }
        let name = Some(layer.name.clone());
        let weight = graph.param(&format!("{}.weight", layer.name)).expect("dense layers have a weight");
        for (coefficient, op, scale) in [(l2, Op::SumSquares, 0.5 * l2), (l1, Op::SumAbs, l1)] {
            if coefficient == 0.0 {
                continue;
            }
            let total = graph.add(op, &[weight], name.clone(), Phase::Forward, layer.span)?;
            let c = graph.add(Op::Const(Const::number(scale)), &[], name.clone(), Phase::Forward, layer.span)?;
            let penalty = graph.add(Op::Binary(Binary::Mul), &[total, c], name.clone(), Phase::Forward, layer.span)?;
            loss = graph.add(
                Op::Binary(Binary::Add),
                &[loss, penalty],
                Some("loss".into()),
                Phase::Forward,
                layer.span,
            )?;
        }
    }
    Ok(loss)
}

/// Lowers `net` to the forward graph of `mode`.
pub fn lower(net: &Network, mode: Mode) -> syn::Result<Graph> {
    let suffix = match mode {
        Mode::Inference => "forward",
        Mode::Training => "train",
    };
    let mut graph = Graph::new(format!("{}.{suffix}", net.name), net.dtype);
    let params = params(net);
    let mut x = graph.add_leaf(Op::Input, Shape::batch_rows(net.input_width), Some("input".into()), net.input_span);
    for layer in &net.layers {
        x = LayerBuilder { graph: &mut graph, layer, params: &params }.lower(x, mode)?;
    }
    graph.set_output(Output::Prediction, x);
    if mode == Mode::Inference {
        return Ok(graph);
    }
    let (loss, span): (Loss, Span) = net.loss;
    let width = *layer_widths(net).last().unwrap_or(&net.input_width);
    let layer = Some("loss".to_string());
    let add =
        |graph: &mut Graph, op: Op, operands: &[NodeId]| graph.add(op, operands, layer.clone(), Phase::Forward, span);
    let value = match loss {
        Loss::SoftmaxCrossEntropy => {
            let labels = graph.add_leaf(Op::Labels, Shape::batch(), layer.clone(), span);
            let p = add(&mut graph, Op::Softmax, &[x])?;
            add(&mut graph, Op::CrossEntropy, &[p, labels])?
        }
        Loss::BinaryCrossEntropy => {
            let targets = graph.add_leaf(Op::Targets, Shape::batch_rows(width), layer.clone(), span);
            let s = add(&mut graph, Op::Unary(Unary::Act(Activation::Sigmoid)), &[x])?;
            add(&mut graph, Op::BinaryCrossEntropy, &[s, targets])?
        }
        Loss::MeanSquaredError => {
            let targets = graph.add_leaf(Op::Targets, Shape::batch_rows(width), layer.clone(), span);
            add(&mut graph, Op::MeanSquaredError, &[x, targets])?
        }
    };
    let total = add_penalties(&mut graph, net, value)?;
    graph.set_output(Output::Loss, total);
    Ok(graph)
}
