//! Layers (`fc1: dense(128)`). Activations are layers too; their table is
//! [`ACTIVATIONS`](super::ACTIVATIONS), looked up after this one.

use super::{Activation, Arg, ArgType, Default, InitSpec, Range, Spec, Value, Window, describe, find};

/// A spatial size argument that must be given.
const fn size_required(name: &'static str, example: &'static str) -> Arg {
    Arg { name, ty: ArgType::Size { min: 1 }, default: Default::Required(example) }
}

/// A spatial size argument with a default for both axes.
const fn size(name: &'static str, min: usize, default: usize) -> Arg {
    Arg { name, ty: ArgType::Size { min }, default: Default::Value(Value::Size([default, default])) }
}

/// The pooling layers' arguments: the stride defaults to the kernel.
const POOL_ARGS: &[Arg] = &[
    size_required("kernel", "max_pool2d(2)"),
    Arg { name: "stride", ty: ArgType::Size { min: 1 }, default: Default::Absent },
    size("padding", 0, 0),
];

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
        /// One slope per unit (per channel on images) instead of one shared slope.
        per_unit: bool,
    },
    /// 2-D convolution over `[C, H, W]` images (PyTorch `Conv2d`).
    Conv2d {
        /// Output channels.
        out: usize,
        /// Kernel height and width.
        kernel: [usize; 2],
        /// Step between windows, per axis.
        stride: [usize; 2],
        /// Zero padding.
        padding: Padding,
        /// Spacing of kernel taps, per axis.
        dilation: [usize; 2],
        /// Channel groups (in and out channels are split into this many independent parts).
        groups: usize,
        /// Whether there is a bias.
        bias: bool,
        /// Weight initializer (when not declared, the checker picks it from the next activation).
        init: InitSpec,
    },
    /// Maximum over each window (PyTorch `MaxPool2d`).
    MaxPool2d {
        /// Window height and width.
        kernel: [usize; 2],
        /// Step between windows.
        stride: [usize; 2],
        /// Padding on each side (padded cells never win).
        padding: [usize; 2],
    },
    /// Mean over each window, padding counted (PyTorch `AvgPool2d`, its default).
    AvgPool2d {
        /// Window height and width.
        kernel: [usize; 2],
        /// Step between windows.
        stride: [usize; 2],
        /// Zero padding on each side.
        padding: [usize; 2],
    },
    /// Mean over all of H and W: `[C, H, W]` to `[C]`.
    GlobalAvgPool,
    /// `[C, H, W]` to `[C·H·W]` (row-major, as `torch.flatten`).
    Flatten,
}

/// Convolution padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Output the size of the input (stride 1): d·(k−1) in total, the odd one at bottom/right.
    Same,
    /// This many zeros on each side, per axis.
    Explicit([usize; 2]),
}

