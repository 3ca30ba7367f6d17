//! The read cache behind `cache_ttl`: hits, misses, expiry on the manual clock, invalidation.

use crate::CacheStatus::{Hit, Miss};
use crate::ValueWithMetadata;

use super::{Harness, Target, assert_error};

async fn cached(h: &Harness, key: &str) -> ValueWithMetadata<String> {
    h.store
        .get_with_metadata(key)
        .cache_ttl(60)
        .text()
        .await
        .unwrap()
}

/// With `cache_ttl`, a miss is followed by hits until the cache TTL passes.
pub async fn hit_after_miss_until_ttl<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("k", "v").await.unwrap();
    let first = cached(&h, "k").await;
    assert_eq!(
        (first.value.as_deref(), first.cache_status),
        (Some("v"), Some(Miss))
    );
    let second = cached(&h, "k").await;
    assert_eq!(
        (second.value.as_deref(), second.cache_status),
        (Some("v"), Some(Hit))
    );
    h.advance(59);
    assert_eq!(cached(&h, "k").await.cache_status, Some(Hit));
    h.advance(1);
    assert_eq!(
        cached(&h, "k").await.cache_status,
        Some(Miss),
        "entries live for their cache_ttl"
    );
    // Reads without a cache TTL neither use nor report the cache.
    let plain = h.store.get_with_metadata("k").text().await.unwrap();
    assert_eq!(plain.cache_status, None);
    assert_eq!(
        h.store
            .get("k")
            .cache_ttl(30)
            .text()
            .await
            .unwrap()
            .as_deref(),
        Some("v")
    );
}

/// A put or delete through the runtime clears the cached entry at once.
pub async fn writes_invalidate_at_once<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("k", "v1").await.unwrap();
    cached(&h, "k").await;
    assert_eq!(cached(&h, "k").await.cache_status, Some(Hit));
    h.store.put("k", "v2").await.unwrap();
    let after_put = cached(&h, "k").await;
    assert_eq!(
        (after_put.value.as_deref(), after_put.cache_status),
        (Some("v2"), Some(Miss))
    );
    // Another handle of the same runtime shares the cache and invalidates it too.
    let other = h.rt.store("s").unwrap();
    assert_eq!(cached(&h, "k").await.cache_status, Some(Hit));
    other.delete("k").await.unwrap();
    let after_delete = cached(&h, "k").await;
    assert_eq!(
        (after_delete.value, after_delete.cache_status),
        (None, Some(Miss))
    );
    h.store.put_many([("k", "v3")]).await.unwrap();
    assert_eq!(cached(&h, "k").await.value.as_deref(), Some("v3"));
    h.store.delete_many(["k"]).await.unwrap();
    assert_eq!(cached(&h, "k").await.value, None);
}

/// Misses are cached too, and a cached key still expires on time.
pub async fn misses_are_cached_and_expiry_still_applies<T: Target>(t: T) {
    let h = Harness::new(t).await;
    assert_eq!(cached(&h, "absent").await.cache_status, Some(Miss));
    let again = cached(&h, "absent").await;
    assert_eq!((again.value, again.cache_status), (None, Some(Hit)));
    h.store
        .put("session", "s")
        .expiration_ttl(60)
        .await
        .unwrap();
    let read = h
        .store
        .get_with_metadata("session")
        .cache_ttl(300)
        .text()
        .await
        .unwrap();
    assert_eq!(read.cache_status, Some(Miss));
    h.advance(60);
    let expired = h
        .store
        .get_with_metadata("session")
        .cache_ttl(300)
        .text()
        .await
        .unwrap();
    assert_eq!(
        (expired.value, expired.cache_status),
        (None, Some(Hit)),
        "a cached value still expires"
    );
}

/// A `cache_ttl` under 30 seconds is refused.
pub async fn cache_ttl_floor<T: Target>(t: T) {
    let h = Harness::new(t).await;
    assert_error(
        h.store.get("k").cache_ttl(29).text().await,
        "Invalid cache_ttl of 29. Cache TTL must be at least 30.",
    );
}

/// The store's stats count every operation by kind, and the read cache's hits and
/// misses; nothing fails in a healthy backend.
pub async fn stats_count_operations<T: Target>(t: T) {
    use crate::Operation;
    let h = Harness::new(t).await;
    let before = h.store.stats();
    h.store.put("k", "v").await.unwrap();
    cached(&h, "k").await;
    cached(&h, "k").await;
    h.store.get("missing").text().await.unwrap();
    h.store.list().await.unwrap();
    h.store.delete("k").await.unwrap();
    h.store.put_many([("a", "1"), ("b", "2")]).await.unwrap();
    h.store.count().await.unwrap();
    h.store.touch("a").expiration_ttl(600).await.unwrap();
    assert!(h.store.get("").text().await.is_err(), "an invalid key");
    let after = h.store.stats();
    let delta = |op| after.operation(op) - before.operation(op);
    assert_eq!(
        [
            Operation::Put,
            Operation::Get,
            Operation::List,
            Operation::Delete
        ]
        .map(delta),
        [1, 3, 1, 1],
        "an invalid key is refused before it reaches the store: {after:?}"
    );
    assert_eq!(
        [Operation::PutMany, Operation::Count, Operation::Touch].map(delta),
        [1, 1, 1]
    );
    assert_eq!(after.cache_hits - before.cache_hits, 1);
    assert_eq!(after.cache_misses - before.cache_misses, 1);
    assert_eq!(after.backend_errors, before.backend_errors);
}
