//! Binding a call's arguments to a vocabulary entry's [`Spec`]: positional and `key = value`
//! arguments, their types and ranges, defaults and required ones. Every message here is
//! derived from the spec, so a new entry gets its checking and its errors for free.

use std::collections::BTreeMap;

use proc_macro2::Span;

use super::errors::Errors;
use super::parse::{RawArgValue, RawCall};
use crate::vocab::{self, Arg, ArgType, Default, INITS, Padding, Spec, Value, Values};

/// The entry of `table` that `call` names, built from its checked arguments; `what` names the
/// vocabulary in messages ("layer", "initializer").
pub fn resolve<T>(table: &[Spec<T>], what: &str, call: &RawCall, errors: &mut Errors) -> Option<T> {
    match vocab::find(table, &call.name.to_string()) {
        Some(spec) => build(spec, call, errors),
        None => {
            let names = vocab::names(table);
            let hint = super::suggest::did_you_mean(&call.name.to_string(), names.iter().copied());
            let expected = names.join(", ");
            errors.at(call.name.span(), format!("unknown {what} `{}`{hint}; expected one of: {expected}", call.name));
            None
        }
    }
}

/// `spec` built from `call`'s arguments, or `None` after reporting what is wrong with them.
pub fn build<T>(spec: &Spec<T>, call: &RawCall, errors: &mut Errors) -> Option<T> {
    let before = errors.count();
    let given = assign(spec, call, errors);
    let mut values = Values::default();
    for arg in spec.args {
        let value = match given.get(arg.name) {
            Some(raw) => convert(arg, raw, errors),
            None => match &arg.default {
                Default::Value(v) => Some(*v),
                Default::Required(example) => {
                    errors.at(call.span, format!("`{}` needs `{}`, e.g. `{example}`", spec.name, arg.name));
                    None
                }
                Default::Absent => None,
            },
        };
        if let Some(value) = value {
            values.insert(arg.name, value);
        }
    }
    (errors.count() == before).then(|| (spec.build)(&values))
}

/// Matches the written arguments to the spec's parameters: the first `positional` by
/// position, the rest by key.
fn assign<'a, T>(spec: &Spec<T>, call: &'a RawCall, errors: &mut Errors) -> BTreeMap<&'static str, &'a RawArgValue> {
    let params: Vec<&'static str> = spec.args.iter().map(|a| a.name).collect();
    let mut bound = BTreeMap::new();
    let mut seen_key = false;
    let mut next_position = 0;
    for arg in &call.args {
        let (name, span) = match &arg.key {
            Some(key) => {
                seen_key = true;
                let Some(&name) = params.iter().find(|p| key == *p) else {
                    let expected = if params.is_empty() {
                        "it takes no arguments".to_string()
                    } else {
                        format!("expected one of: {}", params.join(", "))
                    };
                    let hint = super::suggest::did_you_mean(&key.to_string(), params.iter().copied());
                    errors.at(key.span(), format!("unknown argument `{key}` for `{}`{hint}; {expected}", spec.name));
                    continue;
                };
                (name, key.span())
            }
            None => {
                let span = arg.value.span();
                if seen_key {
                    errors.at(span, "positional argument after a `key = value` argument");
                    continue;
                }
                if next_position >= spec.positional {
                    let takes = match spec.positional {
                        0 => format!("`{}` takes no positional arguments", spec.name),
                        n => format!(
                            "`{}` takes at most {n} positional argument(s) ({})",
                            spec.name,
                            params[..n].join(", ")
                        ),
                    };
                    errors.at(span, format!("unexpected argument {}: {takes}", arg.value.describe()));
                    continue;
                }
                next_position += 1;
                (params[next_position - 1], span)
            }
        };
        if bound.insert(name, &arg.value).is_some() {
            errors.at(span, format!("argument `{name}` given twice"));
        }
    }
    bound
}