impl Padding {
    /// `[top, left, bottom, right]` for a kernel `kernel` with dilation `dilation`.
    pub fn sides(self, kernel: [usize; 2], dilation: [usize; 2]) -> [usize; 4] {
        match self {
            Padding::Explicit([h, w]) => [h, w, h, w],
            Padding::Same => {
                let total = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)];
                [total[0] / 2, total[1] / 2, total[0] - total[0] / 2, total[1] - total[1] / 2]
            }
        }
    }
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
    Spec {
        name: "conv2d",
        doc: "2-D convolution (torch.nn.Conv2d)",
        args: &[
            Arg { name: "out", ty: ArgType::Count { min: 1 }, default: Default::Required("conv2d(16, 3)") },
            size_required("kernel", "conv2d(16, 3)"),
            size("stride", 1, 1),
            Arg {
                name: "padding",
                ty: ArgType::Padding,
                default: Default::Value(Value::Padding(Padding::Explicit([0, 0]))),
            },
            size("dilation", 1, 1),
            Arg { name: "groups", ty: ArgType::Count { min: 1 }, default: Default::Value(Value::Count(1)) },
            Arg::boolean("bias", true),
            Arg { name: "init", ty: ArgType::Init, default: Default::Absent },
        ],
        positional: 2,
        build: |v| LayerKind::Conv2d {
            out: v.count("out"),
            kernel: v.size("kernel").expect("required"),
            stride: v.size("stride").expect("defaulted"),
            padding: v.padding("padding"),
            dilation: v.size("dilation").expect("defaulted"),
            groups: v.count("groups"),
            bias: v.flag("bias"),
            init: v.init("init").unwrap_or(InitSpec::GlorotUniform),
        },
    },
    Spec {
        name: "max_pool2d",
        doc: "maximum over each window (torch.nn.MaxPool2d); stride defaults to the kernel",
        args: POOL_ARGS,
        positional: 1,
        build: |v| {
            let kernel = v.size("kernel").expect("required");
            let (stride, padding) = (v.size("stride").unwrap_or(kernel), v.size("padding").expect("defaulted"));
            LayerKind::MaxPool2d { kernel, stride, padding }
        },
    },
    Spec {
        name: "avg_pool2d",
        doc: "mean over each window, padding counted (torch.nn.AvgPool2d); stride defaults to the kernel",
        args: POOL_ARGS,
        positional: 1,
        build: |v| {
            let kernel = v.size("kernel").expect("required");
            let (stride, padding) = (v.size("stride").unwrap_or(kernel), v.size("padding").expect("defaulted"));
            LayerKind::AvgPool2d { kernel, stride, padding }
        },
    },
    Spec {
        name: "global_avg_pool",
        doc: "mean over height and width: [C, H, W] to [C]",
        args: &[],
        positional: 0,
        build: |_| LayerKind::GlobalAvgPool,
    },
    Spec { name: "flatten", doc: "[C, H, W] to [C·H·W]", args: &[], positional: 0, build: |_| LayerKind::Flatten },
];

