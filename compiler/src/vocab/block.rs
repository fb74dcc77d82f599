//! Blocks of layers (`name: residual { .. }`, `name: repeat(n) { .. }`): how a group of
//! layer lines is wired, not a layer itself.

use super::{Arg, ArgType, Default, Spec};

/// A block of layers (`name: residual { .. }`, `name: repeat(n) { .. }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// `x + f(x)`, or `P(x) + f(x)` with a learned, bias-free projection `P` on the skip.
    Residual {
        /// The projection, if any.
        project: Projection,
    },
    /// The block's layers `n` times in sequence.
    Repeat {
        /// How many times.
        times: usize,
    },
}

/// The projection on a residual block's skip path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Projection {
    /// The identity: the block keeps its input's shape.
    None,
    /// A 1×1 convolution whose stride is the product of the block's strides.
    Conv1x1,
    /// A dense layer.
    Dense,
}

/// Every block of the DSL.
pub const BLOCKS: &[Spec<BlockKind>] = &[
    Spec {
        name: "residual",
        doc: "x + f(x), or P(x) + f(x) with a bias-free projection NAME.project when the shape changes",
        args: &[Arg::choice("project", &["none", "conv1x1", "dense"])],
        positional: 0,
        build: |v| BlockKind::Residual {
            project: match v.choice("project") {
                "conv1x1" => Projection::Conv1x1,
                "dense" => Projection::Dense,
                _ => Projection::None,
            },
        },
    },
    Spec {
        name: "repeat",
        doc: "the block's layers n times (names NAME.0.., NAME.1..)",
        args: &[Arg { name: "n", ty: ArgType::Count { min: 1 }, default: Default::Required("repeat(3)") }],
        positional: 1,
        build: |v| BlockKind::Repeat { times: v.count("n") },
    },
];
