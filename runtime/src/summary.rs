//! The layer table printed by `summary()`.

use std::fmt::Write;

use crate::{Float, NetworkInfo, ParamStore};

/// Renders the summary of `info` with the trainable flags of `params`.
pub fn render<T: Float>(info: &NetworkInfo, params: &ParamStore<T>) -> String {
    let mut rows = vec![["layer".to_string(), "kind".into(), "output".into(), "params".into(), "trainable".into()]];
    rows.push(["input".into(), String::new(), shape(info.input_shape), String::new(), String::new()]);
    let (mut total, mut trainable_total) = (0usize, 0usize);
    for layer in info.layers {
        let owned: Vec<usize> = (0..info.params.len())
            .filter(|&i| info.params[i].layer == layer.name && info.params[i].kind == crate::ParamKind::Learnable)
            .collect();
        let count: usize = owned.iter().map(|&i| info.params[i].len()).sum();
        let trainable = owned.iter().filter(|&&i| params.is_trainable(i)).map(|&i| info.params[i].len()).sum::<usize>();
        total += count;
        trainable_total += trainable;
        let flag = match (owned.is_empty(), layer.frozen, trainable == count) {
            (true, _, _) => "-",
            (false, true, _) => "frozen",
            (false, false, true) => "yes",
            (false, false, false) => "no",
        };
        rows.push([
            layer.name.into(),
            layer.description.into(),
            shape(layer.output_shape),
            group_thousands(count),
            flag.into(),
        ]);
    }
    let widths: Vec<usize> = (0..5).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    let _ = writeln!(out, "{} ({}, loss {}, optimizer {})", info.name, T::NAME, info.loss.name(), info.optimizer);
    for (i, row) in rows.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        if i == 0 {
            let _ = writeln!(out, "{}", "-".repeat(widths.iter().sum::<usize>() + 8));
        }
    }
    let _ = write!(out, "params: {} total, {} trainable", group_thousands(total), group_thousands(trainable_total));
    out
}

fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `[B, C, H, W]`: a per-example shape with the batch in front.
fn shape(dims: &[usize]) -> String {
    let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
    format!("[B, {}]", dims.join(", "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::group_thousands(0), "0");
        assert_eq!(super::group_thousands(999), "999");
        assert_eq!(super::group_thousands(8320), "8,320");
        assert_eq!(super::group_thousands(1234567), "1,234,567");
    }
}
