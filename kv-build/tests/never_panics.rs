//! Whatever the input, parsing and validation return; they never panic.

use kv_build::{Generator, Source, load, parse};
use proptest::prelude::*;

/// Fragments of the manifest language, so that inputs get deep into the grammar.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("application".to_owned()),
        Just("kv_store".to_owned()),
        Just("kv_cache".to_owned()),
        Just("service".to_owned()),
        Just("description".to_owned()),
        Just("\"demo-cache\"".to_owned()),
        Just("\"demo_cache\"".to_owned()),
        Just("\"Bad Name\"".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("=".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\\u".to_owned()),
        Just("# c\n".to_owned()),
        Just("// c\n".to_owned()),
        Just("/*".to_owned()),
        Just("*/".to_owned()),
        Just("42".to_owned()),
        Just("-99999999999999999999".to_owned()),
        Just("true".to_owned()),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("é".to_owned()),
        any::<char>().prop_map(String::from),
    ]
}

fn check(text: String) {
    let source = Source::new("fuzz.manifest", text);
    match load(&source) {
        Ok(app) => {
            let code = Generator::default().generate_file(&app);
            assert!(code.starts_with("// @generated"));
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            let rendered = errors.render_plain();
            assert!(rendered.contains("kv::"), "{rendered}");
        }
    }
    let _ = parse(&source);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(text);
    }

    #[test]
    fn manifest_like_text_never_panics(parts in prop::collection::vec(fragment(), 0..60)) {
        check(parts.concat());
    }
}
