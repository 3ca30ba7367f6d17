//! Generated code for every valid fixture, `fixtures/valid/*.manifest`, as the CLI and
//! `build.rs` write it.

use kv_build::{Generator, Settings, Source, load};

#[allow(clippy::expect_used, reason = "test helper")]
fn load_fixture(path: &std::path::Path) -> kv_build::Application {
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let name = path
        .file_name()
        .expect("fixture has a name")
        .to_string_lossy();
    let source = Source::new(name, text);
    load(&source).unwrap_or_else(|errors| panic!("{}", errors.render_plain()))
}

#[test]
fn valid_manifests_generate_env() {
    insta::glob!("fixtures/valid/*.manifest", |path| {
        let app = load_fixture(path);
        insta::assert_snapshot!(Generator::default().generate_file(&app));
    });
}

#[test]
fn generated_code_parses_as_a_file() {
    insta::glob!("fixtures/valid/*.manifest", |path| {
        let app = load_fixture(path);
        let tokens = Generator::default().generate(&app);
        syn::parse2::<syn::File>(tokens).expect("generated tokens are a Rust file");
    });
}

#[test]
fn settings_change_the_runtime_path_and_struct_name() {
    let source = Source::new(
        "raindrop.manifest",
        "application \"demo-app\" { kv_store \"demo-cache\" {} }",
    );
    let app = load(&source).expect("valid");
    let code = Generator::new(
        Settings::default()
            .runtime_path("::platform::kv")
            .env_name("Bindings"),
    )
    .generate_file(&app);
    assert!(code.contains("pub struct Bindings {"), "{code}");
    assert!(
        code.contains("pub DEMO_CACHE: ::platform::kv::KvStore,"),
        "{code}"
    );
    assert!(code.contains("runtime: &::platform::kv::Runtime"), "{code}");
    assert!(!code.contains("kv_runtime"), "{code}");
}

#[test]
fn invalid_settings_become_a_compile_error_not_a_panic() {
    let source = Source::new("m", "application \"a\" {}");
    let app = load(&source).expect("valid");
    let bad_path =
        Generator::new(Settings::default().runtime_path("not a path")).generate_file(&app);
    assert!(bad_path.contains("compile_error!"), "{bad_path}");
    let bad_name = Generator::new(Settings::default().env_name("fn")).generate_file(&app);
    assert!(bad_name.contains("compile_error!"), "{bad_name}");
}

#[test]
fn generated_files_cite_only_the_manifest_file_name() {
    let text = "application \"demo-app\" {\n  kv_store \"demo-cache\" {}\n}\n";
    let nested = load(&Source::new("apps/demo/raindrop.manifest", text)).expect("valid");
    let plain = load(&Source::new("raindrop.manifest", text)).expect("valid");
    assert_eq!(
        Generator::default().generate_file(&nested),
        Generator::default().generate_file(&plain)
    );
}

/// Found by `cargo fuzz run manifest`: a description with a lone carriage return (the
/// `\r` escape) became a `///` line with a bare CR, which neither syn nor rustc accept,
/// so `kv build generate` wrote a file that did not compile.
#[test]
fn descriptions_with_carriage_returns_generate_a_file_that_parses() {
    let text = "application \"a\" {\n  kv_store \"s\" {\n    description = \"one\\rtwo\\r\\nthree\\u0000\"\n  }\n}\n";
    let app = load(&Source::new("raindrop.manifest", text)).expect("valid");
    let code = Generator::default().generate_file(&app);
    syn::parse_file(&code).unwrap_or_else(|e| panic!("{e}:\n{code}"));
    assert!(
        code.contains("/// one\n") && code.contains("/// two\n"),
        "{code}"
    );
    assert!(code.contains("/// three"), "{code}");
}

/// A manifest whose file name holds a line break must not turn the rest of the name
/// into code in the `@generated` header or a doc comment.
#[test]
fn manifest_names_with_line_breaks_stay_in_comments() {
    let text = "application \"a\" {\n  kv_store \"s\" {}\n}\n";
    for name in ["apps/x\nfn evil() {}\n.manifest", "x\r.manifest"] {
        let app = load(&Source::new(name, text)).expect("valid");
        let code = Generator::default().generate_file(&app);
        let file = syn::parse_file(&code).unwrap_or_else(|e| panic!("{e}:\n{code}"));
        assert!(!code.contains("\nfn evil"), "{code}");
        assert_eq!(file.items.len(), 2, "{code}");
    }
}
