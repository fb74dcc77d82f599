//! Shape inference: the shape of an op's result from its operands' shapes, or why the
//! operands do not fit.

use super::axes::Axes;
use super::op::{Binary, Op};
use super::shape::{Dim, Shape};

/// How the second operand of a binary elementwise op lines up with the first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broadcast {
    /// Same shape.
    Same,
    /// A per-feature vector repeated along every other axis: a row `[n]` over the rows of
    /// `[m, n]` (axes `0`), a channel vector `[C]` over `[B, C, H, W]` (axes `0,2,3`).
    Along(Axes),
    /// One element (`[]` or `[1]`) repeated everywhere.
    Scalar,
}

/// How `b` broadcasts against `a`, or `None` if it cannot. Only the feature axis (axis 1 of
/// a matrix or an image batch) is ever matched, so the rule is never ambiguous.
pub fn broadcast(a: &Shape, b: &Shape) -> Option<Broadcast> {
    let along = matches!(a.rank(), 2 | 4).then(|| Axes::all_but(a.rank(), 1));
    if a == b {
        Some(Broadcast::Same)
    } else if let Some(axes) = along.filter(|axes| axes.broadcasts(a, b) && !b.is_single()) {
        Some(Broadcast::Along(axes))
    } else if b.is_single() {
        Some(Broadcast::Scalar)
    } else {
        None
    }
}

/// Checks that the kept axes of `axes` over `shape` are contiguous.
fn fits(op: &Op, axes: Axes, shape: &Shape) -> Result<(), String> {
    if axes.fits(shape) {
        Ok(())
    } else {
        Err(format!("`{}`: axes {axes} of {shape} do not leave one contiguous block", op.mnemonic()))
    }
}

/// Checks that `shape` is `[B, channels, h, w]`.
fn image(shape: &Shape, channels: usize, [h, w]: [usize; 2], what: &str) -> Result<(), String> {
    let expected = Shape(vec![Dim::Batch, Dim::Fixed(channels), Dim::Fixed(h), Dim::Fixed(w)]);
    if *shape == expected { Ok(()) } else { Err(format!("{what} is {shape}, expected {expected}")) }
}

fn matrix(shape: &Shape, transpose: bool) -> Option<(Dim, Dim)> {
    match shape.0.as_slice() {
        [r, c] if transpose => Some((*c, *r)),
        [r, c] => Some((*r, *c)),
        _ => None,
    }
}

