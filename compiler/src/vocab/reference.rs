//! The DSL reference, written from the vocabulary tables: every entry with its arguments,
//! their defaults and ranges, and its one-line doc. `show_ir --vocabulary` prints it.

use std::fmt::Write;

use super::{ACTIVATIONS, Arg, ArgType, BLOCKS, Default, INITS, LAYERS, LOSSES, OPTIMIZERS, REGULARIZERS, Range, Spec};

/// `name(arg = default, ..)` with each argument's accepted values.
pub fn signature<T>(spec: &Spec<T>) -> String {
    if spec.args.is_empty() {
        return spec.name.to_string();
    }
    let args: Vec<String> = spec.args.iter().map(argument).collect();
    format!("{}({})", spec.name, args.join(", "))
}

fn argument(arg: &Arg) -> String {
    let accepts = match &arg.ty {
        ArgType::Number(Range::Any) => "number".to_string(),
        ArgType::Number(range) => format!("number, {}", range.rule()),
        ArgType::Count { min } => format!("integer ≥ {min}"),
        ArgType::Bool => "true | false".to_string(),
        ArgType::Choice(choices) => choices.join(" | "),
        ArgType::Init => "initializer".to_string(),
        ArgType::Size { min } => format!("integer ≥ {min} or (h, w)"),
        ArgType::Padding => "integer or (h, w) or same".to_string(),
    };
    match &arg.default {
        Default::Value(v) => format!("{} = {v} [{accepts}]", arg.name),
        Default::Required(_) => format!("{} [{accepts}]", arg.name),
        Default::Absent if matches!(arg.ty, ArgType::Init) => format!("{} = from the next activation", arg.name),
        Default::Absent => format!("{} = none [{accepts}]", arg.name),
    }
}

fn section<T>(out: &mut String, title: &str, table: &[Spec<T>]) {
    let _ = writeln!(out, "{title}:");
    for spec in table {
        let _ = writeln!(out, "  {}\n      {}", signature(spec), spec.doc);
    }
}

/// The whole reference, one section per vocabulary.
pub fn reference() -> String {
    let mut out = String::new();
    section(&mut out, "layers", LAYERS);
    section(&mut out, "blocks (name: block { layers })", BLOCKS);
    section(&mut out, "activations (layers too)", ACTIVATIONS);
    section(&mut out, "initializers (dense(init = ..))", INITS);
    section(&mut out, "losses (loss: ..)", LOSSES);
    section(&mut out, "optimizers (optimizer: ..)", OPTIMIZERS);
    section(&mut out, "regularizers (regularize: ..)", REGULARIZERS);
    out
}
