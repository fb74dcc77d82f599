//! The whole compiler on arbitrary text: parse → check → lower → passes → codegen. It must
//! never panic, an error must never be an internal one, and every successful expansion must
//! parse as a Rust file.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(tokens) = text.parse::<proc_macro2::TokenStream>() else { return };
    match gradc_compiler::try_expand(tokens) {
        Ok(code) => {
            if let Err(e) = syn::parse2::<syn::File>(code) {
                panic!("expanded to code that does not parse: {e}");
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(!message.contains("internal error"), "{message}");
        }
    }
});
