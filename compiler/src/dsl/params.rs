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
        let mut width = self.input_width;
        for layer in &self.layers {
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
            width = layer.kind.output_width(width);
        }
        out
    }

    /// The output width of each layer.
    pub fn layer_widths(&self) -> Vec<usize> {
        let mut width = self.input_width;
        self.layers
            .iter()
            .map(|l| {
                width = l.kind.output_width(width);
                width
            })
            .collect()
    }

    /// The width of the network's output.
    pub fn output_width(&self) -> usize {
        self.layer_widths().last().copied().unwrap_or(self.input_width)
    }

    /// Whether training needs at least two examples per batch (a batch norm computes statistics).
    pub fn needs_two_examples(&self) -> bool {
        self.layers.iter().any(|l| matches!(l.kind, LayerKind::BatchNorm { .. }) && !l.frozen)
    }
}
