//! The `network!` DSL: [`parse`] turns tokens into a generic spanned tree, [`check`] turns
//! that into a checked [`ast::Network`] with every default resolved, against the tables of
//! [`crate::vocab`].

mod args;
pub mod ast;
mod check;
mod errors;
mod limits;
mod params;
mod parse;
mod shapes;
mod suggest;

pub use check::check;
pub use params::{ParamDecl, ParamInit};
pub use parse::parse;
