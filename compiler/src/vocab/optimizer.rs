//! Optimizers (`optimizer: adam(lr = 1e-3)`): the update rule of each, the state it keeps
//! per parameter, and the runtime type that applies it.
//!
//! Every rule is a struct of the same name in the runtime's `optim` module, with one field
//! per [`UpdateRule::arguments`] entry and an `update(param, grad, scale, state, lr, step)`
//! method; the state tensors are [`UpdateRule::state_names`], in that order.

use super::{Arg, Default, Range, Real, Spec, Value, Values, describe, find};

/// An optimizer's update rule (DESIGN §2), with its constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UpdateRule {
    /// θ ← θ − ηg
    Sgd,
    /// b ← βb + g; θ ← θ − ηb
    Momentum { beta: Real },
    /// b ← βb + g; θ ← θ − η(g + βb)
    Nesterov { beta: Real },
    /// s ← βs + (1−β)g²; θ ← θ − ηg/√(s+ε), or ηg/(√s+ε) when not `eps_inside`
    RmsProp { beta: Real, eps: Real, eps_inside: bool },
    /// Adam with bias correction
    Adam { beta1: Real, beta2: Real, eps: Real },
    /// Adam with decoupled weight decay θ ← θ − ηλθ first
    AdamW { beta1: Real, beta2: Real, eps: Real, weight_decay: Real },
}

/// The declared optimizer: its rule and the settings every optimizer has.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Optimizer {
    /// The update rule and its constants.
    pub rule: UpdateRule,
    /// The initial learning rate (changeable at run time with `set_lr`).
    pub lr: f64,
    /// `clip_norm = c`: scale all gradients together to an L2 norm of at most c.
    pub clip_norm: Option<f64>,
}

const LR: Arg = Arg::number("lr", Range::NonNegative, 1e-3);
const CLIP_NORM: Arg = Arg::optional_number("clip_norm", Range::Positive);
const BETA: Arg = Arg::number("beta", Range::Fraction, 0.9);
const BETA1: Arg = Arg::number("beta1", Range::Fraction, 0.9);
const BETA2: Arg = Arg::number("beta2", Range::Fraction, 0.999);
const EPS: Arg = Arg::number("eps", Range::Positive, 1e-8);

/// `lr` with no default (the SGD family has no sensible one).
const fn lr_required(example: &'static str) -> Arg {
    Arg { name: "lr", ty: super::ArgType::Number(Range::NonNegative), default: Default::Required(example) }
}

/// The rule with the settings every optimizer shares.
fn optimizer(v: &Values, rule: UpdateRule) -> Optimizer {
    Optimizer { rule, lr: v.number("lr"), clip_norm: v.optional_number("clip_norm") }
}

/// Every optimizer of the DSL.
pub const OPTIMIZERS: &[Spec<Optimizer>] = &[
    Spec {
        name: "sgd",
        doc: "θ ← θ − ηg",
        args: &[lr_required("sgd(lr = 0.1)"), CLIP_NORM],
        positional: 1,
        build: |v| optimizer(v, UpdateRule::Sgd),
    },
    Spec {
        name: "momentum",
        doc: "b ← βb + g; θ ← θ − ηb (torch.optim.SGD with momentum)",
        args: &[lr_required("momentum(lr = 0.1)"), BETA, CLIP_NORM],
        positional: 1,
        build: |v| optimizer(v, UpdateRule::Momentum { beta: v.real("beta") }),
    },
    Spec {
        name: "nesterov",
        doc: "b ← βb + g; θ ← θ − η(g + βb) (torch.optim.SGD with nesterov)",
        args: &[lr_required("nesterov(lr = 0.1)"), BETA, CLIP_NORM],
        positional: 1,
        build: |v| optimizer(v, UpdateRule::Nesterov { beta: v.real("beta") }),
    },
    Spec {
        name: "rmsprop",
        doc: "s ← βs + (1−β)g²; θ ← θ − ηg/√(s+ε)",
        args: &[LR, BETA, EPS, Arg::boolean("eps_inside", true), CLIP_NORM],
        positional: 1,
        build: |v| {
            let rule =
                UpdateRule::RmsProp { beta: v.real("beta"), eps: v.real("eps"), eps_inside: v.flag("eps_inside") };
            optimizer(v, rule)
        },
    },
    Spec {
        name: "adam",
        doc: "Adam with bias correction (torch.optim.Adam)",
        args: &[LR, BETA1, BETA2, EPS, CLIP_NORM],
        positional: 1,
        build: |v| {
            let rule = UpdateRule::Adam { beta1: v.real("beta1"), beta2: v.real("beta2"), eps: v.real("eps") };
            optimizer(v, rule)
        },
    },
    Spec {
        name: "adamw",
        doc: "Adam with decoupled weight decay (torch.optim.AdamW)",
        args: &[LR, BETA1, BETA2, EPS, Arg::number("weight_decay", Range::NonNegative, 0.01), CLIP_NORM],
        positional: 1,
        build: |v| {
            let rule = UpdateRule::AdamW {
                beta1: v.real("beta1"),
                beta2: v.real("beta2"),
                eps: v.real("eps"),
                weight_decay: v.real("weight_decay"),
            };
            optimizer(v, rule)
        },
    },
];

