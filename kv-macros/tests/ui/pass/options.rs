#![deny(warnings)]

// `runtime` names the runtime crate (for crates that re-export it), `env` the struct.
mod platform {
    pub use kv_runtime as kv;
}

kv_runtime::import_manifest!(
    inline = r#"application "demo-app" { kv_store "demo-cache" {} }"#,
    runtime = crate::platform::kv,
    env = Bindings,
);

fn main() {
    let bindings = Bindings::in_memory();
    let _: &platform::kv::KvStore = &bindings.DEMO_CACHE;
}
