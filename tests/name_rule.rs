//! One name rule: a store name the manifest accepts is one the runtime opens, and a
//! name it refuses the runtime refuses too — including at the length limit.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kv_runtime::Runtime;

#[test]
fn codegen_and_runtime_agree_on_every_name() {
    let names = [
        "demo-cache".to_owned(),
        "a".to_owned(),
        "cache_2".to_owned(),
        "a".repeat(128),
        "a".repeat(129),
        "Demo".to_owned(),
        "1cache".to_owned(),
        "a.b".to_owned(),
        "démo".to_owned(),
        "-a".to_owned(),
    ];
    let runtime = Runtime::in_memory();
    for name in names {
        let manifest = format!("application \"app\" {{\n  kv_store \"{name}\" {{}}\n}}\n");
        let source = kv_build::Source::new("raindrop.manifest", manifest);
        let accepted = kv_build::load(&source).is_ok();
        let opened = runtime.store(&name).is_ok();
        assert_eq!(
            accepted,
            opened,
            "{name:?}: the manifest {} it, the runtime {} it",
            if accepted { "accepts" } else { "refuses" },
            if opened { "opens" } else { "refuses" }
        );
        assert_eq!(accepted, kv_build::names::is_valid_name(&name));
    }
}

#[test]
fn a_name_over_the_limit_is_a_manifest_error_that_says_so() {
    let name = "a".repeat(129);
    let manifest = format!("application \"app\" {{ kv_store \"{name}\" {{}} }}");
    let source = kv_build::Source::new("raindrop.manifest", manifest);
    let rendered = kv_build::load(&source).unwrap_err().render_plain();
    assert!(rendered.contains("kv::invalid_name"), "{rendered}");
    assert!(
        rendered.contains("129 bytes is longer than the 128 bytes"),
        "{rendered}"
    );
}
