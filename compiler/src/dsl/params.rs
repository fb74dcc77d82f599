//! Facts about a checked network that lowering and code generation both need: its parameter
//! tensors and the width of each layer's output.

use super::ast::Network;
use crate::ir::ParamKind;
use crate::vocab::{InitSpec, LayerKind};

/// One parameter tensor.
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
    /// Its layer is `#[frozen]`.
    pub frozen: bool,
    /// Its layer's learning-rate factor.
    pub lr_scale: f64,
}

impl ParamDecl {
    /// Whether the compiled graph differentiates it: learnable and not `#[frozen]`. (Whether
    /// the optimizer updates it is the run-time `set_trainable` flag on top of this.)
    pub fn differentiable(&self) -> bool {
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

impl Network {
    /// The parameters, in weights-file order (layer order, then as PyTorch lists them).
    pub fn params(&self) -> Vec<ParamDecl> {
        let mut out = Vec::new();
        for layer in &self.layers {
            let mut decl = |suffix: &str, shape: Vec<usize>, init: ParamInit, kind: ParamKind| {
                out.push(ParamDecl {
                    name: format!("{}.{suffix}", layer.name),
                    layer: layer.name.clone(),
                    shape,
                    init,
                    kind,
                    frozen: layer.frozen,
                    lr_scale: layer.lr_scale,
                })
            };
            // Features, or channels of an image: what per-unit parameters are per.
            let units = layer.input_shape[0];
            match &layer.kind {
                LayerKind::Dense { units: out, init, bias, .. } => {
                    decl("weight", vec![*out, units], ParamInit::Weight(*init), ParamKind::Learnable);
                    if *bias {
                        decl("bias", vec![*out], ParamInit::Constant(0.0), ParamKind::Learnable);
                    }
                }
                LayerKind::Conv2d { out, kernel, groups, bias, init, .. } => {
                    let shape = vec![*out, units / groups, kernel[0], kernel[1]];
                    decl("weight", shape, ParamInit::Weight(*init), ParamKind::Learnable);
                    if *bias {
                        decl("bias", vec![*out], ParamInit::Constant(0.0), ParamKind::Learnable);
                    }
                }
                LayerKind::Prelu { init, per_unit } => {
                    let shape = vec![if *per_unit { units } else { 1 }];
                    decl("weight", shape, ParamInit::Constant(*init), ParamKind::Learnable);
                }
                LayerKind::BatchNorm { .. } => {
                    decl("weight", vec![units], ParamInit::Constant(1.0), ParamKind::Learnable);
                    decl("bias", vec![units], ParamInit::Constant(0.0), ParamKind::Learnable);
                    decl("running_mean", vec![units], ParamInit::Constant(0.0), ParamKind::Buffer);
                    decl("running_var", vec![units], ParamInit::Constant(1.0), ParamKind::Buffer);
                    decl("num_batches_tracked", vec![], ParamInit::Constant(0.0), ParamKind::Counter);
                }
                LayerKind::Activation(_)
                | LayerKind::Dropout { .. }
                | LayerKind::MaxPool2d { .. }
                | LayerKind::AvgPool2d { .. }
                | LayerKind::GlobalAvgPool
                | LayerKind::Flatten => {}
            }
        }
        out
    }

    /// The shape of one example at the network's output.
    pub fn output_shape(&self) -> &[usize] {
        self.layers.last().map_or(&self.input_shape, |l| &l.output_shape)
    }

    /// Values per example at the network's output.
    pub fn output_width(&self) -> usize {
        self.output_shape().iter().product()
    }

    /// Whether training needs at least two examples per batch: a batch norm computes statistics
    /// over each feature, which needs two values (one example has several per channel of an
    /// image with more than one pixel).
    pub fn needs_two_examples(&self) -> bool {
        self.layers.iter().any(|l| {
            matches!(l.kind, LayerKind::BatchNorm { .. })
                && !l.frozen
                && l.input_shape[1..].iter().product::<usize>() == 1
        })
    }
}
