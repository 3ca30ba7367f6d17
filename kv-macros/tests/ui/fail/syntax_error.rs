kv_runtime::import_manifest!(inline = r#"application "demo-app" {
  kv_store demo-cache {}
}"#);

fn main() {}
