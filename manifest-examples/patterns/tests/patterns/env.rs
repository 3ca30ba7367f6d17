//! The `Env` that `import_manifest!("raindrop.manifest")` generates.

use kv_runtime::KvStore;
use patterns::Env;

fn assert_env<T: Clone + Send + Sync + 'static>() {}

#[test]
fn env_has_one_field_per_store_of_the_manifest() {
    assert_env::<Env>();
    assert_eq!(Env::APPLICATION, "patterns");
    assert_eq!(Env::STORES, ["cache", "flags", "rate-limits", "config"]);

    let env = Env::in_memory();
    let Env {
        CACHE,
        FLAGS,
        RATE_LIMITS,
        CONFIG,
    } = &env;
    let stores: [&KvStore; 4] = [CACHE, FLAGS, RATE_LIMITS, CONFIG];
    let names: Vec<&str> = stores.iter().map(|s| s.name()).collect();
    assert_eq!(names, Env::STORES);
}

#[tokio::test]
async fn in_memory_env_works_and_its_stores_are_separate() {
    let env = Env::in_memory();
    env.CACHE.put("user:123", "John Doe").await.unwrap();
    assert_eq!(
        env.CACHE.get("user:123").text().await.unwrap().as_deref(),
        Some("John Doe")
    );
    assert_eq!(env.FLAGS.get("user:123").text().await.unwrap(), None);

    // A clone is a handle to the same stores.
    let clone = env.clone();
    clone.RATE_LIMITS.put("rate:x", "1").await.unwrap();
    assert_eq!(
        env.RATE_LIMITS
            .get("rate:x")
            .text()
            .await
            .unwrap()
            .as_deref(),
        Some("1")
    );
}
