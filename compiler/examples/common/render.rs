//! Compile errors shown as rustc shows them: message, line and column, the line, a caret.
//! Shared by `show_ir` and its test (`tests/render_errors.rs`).

/// Every error of `errors` with its place in `src` (line and column from 1).
pub fn errors(src: &str, errors: syn::Error) -> String {
    let mut out = String::new();
    for error in errors {
        let (start, end) = (error.span().start(), error.span().end());
        out.push_str(&format!("error: {error}\n --> line {}, column {}\n", start.line, start.column + 1));
        if let Some(line) = src.lines().nth(start.line.saturating_sub(1)) {
            let width = if end.line == start.line { end.column.saturating_sub(start.column).max(1) } else { 1 };
            let number = start.line.to_string();
            let pad = " ".repeat(number.len());
            out.push_str(&format!(
                "{pad} |\n{number} | {line}\n{pad} | {}{}\n",
                " ".repeat(start.column),
                "^".repeat(width)
            ));
        }
    }
    out
}
