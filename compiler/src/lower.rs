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

use std::collections::BTreeMap;

use proc_macro2::Span;

use crate::dsl::ParamDecl;
use crate::dsl::ast::{Layer, Network, Residual};
use crate::ir::{Axes, Binary, Const, Graph, Mode, NodeId, Op, Output, Phase, Real, Shape, Unary, Window};
use crate::vocab::{Activation, LayerKind, Loss};

/// Builds one layer's nodes.
struct LayerBuilder<'a> {
    graph: &'a mut Graph,
    layer: &'a Layer,
    params: &'a BTreeMap<String, ParamDecl>,
}

impl LayerBuilder<'_> {
    fn param(&mut self, suffix: &str) -> NodeId {
        let full = format!("{}.{suffix}", self.layer.name);
        let decl = &self.params[&full];
        let op = Op::Param { name: full, kind: decl.kind, frozen: decl.frozen };
        self.graph.add_leaf(op, Shape::fixed(&decl.shape), Some(self.layer.name.clone()), self.layer.span)
    }

    /// Names `node` `LAYER.what`.
    fn label(&mut self, node: NodeId, what: &str) {
        self.graph.set_label(node, format!("{}.{what}", self.layer.name));
    }

    fn op(&mut self, op: Op, operands: &[NodeId]) -> syn::Result<NodeId> {
        self.graph.add(op, operands, Some(self.layer.name.clone()), Phase::Forward, self.layer.span)
    }

    fn constant(&mut self, c: Const) -> syn::Result<NodeId> {
        self.op(Op::Const(c), &[])
    }

    /// Values per feature in one example: 1 for features, H·W for an image's channels.
    fn values_per_feature(&self) -> usize {
        self.layer.input_shape[1..].iter().product()
    }

    /// Batch norm with the batch's statistics, and the running-statistic updates. Statistics
    /// are per feature, over the batch (and the pixels, for images: PyTorch `BatchNorm2d`).
    /// With `selectable`, the statistics used are chosen at run time (see
    /// [`Self::select_statistics`]); without `updates` (inspection), the running statistics
    /// are only read.
    fn batch_norm_train(
        &mut self,
        x: NodeId,
        momentum: f64,
        eps: f64,
        selectable: bool,
        updates: bool,
    ) -> syn::Result<NodeId> {
        let (gamma, beta) = (self.param("weight"), self.param("bias"));
        let (running_mean, running_var) = (self.param("running_mean"), self.param("running_var"));
        let counter = self.param("num_batches_tracked");
        let per_feature = self.values_per_feature();
        let per_example = self.constant(Const::per_batch(1.0 / per_feature as f64))?;
        let sum_op = Op::Sum { axes: Axes::all_but(self.layer.input_shape.len() + 1, 1) };
        // μ = Σx / n;  σ² = Σ(x − μ)² / n (biased, as PyTorch normalizes), n = B·(H·W)
        let sum = self.op(sum_op.clone(), &[x])?;
        let mean = self.op(Op::Binary(Binary::Mul), &[sum, per_example])?;
        self.label(mean, "mean");
        let centered = self.op(Op::Binary(Binary::Sub), &[x, mean])?;
        let squares = self.op(Op::Binary(Binary::Mul), &[centered, centered])?;
        let square_sum = self.op(sum_op, &[squares])?;
        let var = self.op(Op::Binary(Binary::Mul), &[square_sum, per_example])?;
        self.label(var, "var");
        let (centered, inv_std_of) = match selectable {
            false => (centered, var),
            true => self.select_statistics(x, [mean, var], [running_mean, running_var])?,
        };
        self.label(centered, "centered");
        let inv_std = self.op(Op::Unary(Unary::Rsqrt { eps: Real(eps) }), &[inv_std_of])?;
        self.label(inv_std, "inv_std");
        let normalized = self.op(Op::Binary(Binary::Mul), &[centered, inv_std])?;
        self.label(normalized, "normalized");
        let scaled = self.op(Op::Binary(Binary::Mul), &[normalized, gamma])?;
        let y = self.op(Op::Binary(Binary::Add), &[scaled, beta])?;
        if !updates {
            return Ok(y);
        }
        let momentum = Real(momentum);
        let updates = [
            self.op(Op::RunningUpdate { momentum, unbiased: false, per_example: per_feature }, &[running_mean, mean])?,
            self.op(Op::RunningUpdate { momentum, unbiased: true, per_example: per_feature }, &[running_var, var])?,
            self.op(Op::CountBatch, &[counter])?,
        ];
        for (update, what) in updates.into_iter().zip(["running_mean", "running_var", "num_batches_tracked"]) {
            self.label(update, &format!("{what}.update"));
        }
        Ok(y)
    }

    /// The centered input and the variance a batch norm uses when it may be frozen at run
    /// time (`set_trainable(layer, false)`): then it normalizes with its running statistics,
    /// like a `#[frozen]` one. The statistics used are batch·t + running·(1 − t) with t the
    /// layer's training flag, 1 or 0, which selects either exactly, and whose gradient reaches
    /// the batch statistics only while the layer trains.
    fn select_statistics(
        &mut self,
        x: NodeId,
        [mean, var]: [NodeId; 2],
        [running_mean, running_var]: [NodeId; 2],
    ) -> syn::Result<(NodeId, NodeId)> {
        let training = self.op(Op::LayerTraining { layer: self.layer.name.clone() }, &[])?;
        let (minus_one, one) = (self.constant(Const::number(-1.0))?, self.constant(Const::number(1.0))?);
        let negated = self.op(Op::Binary(Binary::Mul), &[training, minus_one])?;
        let frozen = self.op(Op::Binary(Binary::Add), &[negated, one])?;
        let mut select = |batch: NodeId, running: NodeId, label: &str| -> syn::Result<NodeId> {
            let from_batch = self.op(Op::Binary(Binary::Mul), &[batch, training])?;
            let from_running = self.op(Op::Binary(Binary::Mul), &[running, frozen])?;
            let used = self.op(Op::Binary(Binary::Add), &[from_batch, from_running])?;
            self.label(used, label);
            Ok(used)
        };
        let used_mean = select(mean, running_mean, "used_mean")?;
        let used_var = select(var, running_var, "used_var")?;
        let centered = self.op(Op::Binary(Binary::Sub), &[x, used_mean])?;
        Ok((centered, used_var))
    }

    /// Batch norm with the running statistics (evaluation, or a frozen layer).
    fn batch_norm_eval(&mut self, x: NodeId, eps: f64) -> syn::Result<NodeId> {
        let (gamma, beta) = (self.param("weight"), self.param("bias"));
        let (running_mean, running_var) = (self.param("running_mean"), self.param("running_var"));
        let centered = self.op(Op::Binary(Binary::Sub), &[x, running_mean])?;
        self.label(centered, "centered");
        let inv_std = self.op(Op::Unary(Unary::Rsqrt { eps: Real(eps) }), &[running_var])?;
        self.label(inv_std, "inv_std");
        let normalized = self.op(Op::Binary(Binary::Mul), &[centered, inv_std])?;
        self.label(normalized, "normalized");
        let scaled = self.op(Op::Binary(Binary::Mul), &[normalized, gamma])?;
        self.op(Op::Binary(Binary::Add), &[scaled, beta])
    }

    /// The layer's nodes; its output is labelled with the layer's name.
    fn lower(&mut self, x: NodeId, mode: Mode) -> syn::Result<NodeId> {
        let y = self.lower_kind(x, mode)?;
        if y != x {
            self.graph.set_label(y, self.layer.name.clone());
        }
        Ok(y)
    }

    fn lower_kind(&mut self, x: NodeId, mode: Mode) -> syn::Result<NodeId> {
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
                Mode::Training | Mode::FineTuning if !self.layer.frozen => {
                    self.batch_norm_train(x, momentum, eps, mode == Mode::FineTuning, true)
                }
                // Inspection selects batch or running statistics by its run-time mode.
                Mode::Inspection if !self.layer.frozen => self.batch_norm_train(x, momentum, eps, true, false),
                Mode::Training | Mode::FineTuning | Mode::Inference | Mode::Inspection => self.batch_norm_eval(x, eps),
            },
            LayerKind::Dropout { p } if mode.is_training() && p > 0.0 => {
                let shape = self.graph.shape(x).clone();
                let mask = self.graph.add_leaf(
                    Op::DropoutMask { p: Real(p) },
                    shape,
                    Some(self.layer.name.clone()),
                    self.layer.span,
                );
                self.label(mask, "mask");
                self.op(Op::Binary(Binary::Mul), &[x, mask])
            }
            LayerKind::Dropout { .. } => Ok(x),
            LayerKind::Conv2d { out, kernel, stride, padding, dilation, groups, bias, .. } => {
                let [channels_in, height, width] = self.image_input();
                let window = Window {
                    channels_in,
                    channels_out: out,
                    groups,
                    height,
                    width,
                    kernel,
                    stride,
                    padding: padding.sides(kernel, dilation),
                    dilation,
                };
                let w = self.param("weight");
                let y = self.op(Op::Conv2d(window), &[x, w])?;
                if bias {
                    let b = self.param("bias");
                    self.op(Op::Binary(Binary::Add), &[y, b])
                } else {
                    Ok(y)
                }
            }
            LayerKind::MaxPool2d { kernel, stride, padding } => {
                let [channels, height, width] = self.image_input();
                self.op(Op::MaxPool2d(Window::pooling(channels, [height, width], kernel, stride, padding)), &[x])
            }
            LayerKind::AvgPool2d { kernel, stride, padding } => {
                let [channels, height, width] = self.image_input();
                self.op(Op::AvgPool2d(Window::pooling(channels, [height, width], kernel, stride, padding)), &[x])
            }
            LayerKind::GlobalAvgPool => {
                // One window the size of the image, then [B, C, 1, 1] as [B, C].
                let [channels, height, width] = self.image_input();
                let window = Window::pooling(channels, [height, width], [height, width], [height, width], [0, 0]);
                let pooled = self.op(Op::AvgPool2d(window), &[x])?;
                self.op(Op::Reshape { to: vec![channels] }, &[pooled])
            }
            LayerKind::Flatten => self.op(Op::Reshape { to: self.layer.output_shape.clone() }, &[x]),
        }
    }

    /// The `[C, H, W]` of an image layer's input (the checker made sure it is one).
    fn image_input(&self) -> [usize; 3] {
        match self.layer.input_shape[..] {
            [c, h, w] => [c, h, w],
            _ => unreachable!("checked: `{}` takes images", self.layer.name),
        }
    }
}