/// The result shape of `op` applied to operands of shapes `inputs` (`own` is used by leaves,
/// whose shape is given, not inferred).
pub fn infer(op: &Op, inputs: &[&Shape], own: Option<&Shape>) -> Result<Shape, String> {
    if inputs.len() != op.arity() {
        return Err(format!("`{}` takes {} operands, got {}", op.mnemonic(), op.arity(), inputs.len()));
    }
    let same = |a: &Shape, b: &Shape, what: &str| {
        if a == b { Ok(()) } else { Err(format!("`{}`: {what} shapes {a} and {b} differ", op.mnemonic())) }
    };
    match op {
        Op::Input | Op::Labels | Op::Targets | Op::Param { .. } | Op::DropoutMask { .. } => {
            own.cloned().ok_or_else(|| format!("leaf `{}` needs a shape", op.mnemonic()))
        }
        Op::Const(_) | Op::LayerTraining { .. } => Ok(Shape::scalar()),
        Op::MatMul { transpose_a, transpose_b } => {
            let (m, k1) = matrix(inputs[0], *transpose_a).ok_or("matmul: first operand is not a matrix")?;
            let (k2, n) = matrix(inputs[1], *transpose_b).ok_or("matmul: second operand is not a matrix")?;
            if k1 != k2 {
                return Err(format!("matmul: inner dimensions {k1} and {k2} differ"));
            }
            Ok(Shape(vec![m, n]))
        }
        Op::Sum { axes } | Op::First { axes } => {
            fits(op, *axes, inputs[0])?;
            Ok(axes.remove_from(inputs[0]))
        }
        Op::Broadcast { axes, to } => {
            fits(op, *axes, to)?;
            if axes.remove_from(to) != *inputs[0] {
                return Err(format!("`{}`: {} does not broadcast to {to}", op.mnemonic(), inputs[0]));
            }
            Ok(to.clone())
        }
        Op::SumAll => Ok(Shape::fixed(&[1])),
        Op::SumSquares | Op::SumAbs => Ok(Shape::scalar()),
        Op::ScaleRows => match (inputs[0].0.as_slice(), inputs[1].0.as_slice()) {
            ([m, _, ..], [v]) if m == v => Ok(inputs[0].clone()),
            _ => Err(format!("scale_rows: {} does not scale the rows of {}", inputs[1], inputs[0])),
        },
        Op::RunningUpdate { .. } => {
            same(inputs[0], inputs[1], "running and batch statistic").map(|_| inputs[0].clone())
        }
        Op::CountBatch => Ok(inputs[0].clone()),
        Op::Conv2d(w) => {
            let weight = Shape::fixed(&[w.channels_out, w.channels_in / w.groups, w.kernel[0], w.kernel[1]]);
            image(inputs[0], w.channels_in, [w.height, w.width], "conv2d input")?;
            same(inputs[1], &weight, "weight")?;
            let [h, wd] = w.output();
            Ok(Shape(vec![Dim::Batch, Dim::Fixed(w.channels_out), Dim::Fixed(h), Dim::Fixed(wd)]))
        }
        Op::Conv2dGradInput(w) => {
            image(inputs[0], w.channels_out, w.output(), "conv2d output gradient")?;
            Ok(Shape(vec![Dim::Batch, Dim::Fixed(w.channels_in), Dim::Fixed(w.height), Dim::Fixed(w.width)]))
        }
        Op::Conv2dGradWeight(w) => {
            image(inputs[0], w.channels_in, [w.height, w.width], "conv2d input")?;
            image(inputs[1], w.channels_out, w.output(), "conv2d output gradient")?;
            Ok(Shape::fixed(&[w.channels_out, w.channels_in / w.groups, w.kernel[0], w.kernel[1]]))
        }
        Op::MaxPool2d(w) | Op::AvgPool2d(w) => {
            image(inputs[0], w.channels_in, [w.height, w.width], "pooling input")?;
            let [h, wd] = w.output();
            Ok(Shape(vec![Dim::Batch, Dim::Fixed(w.channels_out), Dim::Fixed(h), Dim::Fixed(wd)]))
        }
        Op::MaxPool2dGrad(w) | Op::AvgPool2dGrad(w) => {
            let g = inputs.len() - 1;
            image(inputs[g], w.channels_out, w.output(), "pooling output gradient")?;
            if g == 1 {
                image(inputs[0], w.channels_out, w.output(), "the forward pool")?;
            }
            Ok(Shape(vec![Dim::Batch, Dim::Fixed(w.channels_in), Dim::Fixed(w.height), Dim::Fixed(w.width)]))
        }
        Op::Reshape { to } => {
            let from = inputs[0];
            if from.0.first() != Some(&Dim::Batch) || from.fixed_numel() != to.iter().product::<usize>() {
                return Err(format!("reshape: {from} does not have the values of [B, {to:?}]"));
            }
            Ok(Shape(std::iter::once(Dim::Batch).chain(to.iter().map(|&d| Dim::Fixed(d))).collect()))
        }
        Op::Unary(_) => Ok(inputs[0].clone()),
        Op::Binary(kind) => {
            let bc = broadcast(inputs[0], inputs[1])
                .ok_or_else(|| format!("`{}`: {} does not broadcast to {}", op.mnemonic(), inputs[1], inputs[0]))?;
            if matches!(kind, Binary::Prelu | Binary::PreluGradInput) && bc == Broadcast::Same {
                return Err("prelu: the slope must be a row or a scalar".into());
            }
            Ok(inputs[0].clone())
        }
        Op::Softmax => match inputs[0].rank() {
            2 => Ok(inputs[0].clone()),
            _ => Err(format!("softmax: operand {} is not a matrix", inputs[0])),
        },
        Op::SoftmaxVjp => same(inputs[0], inputs[1], "p and dp").map(|_| inputs[0].clone()),
        Op::OneHot { classes } => match inputs[0].0.as_slice() {
            [b] => Ok(Shape(vec![*b, Dim::Fixed(*classes)])),
            _ => Err("one_hot: labels must be a vector".into()),
        },
        Op::CrossEntropy | Op::SoftmaxCrossEntropy | Op::CrossEntropyGrad => {
            let rows = inputs[0].0.first().copied();
            if inputs[0].rank() != 2 || inputs[1].0.as_slice() != [rows.unwrap_or(Dim::Batch)] {
                return Err(format!("`{}`: scores {} and labels {} do not match", op.mnemonic(), inputs[0], inputs[1]));
            }
            Ok(if matches!(op, Op::CrossEntropyGrad) { inputs[0].clone() } else { Shape::scalar() })
        }
        Op::BinaryCrossEntropy | Op::BinaryCrossEntropyWithLogits | Op::MeanSquaredError => {
            same(inputs[0], inputs[1], "prediction and target").map(|_| Shape::scalar())
        }
        Op::BinaryCrossEntropyGrad => same(inputs[0], inputs[1], "prediction and target").map(|_| inputs[0].clone()),
        Op::ClipScale { .. } => Ok(Shape::scalar()),
        Op::Update { clipped, .. } => {
            if *clipped && inputs[2].rank() != 0 {
                return Err("update: the clip factor must be a scalar".into());
            }
            same(inputs[0], inputs[1], "parameter and gradient").map(|_| inputs[0].clone())
        }
    }
}
