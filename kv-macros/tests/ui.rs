//! Compile tests: code using `import_manifest!` builds warning-free, and manifest errors
//! become compile errors that show the manifest's file:line:col, caret and help.
//!
//! Bless changed `.stderr` files with `TRYBUILD=overwrite` and review them like code.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