impl UpdateRule {
    /// The DSL name.
    pub fn name(self) -> &'static str {
        match self {
            UpdateRule::Sgd => "sgd",
            UpdateRule::Momentum { .. } => "momentum",
            UpdateRule::Nesterov { .. } => "nesterov",
            UpdateRule::RmsProp { .. } => "rmsprop",
            UpdateRule::Adam { .. } => "adam",
            UpdateRule::AdamW { .. } => "adamw",
        }
    }

    /// The rule's own constants by argument name (also the runtime struct's fields).
    pub fn arguments(self) -> Vec<(&'static str, Value)> {
        let n = |r: Real| Value::Number(r.0);
        match self {
            UpdateRule::Sgd => vec![],
            UpdateRule::Momentum { beta } | UpdateRule::Nesterov { beta } => vec![("beta", n(beta))],
            UpdateRule::RmsProp { beta, eps, eps_inside } => {
                vec![("beta", n(beta)), ("eps", n(eps)), ("eps_inside", Value::Bool(eps_inside))]
            }
            UpdateRule::Adam { beta1, beta2, eps } => vec![("beta1", n(beta1)), ("beta2", n(beta2)), ("eps", n(eps))],
            UpdateRule::AdamW { beta1, beta2, eps, weight_decay } => {
                vec![("beta1", n(beta1)), ("beta2", n(beta2)), ("eps", n(eps)), ("weight_decay", n(weight_decay))]
            }
        }
    }

    /// The per-parameter state tensors, by PyTorch's state names.
    pub fn state_names(self) -> &'static [&'static str] {
        match self {
            UpdateRule::Sgd => &[],
            UpdateRule::Momentum { .. } | UpdateRule::Nesterov { .. } => &["momentum_buffer"],
            UpdateRule::RmsProp { .. } => &["square_avg"],
            UpdateRule::Adam { .. } | UpdateRule::AdamW { .. } => &["exp_avg", "exp_avg_sq"],
        }
    }

    /// The runtime struct (in `optim`) that applies the rule.
    pub fn runtime_type(self) -> &'static str {
        match self {
            UpdateRule::Sgd => "Sgd",
            UpdateRule::Momentum { .. } => "Momentum",
            UpdateRule::Nesterov { .. } => "Nesterov",
            UpdateRule::RmsProp { .. } => "RmsProp",
            UpdateRule::Adam { .. } => "Adam",
            UpdateRule::AdamW { .. } => "AdamW",
        }
    }

    /// The IR mnemonic with the constants in argument order, flags by name
    /// (`adam_update[0.9, 0.999, 1e-8]`, `rmsprop_update[0.99, 1e-8, eps_inside=false]`).
    pub fn mnemonic(self) -> String {
        let arguments: Vec<String> = self
            .arguments()
            .iter()
            .map(|(k, v)| match v {
                Value::Bool(_) => format!("{k}={v}"),
                _ => v.to_string(),
            })
            .collect();
        match arguments.is_empty() {
            true => format!("{}_update", self.name()),
            false => format!("{}_update[{}]", self.name(), arguments.join(", ")),
        }
    }
}

impl Optimizer {
    /// The declaration with defaults resolved (`adam(lr = 0.001, beta1 = 0.9, ...)`).
    pub fn describe(&self) -> String {
        let spec = find(OPTIMIZERS, self.rule.name()).expect("every optimizer is in the table");
        let own = self.rule.arguments();
        let values: Vec<Option<Value>> = spec
            .args
            .iter()
            .map(|arg| match arg.name {
                "lr" => Some(Value::Number(self.lr)),
                "clip_norm" => self.clip_norm.map(Value::Number),
                name => own.iter().find(|(k, _)| *k == name).map(|(_, v)| *v),
            })
            .collect();
        describe(spec.name, spec.args, 0, &values)
    }
}
