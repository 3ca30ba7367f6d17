kv_runtime::import_manifest!(inline = r#"application "demo-app" {
  kv_store "demo-cache" {}
  kv_cache "demo_cache" {}
}"#);

fn main() {}
