//! The error collector of the checker: every problem at its token, reported together as one
//! combined `syn::Error` (as serde's `Ctxt` does).

use proc_macro2::Span;

/// Collected errors, combined at the end.
#[derive(Default)]
pub struct Errors(Vec<syn::Error>);

impl Errors {
    /// Records `message` at `span`.
    pub fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.0.push(syn::Error::new(span, message));
    }

    /// How many errors were recorded so far (to tell whether a step added any).
    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// `Ok` if nothing was recorded, else every error combined.
    pub fn finish(self) -> syn::Result<()> {
        let mut iter = self.0.into_iter();
        match iter.next() {
            None => Ok(()),
            Some(mut first) => {
                iter.for_each(|e| first.combine(e));
                Err(first)
            }
        }
    }
}