/// In an inspection graph, makes the output of layer `index` a graph output, so that no pass
/// removes or fuses it away.
fn keep_layer_output(graph: &mut Graph, mode: Mode, index: usize, layer: &Layer, output: NodeId) {
    if mode == Mode::Inspection {
        graph.set_output(Output::Layer { index, name: layer.name.clone() }, output);
    }
}

/// `body + skip`, the output of residual block `residual`, labelled with its name.
fn add_skip(graph: &mut Graph, residual: &Residual, body: NodeId, skip: NodeId) -> syn::Result<NodeId> {
    let name = Some(residual.name.clone());
    let sum = graph.add(Op::Binary(Binary::Add), &[body, skip], name, Phase::Forward, residual.span)?;
    graph.set_label(sum, residual.name.clone());
    Ok(sum)
}

/// The layers whose weights carry a penalty, with their `(l1, l2)` coefficients (DESIGN §2:
/// dense and conv weights, not residual projections; a layer's own coefficient replaces the
/// network-wide one).
pub fn penalties(net: &Network) -> Vec<(usize, f64, f64)> {
    let projections: Vec<usize> = net.residuals.iter().filter_map(|r| r.projection).collect();
    let mut out = Vec::new();
    for (i, layer) in net.layers.iter().enumerate() {
        let (l1, l2) = match layer.kind {
            _ if projections.contains(&i) => continue,
            LayerKind::Dense { l1, l2, .. } => (l1, l2),
            LayerKind::Conv2d { .. } => (None, None),
            LayerKind::BatchNorm { .. }
            | LayerKind::Dropout { .. }
            | LayerKind::Activation(_)
            | LayerKind::Prelu { .. }
            | LayerKind::MaxPool2d { .. }
            | LayerKind::AvgPool2d { .. }
            | LayerKind::GlobalAvgPool
            | LayerKind::Flatten => continue,
        };
        let (l1, l2) = (l1.unwrap_or(net.regularize.l1), l2.unwrap_or(net.regularize.l2));
        if l1 != 0.0 || l2 != 0.0 {
            out.push((i, l1, l2));
        }
    }
    out
}

