//! Nothing but a home for `tests/ui.rs`: every DSL mistake is a compile error at the
//! offending token (`cargo test -p gradc-ui-tests`; regenerate with `TRYBUILD=overwrite`).
