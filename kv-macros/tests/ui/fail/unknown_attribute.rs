kv_runtime::import_manifest!(inline = r#"application "demo-app" {
  kv_store "demo-cache" {
    ttl = 60
  }
}"#);

fn main() {}
