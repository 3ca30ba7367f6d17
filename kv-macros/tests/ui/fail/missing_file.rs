kv_runtime::import_manifest!("does-not-exist.manifest");

fn main() {}
