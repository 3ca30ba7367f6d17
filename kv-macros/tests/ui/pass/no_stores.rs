#![deny(warnings)]

// An application without stores still gets an `Env`, and nothing in it warns, even
// though no constructor is called.
kv_runtime::import_manifest!(inline = r#"application "static-site" { service "web" {} }"#);

fn main() {
    assert!(Env::STORES.is_empty());
}
