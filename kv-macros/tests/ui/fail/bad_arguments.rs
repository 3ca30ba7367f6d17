kv_runtime::import_manifest!(file = "raindrop.manifest");

kv_runtime::import_manifest!("/etc/raindrop.manifest");

fn main() {}