/// The value of `raw` for parameter `arg`, or `None` after reporting why it does not fit.
fn convert(arg: &Arg, raw: &RawArgValue, errors: &mut Errors) -> Option<Value> {
    let name = arg.name;
    let mut fail = |span: Span, message: String| -> Option<Value> {
        errors.at(span, message);
        None
    };
    if let (ArgType::Init, RawArgValue::Call(call)) = (&arg.ty, raw) {
        return resolve(INITS, "initializer", call, errors).map(Value::Init);
    }
    match (&arg.ty, raw) {
        (ArgType::Size { min }, _) => return size(name, *min, raw, errors).map(Value::Size),
        (ArgType::Padding, RawArgValue::Call(c)) if c.args.is_empty() && c.name == "same" => {
            return Some(Value::Padding(Padding::Same));
        }
        (ArgType::Padding, _) => return size(name, 0, raw, errors).map(|s| Value::Padding(Padding::Explicit(s))),
        _ => {}
    }
    match (&arg.ty, raw) {
        (ArgType::Number(_), RawArgValue::Number { value, span, .. }) if !value.is_finite() => {
            fail(*span, format!("`{name}` must be a finite number, found {value:?}"))
        }
        (ArgType::Number(range), RawArgValue::Number { value, span, .. }) => match range.contains(*value) {
            true => Some(Value::Number(*value)),
            false => fail(*span, format!("`{name}` must be {}, found {value:?}", range.rule())),
        },
        (ArgType::Number(_), other) => {
            fail(other.span(), format!("`{name}` takes a number, found {}", other.describe()))
        }
        (ArgType::Count { min }, RawArgValue::Number { value, integer: true, span, text }) if *value >= 0.0 => {
            let count = *value as usize;
            match count >= *min {
                // Sizes beyond 1e9 are a typo, and their products would overflow.
                true if *value > 1e9 => fail(*span, format!("`{name}` must be at most 1000000000, found {text}")),
                true => Some(Value::Count(count)),
                false => fail(*span, format!("`{name}` must be at least {min}, found {count}")),
            }
        }
        (ArgType::Count { min }, other) => {
            let what = match other {
                RawArgValue::Number { .. } => format!("a whole number ≥ {min}"),
                _ => "an integer".to_string(),
            };
            fail(other.span(), format!("`{name}` takes {what}, found {}", other.describe()))
        }
        (ArgType::Bool, RawArgValue::Bool(b)) => Some(Value::Bool(b.value)),
        (ArgType::Bool, other) => {
            fail(other.span(), format!("`{name}` takes `true` or `false`, found {}", other.describe()))
        }
        (ArgType::Choice(choices), RawArgValue::Call(c)) if c.args.is_empty() => {
            match choices.iter().find(|choice| c.name == **choice) {
                Some(choice) => Some(Value::Choice(choice)),
                None => {
                    fail(c.span, format!("`{name}` takes one of: {}; found {}", choices.join(", "), raw.describe()))
                }
            }
        }
        (ArgType::Choice(choices), other) => {
            fail(other.span(), format!("`{name}` takes one of: {}; found {}", choices.join(", "), other.describe()))
        }
        (ArgType::Size { .. } | ArgType::Padding, _) => unreachable!("handled above"),
        (ArgType::Init, other) => fail(
            other.span(),
            format!("`{name}` takes an initializer ({}), found {}", vocab::names(INITS).join(", "), other.describe()),
        ),
    }
}

/// A spatial size: one whole number ≥ `min` for both axes, or a pair `(h, w)` of them.
fn size(name: &str, min: usize, raw: &RawArgValue, errors: &mut Errors) -> Option<[usize; 2]> {
    let whole = |v: &RawArgValue| match v {
        RawArgValue::Number { value, integer: true, .. } if *value >= min as f64 && *value <= 1e9 => {
            Some(*value as usize)
        }
        _ => None,
    };
    let found = match raw {
        RawArgValue::Tuple(items, _) => match items.as_slice() {
            [h, w] => whole(h).zip(whole(w)).map(|(h, w)| [h, w]),
            _ => None,
        },
        single => whole(single).map(|n| [n, n]),
    };
    if found.is_none() {
        let shown = match raw {
            RawArgValue::Tuple(..) => "a tuple that is not two of them".to_string(),
            other => other.describe(),
        };
        errors
            .at(raw.span(), format!("`{name}` takes a whole number ≥ {min} or a pair `(h, w)` of them, found {shown}"));
    }
    found
}
