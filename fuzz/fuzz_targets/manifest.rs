//! The manifest parser, validator and code generator on arbitrary text.
//!
//! Properties: nothing panics; every diagnostic renders and points inside the text;
//! whatever `load` accepts generates tokens that parse as a Rust file with syn, and a
//! formatted file that parses again, with one field per store.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = kv_build::Source::new("raindrop.manifest", text);
    let app = match kv_build::load(&source) {
        Ok(app) => app,
        Err(diagnostics) => {
            check_diagnostics(text, &diagnostics);
            return;
        }
    };
    let generator = kv_build::Generator::default();
    let tokens = generator.generate(&app);
    let file: syn::File = match syn::parse2(tokens.clone()) {
        Ok(file) => file,
        Err(e) => panic!("generated tokens do not parse: {e}\n{tokens}"),
    };
    assert!(
        !tokens.to_string().contains("compile_error"),
        "default settings generated a compile_error!: {tokens}"
    );
    assert!(!file.items.is_empty(), "nothing generated");
    let formatted = generator.generate_file(&app);
    if let Err(e) = syn::parse_file(&formatted) {
        panic!("the generated file does not parse: {e}\n{formatted}");
    }
    for store in app.stores() {
        let field = format!("pub {}: ::kv_runtime::KvStore,", store.binding());
        assert!(formatted.contains(&field), "no field {field}:\n{formatted}");
    }
});

fn check_diagnostics(text: &str, diagnostics: &kv_build::Diagnostics) {
    assert!(!diagnostics.is_empty(), "an error without a diagnostic");
    let rendered = diagnostics.render_plain();
    assert!(!rendered.is_empty());
    let _ = diagnostics.to_string();
    for diagnostic in diagnostics.iter() {
        assert!(!diagnostic.code().is_empty());
        assert!(!diagnostic.message().is_empty());
        for label in diagnostic.labels() {
            let span = label.span();
            assert!(
                span.start <= span.end && span.end <= text.len(),
                "label {span:?} outside a text of {} bytes",
                text.len()
            );
        }
    }
}
