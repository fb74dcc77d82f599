//! Prints the compiled IR (inference, then training) of a declaration read from stdin, or
//! with `--code` the generated Rust, formatted; with `--vocabulary`, the DSL reference
//! (every layer, activation, initializer, loss, optimizer and regularizer with its arguments).
//!
//! ```text
//! echo 'struct N { input: [4], dense(3), loss: mse, optimizer: sgd(lr = 0.1) }' \
//!     | cargo run -p gradc-compiler --example show_ir
//! ```
use std::io::Read;

fn main() {
    if std::env::args().any(|a| a == "--vocabulary") {
        return print!("{}", gradc_compiler::vocab::reference::reference());
    }
    let mut src = String::new();
    std::io::stdin().read_to_string(&mut src).expect("stdin");
    let tokens: proc_macro2::TokenStream = match src.parse() {
        Ok(t) => t,
        Err(e) => return eprintln!("error: {e}"),
    };
    if std::env::args().any(|a| a == "--code") {
        match gradc_compiler::try_expand(tokens) {
            Ok(code) => println!("{}", prettyplease::unparse(&syn::parse2(code).expect("generated code parses"))),
            Err(e) => eprintln!("error: {e}"),
        }
        return;
    }
    match gradc_compiler::compile(tokens) {
        Ok(c) => println!("{}\n{}", c.forward, c.train),
        Err(e) => eprintln!("error: {e}"),
    }
}
