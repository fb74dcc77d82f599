//! The `network!` DSL: [`parse`] turns tokens into a generic spanned tree, [`check`] turns
//! that into a checked [`ast::Network`] with every default resolved.

pub mod ast;
mod check;
mod parse;

pub use check::check;
pub use parse::parse;
