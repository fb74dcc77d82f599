//! Lowering: a checked [`Network`] to the forward graph IR.
//!
//! Each layer becomes its primitive ops (dense: `matmul` then `add` of the bias; an
//! activation: one elementwise op; prelu: `prelu` with its slope parameter). In training mode
//! the loss is lowered in its textbook form — `softmax` then `cross_entropy`, `sigmoid` then
//! `binary_cross_entropy` — and the simplify pass turns both into their stable fused forms.

use crate::dsl::ast::{Layer, LayerKind, Loss, Network};
use crate::ir::{Activation, Graph, NodeId, Op, Output, Phase, Shape, Unary};

/// Which function a graph computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `forward`: input to prediction.
    Inference,
    /// `train_step`: input and targets to the loss (autodiff and the optimizer add the rest).
    Training,
}

/// One parameter as lowering declares it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    /// Weights-file name (`fc1.weight`).
    pub name: String,
    /// Owning layer.
    pub layer: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Initializer, as the runtime's `Init` variant name and argument.
    pub init: ParamInit,
    /// `false` if the layer is `#[frozen]`.
    pub trainable: bool,
}

/// How a parameter starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamInit {
    /// A dense weight initializer.
    Weight(crate::dsl::ast::InitSpec),
    /// Every element this value.
    Constant(f64),
}

/// The parameters of `net`, in weights-file order (layer order, then weight before bias).
pub fn params(net: &Network) -> Vec<ParamDecl> {
    let mut out = Vec::new();
    let mut width = net.input_width;
    for layer in &net.layers {
        let decl = |suffix: &str, shape: Vec<usize>, init: ParamInit| ParamDecl {
            name: format!("{}.{suffix}", layer.name),
            layer: layer.name.clone(),
            shape,
            init,
            trainable: !layer.frozen,
        };
        match &layer.kind {
            LayerKind::Dense { units, init, bias } => {
                out.push(decl(
                    "weight",
                    vec![*units, width],
                    ParamInit::Weight(*init),
                ));
                if *bias {
                    out.push(decl("bias", vec![*units], ParamInit::Constant(0.0)));
                }
                width = *units;
            }
            LayerKind::Prelu { init, per_unit } => {
                out.push(decl(
                    "weight",
                    vec![if *per_unit { width } else { 1 }],
                    ParamInit::Constant(*init),
                ));
            }
            LayerKind::Activation(_) => {}
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

fn lower_layer(
    graph: &mut Graph,
    layer: &Layer,
    x: NodeId,
    params: &[ParamDecl],
) -> syn::Result<NodeId> {
    let name = Some(layer.name.clone());
    let param = |graph: &mut Graph, suffix: &str| {
        let full = format!("{}.{suffix}", layer.name);
        let decl = params
            .iter()
            .find(|p| p.name == full)
            .expect("params() declares every parameter");
        graph.add_leaf(
            Op::Param {
                name: full,
                trainable: decl.trainable,
            },
            Shape::fixed(&decl.shape),
            name.clone(),
            layer.span,
        )
    };
    match &layer.kind {
        LayerKind::Dense { bias, .. } => {
            let w = param(graph, "weight");
            let y = graph.add(
                Op::MatMul {
                    transpose_a: false,
                    transpose_b: true,
                },
                &[x, w],
                name.clone(),
                Phase::Forward,
                layer.span,
            )?;
            if *bias {
                let b = param(graph, "bias");
                graph.add(
                    Op::Binary(crate::ir::Binary::Add),
                    &[y, b],
                    name.clone(),
                    Phase::Forward,
                    layer.span,
                )
            } else {
                Ok(y)
            }
        }
        LayerKind::Activation(a) => graph.add(
            Op::Unary(Unary::Act(*a)),
            &[x],
            name.clone(),
            Phase::Forward,
            layer.span,
        ),
        LayerKind::Prelu { .. } => {
            let slope = param(graph, "weight");
            graph.add(
                Op::Binary(crate::ir::Binary::Prelu),
                &[x, slope],
                name.clone(),
                Phase::Forward,
                layer.span,
            )
        }
    }
}

/// Lowers `net` to the forward graph of `mode`.
pub fn lower(net: &Network, mode: Mode) -> syn::Result<Graph> {
    let suffix = match mode {
        Mode::Inference => "forward",
        Mode::Training => "train",
    };
    let mut graph = Graph::new(format!("{}.{suffix}", net.name), net.dtype);
    let params = params(net);
    let input_layer = Some("input".to_string());
    let mut x = graph.add_leaf(
        Op::Input,
        Shape::batch_rows(net.input_width),
        input_layer,
        net.input_span,
    );
    for layer in &net.layers {
        x = lower_layer(&mut graph, layer, x, &params)?;
    }
    if mode == Mode::Inference {
        graph.set_output(Output::Prediction, x);
        return Ok(graph);
    }
    let (loss, span) = net.loss;
    let width = *layer_widths(net).last().unwrap_or(&net.input_width);
    let layer = Some("loss".to_string());
    let add = |graph: &mut Graph, op: Op, operands: &[NodeId]| {
        graph.add(op, operands, layer.clone(), Phase::Forward, span)
    };
    let value = match loss {
        Loss::SoftmaxCrossEntropy => {
            let labels = graph.add_leaf(Op::Labels, Shape::batch(), layer.clone(), span);
            let p = add(&mut graph, Op::Softmax, &[x])?;
            add(&mut graph, Op::CrossEntropy, &[p, labels])?
        }
        Loss::BinaryCrossEntropy => {
            let targets =
                graph.add_leaf(Op::Targets, Shape::batch_rows(width), layer.clone(), span);
            let s = add(&mut graph, Op::Unary(Unary::Act(Activation::Sigmoid)), &[x])?;
            add(&mut graph, Op::BinaryCrossEntropy, &[s, targets])?
        }
        Loss::MeanSquaredError => {
            let targets =
                graph.add_leaf(Op::Targets, Shape::batch_rows(width), layer.clone(), span);
            add(&mut graph, Op::MeanSquaredError, &[x, targets])?
        }
    };
    graph.set_output(Output::Prediction, x);
    graph.set_output(Output::Loss, value);
    Ok(graph)
}
