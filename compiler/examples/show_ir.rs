//! Prints the compiled IR (inference, then training) of a declaration read from stdin, or
//! with `--code` the generated Rust, formatted; with `--vocabulary`, the DSL reference
//! (every layer, activation, initializer, loss, optimizer and regularizer with its arguments).
//!
//! ```text
//! echo 'struct N { input: [4], dense(3), loss: mse, optimizer: sgd(lr = 0.1) }' \
//!     | cargo run -p gradc-compiler --example show_ir
//! ```
//!
//! A declaration with mistakes prints each at its line and column, with the line and a caret,
//! and exits with status 1.
use std::io::Read;

#[path = "common/render.rs"]
mod render;

fn main() {
    if std::env::args().any(|a| a == "--vocabulary") {
        return emit(&gradc_compiler::vocab::reference::reference());
    }
    let mut src = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut src) {
        eprintln!("error: cannot read the declaration from standard input: {e}");
        std::process::exit(1);
    }
    let tokens: proc_macro2::TokenStream = match src.parse() {
        Ok(t) => t,
        Err(e) => fail(&src, e.into()),
    };
    if std::env::args().any(|a| a == "--code") {
        match gradc_compiler::try_expand(tokens) {
            Ok(code) => emit(&prettyplease::unparse(&syn::parse2(code).expect("generated code parses"))),
            Err(e) => fail(&src, e),
        }
        return;
    }
    match gradc_compiler::compile(tokens) {
        Ok(c) => emit(&format!("{}\n{}\n", c.forward, c.train)),
        Err(e) => fail(&src, e),
    }
}

/// Writes `text` to standard output; a reader that went away (`| head`) ends the program
/// quietly, as command-line tools do.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}

/// Prints every error with its place in `src` and exits with status 1.
fn fail(src: &str, errors: syn::Error) -> ! {
    eprint!("{}", render::errors(src, errors));
    std::process::exit(1);
}
