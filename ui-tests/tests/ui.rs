//! Compile-fail cases: every DSL mistake is a compile error at the offending token, with the
//! message in the matching `.stderr` file. Regenerate with `TRYBUILD=overwrite` and review.

#[test]
fn dsl_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*/*.rs");
}
