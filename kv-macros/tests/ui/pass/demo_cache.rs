#![deny(warnings)]

kv_runtime::import_manifest!(inline = r#"
application "demo-app" {
  service "api" {}
  actor "session-keeper" {}
  kv_store "demo-cache" {}
}
"#);

fn assert_env<T: Clone + Send + Sync + 'static>() {}

async fn remember(env: &Env) -> kv_runtime::Result<kv_runtime::Version> {
    env.DEMO_CACHE.put("user:123", "John Doe").await
}

fn main() {
    assert_env::<Env>();
    let env = Env::in_memory();
    let store: &kv_runtime::KvStore = &env.DEMO_CACHE;
    let _ = store.clone();
    let _future = remember(&env);
    assert_eq!(Env::APPLICATION, "demo-app");
    assert_eq!(Env::STORES, ["demo-cache"]);
    let opened: kv_runtime::Result<Env> = Env::open(&kv_runtime::Runtime::in_memory());
    let _ = opened;
}
