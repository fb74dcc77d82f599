//! The checked declaration of a network: every default resolved, every value in range, and
//! the span of every declaration kept for later error messages.

use proc_macro2::Span;
use syn::{Attribute, Ident, Visibility};

use crate::ir::{Activation, DType, UpdateRule};

/// A whole `network!` declaration.
#[derive(Clone, Debug)]
pub struct Network {
    /// `#[doc]` attributes of the struct, passed through to the generated struct.
    pub docs: Vec<Attribute>,
    /// The struct's visibility.
    pub vis: Visibility,
    /// The struct's name.
    pub name: Ident,
    /// Features per example.
    pub input_width: usize,
    /// Span of the `input` item.
    pub input_span: Span,
    /// Layers, in order.
    pub layers: Vec<Layer>,
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

/// L1 and L2 coefficients of a weight penalty: a/2·‖W‖² and b·‖W‖₁ (0 = none).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Penalty {
    /// The L1 coefficient.
    pub l1: f64,
    /// The L2 coefficient (PyTorch's `weight_decay`).
    pub l2: f64,
}

/// One layer line.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Its name (declared, or its 0-based position among the layer lines).
    pub name: String,
    /// Declared `#[frozen]`.
    pub frozen: bool,
    /// What it is.
    pub kind: LayerKind,
    /// The span of its declaration.
    pub span: Span,
}

/// The kinds of layer.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerKind {
    /// `y = x Wᵀ + b`.
    Dense {
        /// Output features.
        units: usize,
        /// Weight initializer (the default is resolved by `check`).
        init: InitSpec,
        /// Whether there is a bias.
        bias: bool,
        /// Per-layer `l1 =` override of the network-wide coefficient.
        l1: Option<f64>,
        /// Per-layer `l2 =` override of the network-wide coefficient.
        l2: Option<f64>,
    },
    /// Batch normalization over the batch axis (PyTorch `BatchNorm1d`).
    BatchNorm {
        /// Weight of the new batch statistic in the running averages.
        momentum: f64,
        /// Added to the variance before the square root.
        eps: f64,
    },
    /// Inverted dropout: zero with probability `p`, scale survivors by 1/(1−p).
    Dropout {
        /// Drop probability, in [0, 1).
        p: f64,
    },
    /// A parameter-free activation.
    Activation(Activation),
    /// PReLU with a learnable slope.
    Prelu {
        /// The slope's initial value.
        init: f64,
        /// One slope per unit instead of one shared slope.
        per_unit: bool,
    },
}

impl LayerKind {
    /// The activation this layer applies, for choosing the default initializer of the dense
    /// layer before it.
    pub fn activation_family(&self) -> Option<Activation> {
        match self {
            LayerKind::Activation(a) => Some(*a),
            LayerKind::Prelu { .. } => Some(Activation::Relu),
            LayerKind::Dense { .. } | LayerKind::BatchNorm { .. } | LayerKind::Dropout { .. } => None,
        }
    }
}

/// Weight initializers of `dense(init = ..)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InitSpec {
    /// std √(2/(in+out))
    GlorotNormal,
    /// limit √(6/(in+out))
    GlorotUniform,
    /// std √(2/in)
    HeNormal,
    /// limit √(6/in)
    HeUniform,
    /// std √(1/in)
    LecunNormal,
    /// limit √(3/in)
    LecunUniform,
    /// all zero
    Zeros,
    /// normal with this std
    Normal(f64),
    /// uniform with this limit
    Uniform(f64),
}

impl InitSpec {
    /// The DSL spelling.
    pub fn name(self) -> String {
        match self {
            InitSpec::GlorotNormal => "glorot_normal".into(),
            InitSpec::GlorotUniform => "glorot_uniform".into(),
            InitSpec::HeNormal => "he_normal".into(),
            InitSpec::HeUniform => "he_uniform".into(),
            InitSpec::LecunNormal => "lecun_normal".into(),
            InitSpec::LecunUniform => "lecun_uniform".into(),
            InitSpec::Zeros => "zeros".into(),
            InitSpec::Normal(std) => format!("normal({std})"),
            InitSpec::Uniform(limit) => format!("uniform({limit})"),
        }
    }

