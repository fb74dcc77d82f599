//! The words of the `network!` DSL, one table per vocabulary: layers, blocks, activations,
//! initializers, optimizers, losses and regularizers.
//!
//! Each vocabulary is one file holding its enum, its table of [`Spec`]s (name, arguments with
//! their types, ranges and defaults, and what the entry builds) and every fact the rest of the
//! compiler needs about an entry, as exhaustive `match`es: adding a variant is a compile error
//! everywhere a decision is needed, and nowhere else. The DSL checker, its "expected one of"
//! messages, the IR mnemonics, the runtime calls and the DSL [`reference`] are all derived
//! from these files.
//!
//! This is the bottom layer of the compiler: it imports nothing from the other modules.

pub mod activation;
pub mod block;
pub mod init;
pub mod layer;
pub mod loss;
pub mod optimizer;
pub mod real;
pub mod reference;
pub mod regularizer;
pub mod window;

use std::collections::BTreeMap;

pub use activation::{ACTIVATIONS, Activation, Derivative};
pub use block::{BLOCKS, BlockKind, Projection};
pub use init::{INITS, InitSpec};
pub use layer::{InitHint, LAYERS, LayerKind, Padding};
pub use loss::{LOSSES, Loss};
pub use optimizer::{OPTIMIZERS, Optimizer, UpdateRule};
pub use real::{Num, Real};
pub use regularizer::{Penalty, REGULARIZERS};
pub use window::Window;

/// One entry of a vocabulary: how it is written and what it builds.
pub struct Spec<T> {
    /// The DSL name (`leaky_relu`).
    pub name: &'static str,
    /// One line for the docs.
    pub doc: &'static str,
    /// The arguments, in positional order.
    pub args: &'static [Arg],
    /// How many leading arguments may be given by position.
    pub positional: usize,
    /// Builds the entry from its checked arguments (every default filled in).
    pub build: fn(&Values) -> T,
}

/// The names of a table's entries, for "expected one of" messages.
pub fn names<T>(table: &[Spec<T>]) -> Vec<&'static str> {
    table.iter().map(|s| s.name).collect()
}

/// The entry of `table` called `name`.
pub fn find<'a, T>(table: &'a [Spec<T>], name: &str) -> Option<&'a Spec<T>> {
    table.iter().find(|s| s.name == name)
}

/// One argument of an entry.
pub struct Arg {
    /// Its name (`alpha`).
    pub name: &'static str,
    /// What it accepts.
    pub ty: ArgType,
    /// What it is when not given.
    pub default: Default,
}

impl Arg {
    /// A number in `range`, `default` when not given.
    pub const fn number(name: &'static str, range: Range, default: f64) -> Arg {
        Arg { name, ty: ArgType::Number(range), default: Default::Value(Value::Number(default)) }
    }

    /// A number in `range` that must be given; `example` shows how.
    pub const fn required_number(name: &'static str, range: Range, example: &'static str) -> Arg {
        Arg { name, ty: ArgType::Number(range), default: Default::Required(example) }
    }

    /// A number in `range` that may be left out (no value).
    pub const fn optional_number(name: &'static str, range: Range) -> Arg {
        Arg { name, ty: ArgType::Number(range), default: Default::Absent }
    }

    /// `true` or `false`.
    pub const fn boolean(name: &'static str, default: bool) -> Arg {
        Arg { name, ty: ArgType::Bool, default: Default::Value(Value::Bool(default)) }
    }

    /// One of `choices` (bare names); the default is the first.
    pub const fn choice(name: &'static str, choices: &'static [&'static str]) -> Arg {
        Arg { name, ty: ArgType::Choice(choices), default: Default::Value(Value::Choice(choices[0])) }
    }
}

/// What an argument accepts.
pub enum ArgType {
    /// A finite number in the range.
    Number(Range),
    /// A whole number, at least `min`.
    Count {
        /// The smallest accepted value.
        min: usize,
    },
    /// `true` or `false`.
    Bool,
    /// One of these bare names.
    Choice(&'static [&'static str]),
    /// An initializer from [`INITS`] (`he_normal`, `normal(0.02)`).
    Init,
    /// A size per spatial axis: one whole number for both, or a pair `(h, w)`, at least `min`.
    Size {
        /// The smallest accepted value.
        min: usize,
    },
    /// Convolution padding: a [`ArgType::Size`] (from 0) or `same`.
    Padding,
}

/// The accepted range of a number (every number must also be finite).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// Any finite number.
    Any,
    /// x > 0.
    Positive,
    /// x ≥ 0.
    NonNegative,
    /// 0 ≤ x < 1.
    Fraction,
    /// 0 ≤ x ≤ 1.
    Unit,
}

impl Range {
    /// Whether `x` is accepted.
    pub fn contains(self, x: f64) -> bool {
        x.is_finite()
            && match self {
                Range::Any => true,
                Range::Positive => x > 0.0,
                Range::NonNegative => x >= 0.0,
                Range::Fraction => (0.0..1.0).contains(&x),
                Range::Unit => (0.0..=1.0).contains(&x),
            }
    }

