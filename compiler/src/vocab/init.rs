//! Weight initializers (`dense(init = ..)`). The runtime's `Init` enum has a variant of the
//! same name for each, taking [`InitSpec::constants`].

use super::{Arg, Range, Real, Spec, Value, describe, find};

/// A weight initializer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    Normal(Real),
    /// uniform with this limit
    Uniform(Real),
}

/// Every initializer of the DSL.
pub const INITS: &[Spec<InitSpec>] = &[
    Spec {
        name: "glorot_normal",
        doc: "std √(2/(in+out))",
        args: &[],
        positional: 0,
        build: |_| InitSpec::GlorotNormal,
    },
    Spec {
        name: "glorot_uniform",
        doc: "limit √(6/(in+out))",
        args: &[],
        positional: 0,
        build: |_| InitSpec::GlorotUniform,
    },
    Spec { name: "he_normal", doc: "std √(2/in)", args: &[], positional: 0, build: |_| InitSpec::HeNormal },
    Spec { name: "he_uniform", doc: "limit √(6/in)", args: &[], positional: 0, build: |_| InitSpec::HeUniform },
    Spec { name: "lecun_normal", doc: "std √(1/in)", args: &[], positional: 0, build: |_| InitSpec::LecunNormal },
    Spec { name: "lecun_uniform", doc: "limit √(3/in)", args: &[], positional: 0, build: |_| InitSpec::LecunUniform },
    Spec { name: "zeros", doc: "all zero", args: &[], positional: 0, build: |_| InitSpec::Zeros },
    Spec {
        name: "normal",
        doc: "normal with standard deviation `std`",
        args: &[Arg::required_number("std", Range::Positive, "normal(0.02)")],
        positional: 1,
        build: |v| InitSpec::Normal(v.real("std")),
    },
    Spec {
        name: "uniform",
        doc: "uniform in [−limit, limit]",
        args: &[Arg::required_number("limit", Range::Positive, "uniform(0.05)")],
        positional: 1,
        build: |v| InitSpec::Uniform(v.real("limit")),
    },
];

impl InitSpec {
    /// The DSL name.
    pub fn name(self) -> &'static str {
        match self {
            InitSpec::GlorotNormal => "glorot_normal",
            InitSpec::GlorotUniform => "glorot_uniform",
            InitSpec::HeNormal => "he_normal",
            InitSpec::HeUniform => "he_uniform",
            InitSpec::LecunNormal => "lecun_normal",
            InitSpec::LecunUniform => "lecun_uniform",
            InitSpec::Zeros => "zeros",
            InitSpec::Normal(_) => "normal",
            InitSpec::Uniform(_) => "uniform",
        }
    }

    /// The runtime `Init` variant that draws it.
    pub fn runtime_variant(self) -> &'static str {
        match self {
            InitSpec::GlorotNormal => "GlorotNormal",
            InitSpec::GlorotUniform => "GlorotUniform",
            InitSpec::HeNormal => "HeNormal",
            InitSpec::HeUniform => "HeUniform",
            InitSpec::LecunNormal => "LecunNormal",
            InitSpec::LecunUniform => "LecunUniform",
            InitSpec::Zeros => "Zeros",
            InitSpec::Normal(_) => "Normal",
            InitSpec::Uniform(_) => "Uniform",
        }
    }

    /// The constants of the runtime variant (and the DSL arguments).
    pub fn constants(self) -> Vec<Real> {
        match self {
            InitSpec::Normal(c) | InitSpec::Uniform(c) => vec![c],
            InitSpec::GlorotNormal
            | InitSpec::GlorotUniform
            | InitSpec::HeNormal
            | InitSpec::HeUniform
            | InitSpec::LecunNormal
            | InitSpec::LecunUniform
            | InitSpec::Zeros => vec![],
        }
    }

    /// The DSL spelling (`he_normal`, `normal(0.02)`).
    pub fn describe(self) -> String {
        let spec = find(INITS, self.name()).expect("every initializer is in the table");
        let values: Vec<Option<Value>> = self.constants().into_iter().map(|c| Some(Value::Number(c.0))).collect();
        describe(spec.name, spec.args, spec.positional, &values)
    }
}
