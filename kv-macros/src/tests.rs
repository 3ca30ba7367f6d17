//! Unit tests of the expansion, run outside the compiler (proc-macro2's fallback).

use kv_build::{Generator, Source};
use quote::quote;

use crate::expand::{INLINE_NAME, import_manifest};

const MANIFEST: &str = "application \"demo-app\" {\n  kv_store \"demo-cache\" {}\n  kv_cache \"sessions\" { description = \"Users\" }\n}\n";

/// The macro emits the same code the CLI and build.rs write, apart from the header.
#[test]
fn expansion_equals_generate_file_without_header() {
    let expanded = import_manifest(quote!(inline = #MANIFEST)).expect("valid manifest");
    let file = syn::parse2::<syn::File>(expanded).expect("a Rust file");
    let app = kv_build::load(&Source::new(INLINE_NAME, MANIFEST)).expect("valid");
    let generated = Generator::default().generate_file(&app);
    let (header, body) = generated.split_once("\n\n").expect("a header");
    assert!(header.starts_with("// @generated"));
    assert_eq!(prettyplease::unparse(&file), body);
}

#[test]
fn options_reach_the_generator() {
    let expanded = import_manifest(quote!(inline = #MANIFEST, runtime = ::my::kv, env = AppEnv))
        .expect("valid manifest")
        .to_string();
    assert!(expanded.contains("pub struct AppEnv"), "{expanded}");
    assert!(expanded.contains(":: my :: kv :: KvStore"), "{expanded}");
}

#[test]
fn argument_errors() {
    let error = |tokens| match import_manifest(tokens) {
        Ok(_) => panic!("accepted"),
        Err(error) => error.to_string(),
    };
    assert!(error(quote!()).contains("expected the manifest's path"));
    assert!(error(quote!(file = "x")).contains("unknown argument `file`"));
    assert!(error(quote!(path = "a", inline = "b")).contains("either `path` or `inline`"));
    assert!(error(quote!(runtime = ::kv_runtime)).contains("expected `path"));
    assert!(error(quote!("/etc/raindrop.manifest")).contains("absolute paths"));
    assert!(error(quote!("a", runtime = ::x)).contains("`path = \"...\"` form"));
}

#[test]
fn each_diagnostic_is_one_error() {
    let manifest =
        "application \"demo-app\" {\n  kv_store \"A\" {}\n  kv_store \"b\" { ttl = 1 }\n}\n";
    let error = import_manifest(quote!(inline = #manifest)).expect_err("invalid");
    let messages: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), 2);
    assert!(
        messages[0].contains("[inline manifest:2:13]"),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].contains("help: known attributes"),
        "{}",
        messages[1]
    );
}
