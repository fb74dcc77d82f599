//! The checked declaration of a network: every default resolved, every value in range, and
//! the span of every declaration kept for later error messages. The words it is made of
//! (layers, losses, optimizers, ...) are the [`vocab`](crate::vocab) types.

use proc_macro2::Span;
use syn::{Attribute, Ident, Visibility};

use crate::ir::DType;
use crate::vocab::{LayerKind, Loss, Optimizer, Penalty};

/// A whole `network!` declaration.
#[derive(Clone, Debug)]
pub struct Network {
    /// `#[doc]` attributes of the struct, passed through to the generated struct.
    pub docs: Vec<Attribute>,
    /// The struct's visibility.
    pub vis: Visibility,
    /// The struct's name.
    pub name: Ident,
    /// One example's shape: `[features]`, or `[C, H, W]` for images (NCHW, batch implicit).
    pub input_shape: Vec<usize>,
    /// Span of the `input` item.
    pub input_span: Span,
    /// Layers, in order: the blocks flattened, each residual block's projection right after
    /// its body (the order of a PyTorch `state_dict`).
    pub layers: Vec<Layer>,
    /// The residual blocks, inner ones before the outer ones that contain them.
    pub residuals: Vec<Residual>,
    /// The loss and its span.
    pub loss: (Loss, Span),
    /// The optimizer.
    pub optimizer: Optimizer,
    /// `f32` or `f64`.
    pub dtype: DType,
    /// Whether the fusion passes run.
    pub fusion: bool,
    /// Network-wide weight penalties (`regularize:`), 0 when absent.
    pub regularize: Penalty,
}

impl Network {
    /// Values per example at the input (`C·H·W` for images).
    pub fn input_width(&self) -> usize {
        self.input_shape.iter().product()
    }
}

/// A residual block: `x + f(x)` over a range of [`Network::layers`], or `P(x) + f(x)` with
/// the projection layer `P` at index `projection`.
#[derive(Clone, Debug)]
pub struct Residual {
    /// The block's name (`res1`).
    pub name: String,
    /// The layers of `f`, projection included when there is one.
    pub body: std::ops::Range<usize>,
    /// The index of the projection layer (`res1.project`), the last of the body.
    pub projection: Option<usize>,
    /// The block's declaration.
    pub span: Span,
}

/// One layer line.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Its name (declared, or its 0-based position among the layer lines).
    pub name: String,
    /// Declared `#[frozen]`.
    pub frozen: bool,
    /// The factor on the learning rate for its parameters (`#[lr_scale = 0.1]`; 1 if not
    /// declared).
    pub lr_scale: f64,
    /// What it is.
    pub kind: LayerKind,
    /// The shape of one example at its input (the previous layer's output).
    pub input_shape: Vec<usize>,
    /// The shape of one example at its output.
    pub output_shape: Vec<usize>,
    /// The span of its declaration.
    pub span: Span,
}