    /// The default for a dense layer followed by `next` (DESIGN §2): relu family and elu →
    /// he_normal, selu → lecun_normal, sigmoid, tanh or none → glorot_uniform.
    pub fn default_for(next: Option<Activation>) -> Self {
        match next {
            Some(Activation::Selu) => InitSpec::LecunNormal,
            Some(Activation::Sigmoid | Activation::Tanh) | None => InitSpec::GlorotUniform,
            Some(_) => InitSpec::HeNormal,
        }
    }
}

/// The losses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Softmax then cross-entropy, on class indices.
    SoftmaxCrossEntropy,
    /// Sigmoid then binary cross-entropy, on a target matrix.
    BinaryCrossEntropy,
    /// Mean squared error, on a target matrix.
    MeanSquaredError,
}

impl Loss {
    /// The DSL spelling.
    pub fn name(self) -> &'static str {
        match self {
            Loss::SoftmaxCrossEntropy => "softmax_cross_entropy",
            Loss::BinaryCrossEntropy => "binary_cross_entropy",
            Loss::MeanSquaredError => "mse",
        }
    }
}

/// The optimizer and its settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer {
    /// The update rule and its constants.
    pub rule: UpdateRule,
    /// The initial learning rate (changeable at run time with `set_lr`).
    pub lr: f64,
    /// `clip_norm = c`: scale all gradients together to an L2 norm of at most c.
    pub clip_norm: Option<f64>,
}

impl Optimizer {
    /// The initial learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// The declaration with defaults resolved (`adam(lr = 0.001, beta1 = 0.9, ...)`).
    pub fn describe(&self) -> String {
        let lr = self.lr;
        let mut out = match self.rule {
            UpdateRule::Sgd => format!("sgd(lr = {lr}"),
            UpdateRule::Momentum { beta, nesterov: false } => format!("momentum(lr = {lr}, beta = {beta}"),
            UpdateRule::Momentum { beta, nesterov: true } => format!("nesterov(lr = {lr}, beta = {beta}"),
            UpdateRule::RmsProp { beta, eps, eps_inside } => {
                format!("rmsprop(lr = {lr}, beta = {beta}, eps = {eps:e}, eps_inside = {eps_inside}")
            }
            UpdateRule::Adam { beta1, beta2, eps, weight_decay: None } => {
                format!("adam(lr = {lr}, beta1 = {beta1}, beta2 = {beta2}, eps = {eps:e}")
            }
            UpdateRule::Adam { beta1, beta2, eps, weight_decay: Some(wd) } => {
                format!("adamw(lr = {lr}, beta1 = {beta1}, beta2 = {beta2}, eps = {eps:e}, weight_decay = {wd}")
            }
        };
        if let Some(c) = self.clip_norm {
            out.push_str(&format!(", clip_norm = {c}"));
        }
        out + ")"
    }
}

impl Layer {
    /// The declaration with defaults resolved (`dense(128, init = he_normal)`).
    pub fn describe(&self) -> String {
        match &self.kind {
            LayerKind::Dense { units, init, bias, l1, l2 } => {
                let mut out = format!("dense({units}, init = {}", init.name());
                if !*bias {
                    out.push_str(", bias = false");
                }
                if let Some(l1) = l1 {
                    out.push_str(&format!(", l1 = {l1}"));
                }
                if let Some(l2) = l2 {
                    out.push_str(&format!(", l2 = {l2}"));
                }
                out + ")"
            }
            LayerKind::BatchNorm { momentum, eps } => format!("batch_norm(momentum = {momentum}, eps = {eps})"),
            LayerKind::Dropout { p } => format!("dropout({p})"),
            LayerKind::Activation(a) => match a {
                Activation::LeakyRelu { alpha } => format!("leaky_relu(alpha = {alpha})"),
                Activation::Elu { alpha } => format!("elu(alpha = {alpha})"),
                Activation::Gelu { tanh_approximation: true } => "gelu(approximate = tanh)".into(),
                other => other.ident().into(),
            },
            LayerKind::Prelu { init, per_unit } => {
                format!("prelu(init = {init}, per_unit = {per_unit})")
            }
        }
    }
}
