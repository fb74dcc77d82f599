//! Prints the compiled IR (inference, then training) of a declaration read from stdin.
//!
//! ```text
//! echo 'struct N { input: [4], dense(3), loss: mse, optimizer: sgd(lr = 0.1) }' \
//!     | cargo run -p gradc-compiler --example show_ir
//! ```
use std::io::Read;

fn main() {
    let mut src = String::new();
    std::io::stdin().read_to_string(&mut src).expect("stdin");
    match src.parse().map_err(|e| format!("{e}")).and_then(|t| gradc_compiler::compile(t).map_err(|e| e.to_string())) {
        Ok(c) => println!("{}\n{}", c.forward, c.train),
        Err(e) => eprintln!("error: {e}"),
    }
}
