//! Activations: scalar maps applied elementwise, with their derivatives.
//!
//! Each one's formula lives in the runtime's `scalar` module under [`Activation::function`],
//! its derivative under [`Derivative::function`]; both take the value and then
//! [`Activation::constants`].

use super::{Arg, InitSpec, Range, Real, Spec, Value, describe, find};

/// An activation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Activation {
    /// 1/(1+e^{−x})
    Sigmoid,
    /// tanh(x)
    Tanh,
    /// max(x, 0)
    Relu,
    /// x for x > 0, else αx
    LeakyRelu { alpha: Real },
    /// x for x > 0, else α(eˣ−1)
    Elu { alpha: Real },
    /// λ·elu(x, α) with the fixed SELU constants
    Selu,
    /// x·Φ(x), exact (erf) or the tanh approximation
    Gelu { tanh_approximation: bool },
    /// x·σ(x)
    Silu,
}

/// Every activation of the DSL.
pub const ACTIVATIONS: &[Spec<Activation>] = &[
    Spec { name: "sigmoid", doc: "1/(1+e^−x)", args: &[], positional: 0, build: |_| Activation::Sigmoid },
    Spec { name: "tanh", doc: "tanh(x)", args: &[], positional: 0, build: |_| Activation::Tanh },
    Spec { name: "relu", doc: "max(x, 0)", args: &[], positional: 0, build: |_| Activation::Relu },
    Spec {
        name: "leaky_relu",
        doc: "x for x > 0, else αx",
        args: &[Arg::number("alpha", Range::NonNegative, 0.01)],
        positional: 1,
        build: |v| Activation::LeakyRelu { alpha: v.real("alpha") },
    },
    Spec {
        name: "elu",
        doc: "x for x > 0, else α(eˣ−1)",
        args: &[Arg::number("alpha", Range::NonNegative, 1.0)],
        positional: 1,
        build: |v| Activation::Elu { alpha: v.real("alpha") },
    },
    Spec {
        name: "selu", doc: "λ·elu(x, α), self-normalizing", args: &[], positional: 0, build: |_| Activation::Selu
    },
    Spec {
        name: "gelu",
        doc: "x·Φ(x); `approximate = tanh` for the tanh form",
        args: &[Arg::choice("approximate", &["none", "tanh"])],
        positional: 0,
        build: |v| Activation::Gelu { tanh_approximation: v.choice("approximate") == "tanh" },
    },
    Spec { name: "silu", doc: "x·σ(x)", args: &[], positional: 0, build: |_| Activation::Silu },
];

/// Where an activation's derivative is computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Derivative {
    /// The runtime's scalar function (`relu_grad`).
    pub function: &'static str,
    /// It reads the activation's output y, not its input x (σ' = y(1−y), tanh' = 1−y²).
    pub from_output: bool,
}

impl Activation {
    /// The DSL name.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Gelu { .. } => "gelu",
            Activation::Silu => "silu",
        }
    }

    /// The arguments, in the order of its [`Spec`].
    pub fn arguments(self) -> Vec<Option<Value>> {
        match self {
            Activation::Sigmoid | Activation::Tanh | Activation::Relu | Activation::Selu | Activation::Silu => vec![],
            Activation::LeakyRelu { alpha } | Activation::Elu { alpha } => vec![Some(Value::Number(alpha.0))],
            Activation::Gelu { tanh_approximation } => {
                vec![Some(Value::Choice(if tanh_approximation { "tanh" } else { "none" }))]
            }
        }
    }

    /// The runtime's scalar function computing it (also its IR mnemonic).
    pub fn function(self) -> &'static str {
        match self {
            Activation::Gelu { tanh_approximation: true } => "gelu_tanh",
            other => other.name(),
        }
    }

    /// The constants passed to the runtime functions after the value.
    pub fn constants(self) -> Vec<Real> {
        match self {
            Activation::LeakyRelu { alpha } | Activation::Elu { alpha } => vec![alpha],
            Activation::Sigmoid
            | Activation::Tanh
            | Activation::Relu
            | Activation::Selu
            | Activation::Gelu { .. }
            | Activation::Silu => vec![],
        }
    }

    /// Its derivative.
    pub fn derivative(self) -> Derivative {
        let of_input = |function| Derivative { function, from_output: false };
        match self {
            Activation::Sigmoid => Derivative { function: "sigmoid_grad_from_output", from_output: true },
            Activation::Tanh => Derivative { function: "tanh_grad_from_output", from_output: true },
            Activation::Relu => of_input("relu_grad"),
            Activation::LeakyRelu { .. } => of_input("leaky_relu_grad"),
            Activation::Elu { .. } => of_input("elu_grad"),
            Activation::Selu => of_input("selu_grad"),
            Activation::Gelu { tanh_approximation: false } => of_input("gelu_grad"),
            Activation::Gelu { tanh_approximation: true } => of_input("gelu_tanh_grad"),
            Activation::Silu => of_input("silu_grad"),
        }
    }

    /// The initializer of a dense layer whose first activation this is (DESIGN §2): He for
    /// the relu family, LeCun for selu, Glorot for the saturating ones.
    pub fn default_init(self) -> InitSpec {
        match self {
            Activation::Relu
            | Activation::LeakyRelu { .. }
            | Activation::Elu { .. }
            | Activation::Gelu { .. }
            | Activation::Silu => InitSpec::HeNormal,
            Activation::Selu => InitSpec::LecunNormal,
            Activation::Sigmoid | Activation::Tanh => InitSpec::GlorotUniform,
        }
    }

    /// The IR mnemonic: the function with its constants (`leaky_relu[0.2]`).
    pub fn mnemonic(self) -> String {
        with_constants(self.function(), &self.constants())
    }

    /// The declaration with defaults resolved (`leaky_relu(alpha = 0.2)`).
    pub fn describe(self) -> String {
        let spec = find(ACTIVATIONS, self.name()).expect("every activation is in the table");
        describe(spec.name, spec.args, spec.positional, &self.arguments())
    }
}

/// `name[c1, c2]`, or `name` without constants.
pub fn with_constants(name: &str, constants: &[Real]) -> String {
    if constants.is_empty() {
        name.to_string()
    } else {
        let list: Vec<String> = constants.iter().map(Real::to_string).collect();
        format!("{name}[{}]", list.join(", "))
    }
}