/// What a layer says about the initializer of the dense or conv layer before it.
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
    /// Whether the layer has parameters the optimizer trains (weights, biases, slopes,
    /// batch-norm scale and shift).
    pub fn has_learnable_params(&self) -> bool {
        match self {
            LayerKind::Dense { .. }
            | LayerKind::BatchNorm { .. }
            | LayerKind::Prelu { .. }
            | LayerKind::Conv2d { .. } => true,
            LayerKind::Dropout { .. }
            | LayerKind::Activation(_)
            | LayerKind::MaxPool2d { .. }
            | LayerKind::AvgPool2d { .. }
            | LayerKind::GlobalAvgPool
            | LayerKind::Flatten => false,
        }
    }

    /// The DSL name.
    pub fn name(&self) -> &'static str {
        match self {
            LayerKind::Dense { .. } => "dense",
            LayerKind::BatchNorm { .. } => "batch_norm",
            LayerKind::Dropout { .. } => "dropout",
            LayerKind::Activation(a) => a.name(),
            LayerKind::Prelu { .. } => "prelu",
            LayerKind::Conv2d { .. } => "conv2d",
            LayerKind::MaxPool2d { .. } => "max_pool2d",
            LayerKind::AvgPool2d { .. } => "avg_pool2d",
            LayerKind::GlobalAvgPool => "global_avg_pool",
            LayerKind::Flatten => "flatten",
        }
    }

    /// The shape of one example's output for an input of shape `input` (`[n]` features or
    /// `[C, H, W]` images), or why the layer cannot take that input.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        let image = |what: &str| match input {
            &[c, h, w] => Ok([c, h, w]),
            other => Err(format!("{what} takes images [C, H, W], but its input is {}", shape_text(other))),
        };
        match self {
            LayerKind::Dense { units, .. } => match input {
                [_] => Ok(vec![*units]),
                other => Err(format!(
                    "dense takes features [N], but its input is {}; add `flatten` (or `global_avg_pool`) before it",
                    shape_text(other)
                )),
            },
            LayerKind::BatchNorm { .. }
            | LayerKind::Dropout { .. }
            | LayerKind::Activation(_)
            | LayerKind::Prelu { .. } => Ok(input.to_vec()),
            LayerKind::Conv2d { out, kernel, stride, padding, dilation, groups, .. } => {
                let [c, h, w] = image("conv2d")?;
                if c % groups != 0 || out % groups != 0 {
                    return Err(format!(
                        "conv2d with groups = {groups} needs input and output channels divisible by it, found {c} in and {out} out"
                    ));
                }
                if *padding == Padding::Same && *stride != [1, 1] {
                    return Err("conv2d with `padding = same` needs stride 1".into());
                }
                let window = Window {
                    channels_in: c,
                    channels_out: *out,
                    groups: *groups,
                    height: h,
                    width: w,
                    kernel: *kernel,
                    stride: *stride,
                    padding: padding.sides(*kernel, *dilation),
                    dilation: *dilation,
                };
                let [padded_h, padded_w] = window.padded();
                if !window.fits() {
                    return Err(format!(
                        "conv2d's kernel {}x{} (dilation {}x{}) is larger than its padded input {padded_h}x{padded_w} (input {})",
                        kernel[0],
                        kernel[1],
                        dilation[0],
                        dilation[1],
                        shape_text(input)
                    ));
                }
                let [out_h, out_w] = window.output();
                Ok(vec![*out, out_h, out_w])
            }
            LayerKind::MaxPool2d { kernel, stride, padding } | LayerKind::AvgPool2d { kernel, stride, padding } => {
                let [c, h, w] = image(self.name())?;
                if padding[0] * 2 > kernel[0] || padding[1] * 2 > kernel[1] {
                    return Err(format!(
                        "{}: padding must be at most half the kernel, as PyTorch requires",
                        self.name()
                    ));
                }
                let window = Window::pooling(c, [h, w], *kernel, *stride, *padding);
                let [padded_h, padded_w] = window.padded();
                if !window.fits() {
                    return Err(format!(
                        "{}'s window {}x{} is larger than its padded input {padded_h}x{padded_w} (input {})",
                        self.name(),
                        kernel[0],
                        kernel[1],
                        shape_text(input)
                    ));
                }
                let [out_h, out_w] = window.output();
                Ok(vec![c, out_h, out_w])
            }
            LayerKind::GlobalAvgPool => image("global_avg_pool").map(|[c, _, _]| vec![c]),
            LayerKind::Flatten => image("flatten").map(|[c, h, w]| vec![c * h * w]),
        }
    }

    /// How this layer bears on the default initializer of a dense layer before it.
    pub fn init_hint(&self) -> InitHint {
        match self {
            LayerKind::Dense { .. } | LayerKind::Conv2d { .. } => InitHint::NoActivation,
            LayerKind::BatchNorm { .. }
            | LayerKind::Dropout { .. }
            | LayerKind::MaxPool2d { .. }
            | LayerKind::AvgPool2d { .. }
            | LayerKind::GlobalAvgPool
            | LayerKind::Flatten => InitHint::Transparent,
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
            LayerKind::Conv2d { out, kernel, stride, padding, dilation, groups, bias, init } => vec![
                Some(Value::Count(*out)),
                Some(Value::Size(*kernel)),
                Some(Value::Size(*stride)),
                Some(Value::Padding(*padding)),
                Some(Value::Size(*dilation)),
                Some(Value::Count(*groups)),
                Some(Value::Bool(*bias)),
                Some(Value::Init(*init)),
            ],
            LayerKind::MaxPool2d { kernel, stride, padding } | LayerKind::AvgPool2d { kernel, stride, padding } => {
                vec![Some(Value::Size(*kernel)), Some(Value::Size(*stride)), Some(Value::Size(*padding))]
            }
            LayerKind::GlobalAvgPool | LayerKind::Flatten => vec![],
        };
        let spec = find(LAYERS, self.name()).expect("every layer is in the table");
        describe(spec.name, spec.args, spec.positional, &values)
    }
}

/// `[C, H, W]`-style text of a per-example shape.
pub fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}

impl LayerKind {
    /// The spatial step of this layer (1 for layers that keep the size).
    pub fn stride(&self) -> [usize; 2] {
        match self {
            LayerKind::Conv2d { stride, .. }
            | LayerKind::MaxPool2d { stride, .. }
            | LayerKind::AvgPool2d { stride, .. } => *stride,
            LayerKind::Dense { .. }
            | LayerKind::BatchNorm { .. }
            | LayerKind::Dropout { .. }
            | LayerKind::Activation(_)
            | LayerKind::Prelu { .. }
            | LayerKind::GlobalAvgPool
            | LayerKind::Flatten => [1, 1],
        }
    }
}
