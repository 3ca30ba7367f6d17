//! Rendered diagnostics, one fixture per rule: `fixtures/invalid/<rule>.manifest`.
//!
//! Each snapshot is exactly what a user sees in a compile error or a piped `kv build
//! check`: plain ASCII, file:line:col and a `^` caret.

use kv_build::{Source, load};

#[test]
fn invalid_manifests_render_their_diagnostics() {
    insta::glob!("fixtures/invalid/*.manifest", |path| {
        let text = std::fs::read_to_string(path).expect("fixture is readable");
        let name = path
            .file_name()
            .expect("fixture has a name")
            .to_string_lossy();
        let source = Source::new(name, text);
        let diagnostics = load(&source).expect_err("fixture is invalid");
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code()).collect();
        insta::assert_snapshot!(format!(
            "codes: {codes:?}\n\n{}",
            diagnostics.render_plain()
        ));
    });
}

/// Every stable code has at least one fixture.
#[test]
fn every_code_has_a_fixture() {
    let mut seen = std::collections::BTreeSet::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    for entry in std::fs::read_dir(dir).expect("fixtures exist") {
        let path = entry.expect("readable directory").path();
        let source = Source::from_path(&path).expect("readable fixture");
        if let Err(diagnostics) = load(&source) {
            seen.extend(diagnostics.iter().map(|d| d.code()));
        }
    }
    use kv_build::codes::*;
    for code in [
        SYNTAX,
        MISSING_APPLICATION,
        DUPLICATE_APPLICATION,
        MISSING_NAME,
        INVALID_NAME,
        DUPLICATE_STORE,
        DUPLICATE_BINDING,
        UNKNOWN_ATTRIBUTE,
        DUPLICATE_ATTRIBUTE,
        INVALID_ATTRIBUTE_TYPE,
        MISPLACED_BLOCK,
    ] {
        assert!(seen.contains(code), "no fixture produces {code}");
    }
}