    /// The rule, for error messages (`"positive"`).
    pub fn rule(self) -> &'static str {
        match self {
            Range::Any => "finite",
            Range::Positive => "positive",
            Range::NonNegative => "non-negative",
            Range::Fraction => "in [0, 1)",
            Range::Unit => "in [0, 1]",
        }
    }
}

/// What an argument is when not given.
pub enum Default {
    /// This value.
    Value(Value),
    /// It must be given; the text is an example of the whole call.
    Required(&'static str),
    /// It stays absent (an optional setting such as `clip_norm`).
    Absent,
}

/// A checked argument value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// A finite number.
    Number(f64),
    /// A whole number.
    Count(usize),
    /// A flag.
    Bool(bool),
    /// One of an argument's choices.
    Choice(&'static str),
    /// An initializer.
    Init(InitSpec),
    /// A size per spatial axis `[h, w]`.
    Size([usize; 2]),
    /// Convolution padding.
    Padding(Padding),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Number(x) => write!(f, "{}", Num(*x)),
            Value::Count(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Choice(c) => write!(f, "{c}"),
            Value::Init(init) => write!(f, "{}", init.describe()),
            Value::Size([h, w]) if h == w => write!(f, "{h}"),
            Value::Size([h, w]) => write!(f, "({h}, {w})"),
            Value::Padding(Padding::Same) => write!(f, "same"),
            Value::Padding(Padding::Explicit(size)) => Value::Size(*size).fmt(f),
        }
    }
}

/// The checked arguments of one entry, by name, defaults filled in.
#[derive(Clone, Debug, Default)]
pub struct Values(BTreeMap<&'static str, Value>);

impl Values {
    /// Sets `name`.
    pub fn insert(&mut self, name: &'static str, value: Value) {
        self.0.insert(name, value);
    }

    /// The value of `name`, if given or defaulted.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.0.get(name).copied()
    }

    /// The number `name`, if present.
    pub fn optional_number(&self, name: &str) -> Option<f64> {
        match self.get(name)? {
            Value::Number(x) => Some(x),
            other => unreachable!("`{name}` is declared a number, found {other:?}"),
        }
    }

    /// The number `name` (the spec gives it a default or requires it).
    pub fn number(&self, name: &str) -> f64 {
        self.optional_number(name).unwrap_or_else(|| unreachable!("`{name}` has a default"))
    }

    /// The bit-exact number `name`.
    pub fn real(&self, name: &str) -> Real {
        Real(self.number(name))
    }

    /// The whole number `name`.
    pub fn count(&self, name: &str) -> usize {
        match self.get(name) {
            Some(Value::Count(n)) => n,
            other => unreachable!("`{name}` is a required count, found {other:?}"),
        }
    }

    /// The flag `name`.
    pub fn flag(&self, name: &str) -> bool {
        match self.get(name) {
            Some(Value::Bool(b)) => b,
            other => unreachable!("`{name}` is a flag with a default, found {other:?}"),
        }
    }

    /// The choice `name`.
    pub fn choice(&self, name: &str) -> &'static str {
        match self.get(name) {
            Some(Value::Choice(c)) => c,
            other => unreachable!("`{name}` is a choice with a default, found {other:?}"),
        }
    }

    /// The spatial size `name`, if given or defaulted.
    pub fn size(&self, name: &str) -> Option<[usize; 2]> {
        match self.get(name)? {
            Value::Size(size) => Some(size),
            other => unreachable!("`{name}` is a size, found {other:?}"),
        }
    }

    /// The padding `name`.
    pub fn padding(&self, name: &str) -> Padding {
        match self.get(name) {
            Some(Value::Padding(p)) => p,
            other => unreachable!("`{name}` is a padding with a default, found {other:?}"),
        }
    }

    /// The initializer `name`, if given.
    pub fn init(&self, name: &str) -> Option<InitSpec> {
        match self.get(name)? {
            Value::Init(init) => Some(init),
            other => unreachable!("`{name}` is an initializer, found {other:?}"),
        }
    }
}

/// An entry written back as a call with every argument (`leaky_relu(alpha = 0.2)`): the first
/// `positional` arguments bare, the rest as `key = value`, absent ones left out.
pub fn describe(name: &str, args: &[Arg], positional: usize, values: &[Option<Value>]) -> String {
    let written: Vec<String> = args
        .iter()
        .zip(values)
        .enumerate()
        .filter_map(|(i, (arg, value))| {
            let value = (*value)?;
            Some(if i < positional && matches!(arg.default, Default::Required(_)) {
                value.to_string()
            } else {
                format!("{} = {value}", arg.name)
            })
        })
        .collect();
    if written.is_empty() { name.to_string() } else { format!("{name}({})", written.join(", ")) }
}
