//! Layers (`fc1: dense(128)`). Activations are layers too; their table is
//! [`ACTIVATIONS`](super::ACTIVATIONS), looked up after this one.

use super::{Activation, Arg, ArgType, Default, InitSpec, Range, Spec, Value, describe, find};

/// What a layer is.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerKind {
    /// `y = x Wᵀ + b`.
    Dense {
        /// Output features.
        units: usize,
        /// Weight initializer (when not declared, the checker picks it from the next activation).
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

/// Every layer of the DSL that is not a plain activation.
pub const LAYERS: &[Spec<LayerKind>] = &[
    Spec {
        name: "dense",
        doc: "y = x Wᵀ + b",
        args: &[
            Arg { name: "units", ty: ArgType::Count { min: 1 }, default: Default::Required("dense(128)") },
            Arg { name: "init", ty: ArgType::Init, default: Default::Absent },
            Arg::boolean("bias", true),
            Arg::optional_number("l1", Range::NonNegative),
            Arg::optional_number("l2", Range::NonNegative),
        ],
        positional: 1,
        build: |v| LayerKind::Dense {
            units: v.count("units"),
            init: v.init("init").unwrap_or(InitSpec::GlorotUniform),
            bias: v.flag("bias"),
            l1: v.optional_number("l1"),
            l2: v.optional_number("l2"),
        },
    },
    Spec {
        name: "batch_norm",
        doc: "PyTorch BatchNorm1d: batch statistics in training, running ones in evaluation",
        args: &[Arg::number("momentum", Range::Unit, 0.1), Arg::number("eps", Range::Positive, 1e-5)],
        positional: 0,
        build: |v| LayerKind::BatchNorm { momentum: v.number("momentum"), eps: v.number("eps") },
    },
    Spec {
        name: "dropout",
        doc: "inverted dropout with drop probability p",
        args: &[Arg::required_number("p", Range::Fraction, "dropout(0.2)")],
        positional: 1,
        build: |v| LayerKind::Dropout { p: v.number("p") },
    },
    Spec {
        name: "prelu",
        doc: "leaky relu with a learnable slope",
        args: &[Arg::number("init", Range::Any, 0.25), Arg::boolean("per_unit", false)],
        positional: 0,
        build: |v| LayerKind::Prelu { init: v.number("init"), per_unit: v.flag("per_unit") },
    },
];

/// What a layer says about the initializer of the dense layer before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitHint {
    /// Look further: the layer does not decide (batch norm, dropout).
    Transparent,
    /// The layer is the dense layer's activation: use this initializer.
    Use(InitSpec),
    /// Another dense layer: there is no activation in between.
    NoActivation,
}

impl LayerKind {
    /// The DSL name.
    pub fn name(&self) -> &'static str {
        match self {
            LayerKind::Dense { .. } => "dense",
            LayerKind::BatchNorm { .. } => "batch_norm",
            LayerKind::Dropout { .. } => "dropout",
            LayerKind::Activation(a) => a.name(),
            LayerKind::Prelu { .. } => "prelu",
        }
    }

    /// The width of the layer's output for an input of `width` features.
    pub fn output_width(&self, width: usize) -> usize {
        match self {
            LayerKind::Dense { units, .. } => *units,
            LayerKind::BatchNorm { .. }
            | LayerKind::Dropout { .. }
            | LayerKind::Activation(_)
            | LayerKind::Prelu { .. } => width,
        }
    }

    /// How this layer bears on the default initializer of a dense layer before it.
    pub fn init_hint(&self) -> InitHint {
        match self {
            LayerKind::Dense { .. } => InitHint::NoActivation,
            LayerKind::BatchNorm { .. } | LayerKind::Dropout { .. } => InitHint::Transparent,
            LayerKind::Activation(a) => InitHint::Use(a.default_init()),
            // A learnable leaky relu: the relu family's initializer.
            LayerKind::Prelu { .. } => InitHint::Use(Activation::Relu.default_init()),
        }
    }

    /// The declaration with defaults resolved (`dense(128, init = he_normal, bias = true)`).
    pub fn describe(&self) -> String {
        let values = match self {
            LayerKind::Activation(a) => return a.describe(),
            LayerKind::Dense { units, init, bias, l1, l2 } => vec![
                Some(Value::Count(*units)),
                Some(Value::Init(*init)),
                Some(Value::Bool(*bias)),
                l1.map(Value::Number),
                l2.map(Value::Number),
            ],
            LayerKind::BatchNorm { momentum, eps } => vec![Some(Value::Number(*momentum)), Some(Value::Number(*eps))],
            LayerKind::Dropout { p } => vec![Some(Value::Number(*p))],
            LayerKind::Prelu { init, per_unit } => vec![Some(Value::Number(*init)), Some(Value::Bool(*per_unit))],
        };
        let spec = find(LAYERS, self.name()).expect("every layer is in the table");
        describe(spec.name, spec.args, spec.positional, &values)
    }
}
