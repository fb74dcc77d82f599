//! Weight penalties (`regularize: l2(1e-4)`), on dense weights only.

use super::{Arg, Range, Spec};

/// L1 and L2 coefficients of a weight penalty: a/2·‖W‖² and b·‖W‖₁ (0 = none).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Penalty {
    /// The L1 coefficient.
    pub l1: f64,
    /// The L2 coefficient (PyTorch's `weight_decay`).
    pub l2: f64,
}

/// Every regularizer of the DSL.
pub const REGULARIZERS: &[Spec<Penalty>] = &[
    Spec {
        name: "l1",
        doc: "a·‖W‖₁",
        args: &[Arg::required_number("a", Range::NonNegative, "l1(1e-5)")],
        positional: 1,
        build: |v| Penalty { l1: v.number("a"), l2: 0.0 },
    },
    Spec {
        name: "l2",
        doc: "a/2·‖W‖² (PyTorch's weight_decay = a)",
        args: &[Arg::required_number("a", Range::NonNegative, "l2(1e-4)")],
        positional: 1,
        build: |v| Penalty { l1: 0.0, l2: v.number("a") },
    },
    Spec {
        name: "l1_l2",
        doc: "both",
        args: &[
            Arg::required_number("l1", Range::NonNegative, "l1_l2(1e-5, 1e-4)"),
            Arg::required_number("l2", Range::NonNegative, "l1_l2(1e-5, 1e-4)"),
        ],
        positional: 2,
        build: |v| Penalty { l1: v.number("l1"), l2: v.number("l2") },
    },
];