/// Adds the weight penalties to `loss`: a/2·‖W‖² and b·‖W‖₁.
fn add_penalties(graph: &mut Graph, net: &Network, mut loss: NodeId) -> syn::Result<NodeId> {
    for (i, l1, l2) in penalties(net) {
        let layer = &net.layers[i];
        let name = Some(layer.name.clone());
        let weight = graph.param(&format!("{}.weight", layer.name)).expect("dense and conv layers have a weight");
        for (coefficient, op, scale) in [(l2, Op::SumSquares, 0.5 * l2), (l1, Op::SumAbs, l1)] {
            if coefficient == 0.0 {
                continue;
            }
            let kind = if op == Op::SumSquares { "l2_penalty" } else { "l1_penalty" };
            let total = graph.add(op, &[weight], name.clone(), Phase::Forward, layer.span)?;
            let c = graph.add(Op::Const(Const::number(scale)), &[], name.clone(), Phase::Forward, layer.span)?;
            let penalty = graph.add(Op::Binary(Binary::Mul), &[total, c], name.clone(), Phase::Forward, layer.span)?;
            graph.set_label(penalty, format!("{}.{kind}", layer.name));
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
        Mode::FineTuning => "fine_tune",
        Mode::Inspection => "inspect",
    };
    let mut graph = Graph::new(format!("{}.{suffix}", net.name), net.dtype, mode);
    let params: BTreeMap<String, ParamDecl> = net.params().into_iter().map(|p| (p.name.clone(), p)).collect();
    let mut x = graph.add_leaf(Op::Input, Shape::batch_of(&net.input_shape), Some("input".into()), net.input_span);
    // Residual blocks: the input of each open block, to add back at its end.
    let mut skips: BTreeMap<usize, NodeId> = BTreeMap::new();
    for (i, layer) in net.layers.iter().enumerate() {
        for (b, residual) in net.residuals.iter().enumerate() {
            if residual.body.start == i {
                skips.insert(b, x);
            }
        }
        match net.residuals.iter().position(|r| r.projection == Some(i)) {
            // y = f(x) + P(x): the projection reads the block's input.
            Some(b) => {
                let projected = LayerBuilder { graph: &mut graph, layer, params: &params }.lower(skips[&b], mode)?;
                keep_layer_output(&mut graph, mode, i, layer, projected);
                x = add_skip(&mut graph, &net.residuals[b], x, projected)?;
            }
            None => {
                x = LayerBuilder { graph: &mut graph, layer, params: &params }.lower(x, mode)?;
                keep_layer_output(&mut graph, mode, i, layer, x);
            }
        }
        // y = f(x) + x at the end of a block without projection (inner blocks first).
        for (b, residual) in net.residuals.iter().enumerate() {
            if residual.body.end == i + 1 && residual.projection.is_none() {
                x = add_skip(&mut graph, residual, x, skips[&b])?;
            }
        }
    }
    graph.set_output(Output::Prediction, x);
    if matches!(mode, Mode::Inference | Mode::Inspection) {
        return Ok(graph);
    }
    let (loss, span): (Loss, Span) = net.loss;
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
            let targets = graph.add_leaf(Op::Targets, Shape::batch_of(net.output_shape()), layer.clone(), span);
            let s = add(&mut graph, Op::Unary(Unary::Act(Activation::Sigmoid)), &[x])?;
            add(&mut graph, Op::BinaryCrossEntropy, &[s, targets])?
        }
        Loss::MeanSquaredError => {
            let targets = graph.add_leaf(Op::Targets, Shape::batch_of(net.output_shape()), layer.clone(), span);
            add(&mut graph, Op::MeanSquaredError, &[x, targets])?
        }
    };
    graph.set_label(value, format!("loss.{}", loss.name()));
    let total = add_penalties(&mut graph, net, value)?;
    graph.set_label(total, "loss");
    graph.set_output(Output::Loss, total);
    Ok(graph)
}
