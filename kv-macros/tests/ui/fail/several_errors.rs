// Every problem is its own compile error.
kv_runtime::import_manifest!(inline = r#"application "demo-app" {
  kv_store "Demo" {}
  kv_store "cache" { description = 42 }
}"#);

fn main() {}
