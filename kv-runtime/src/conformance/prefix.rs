//! Counting keys and deleting by prefix.

use super::{Harness, Target};

/// `count` counts live keys under a prefix matched literally; expired keys do not
/// count; the empty prefix counts everything.
pub async fn count_live_keys_by_prefix<T: Target>(t: T) {
    let h = Harness::new(t).await;
    for key in [
        "session:a",
        "session:b",
        "session_x",
        "sessions",
        "user:1",
        "a%b",
        "a_b",
    ] {
        h.store.put(key, "v").await.unwrap();
    }
    h.store
        .put("session:c", "v")
        .expiration_ttl(60)
        .await
        .unwrap();
    assert_eq!(h.store.count().prefix("session:").await.unwrap(), 3);
    assert_eq!(h.store.count().prefix("session").await.unwrap(), 5);
    assert_eq!(
        h.store.count().prefix("a%").await.unwrap(),
        1,
        "% is no wildcard"
    );
    assert_eq!(
        h.store.count().prefix("a_").await.unwrap(),
        1,
        "_ is no wildcard"
    );
    assert_eq!(h.store.count().prefix("zzz").await.unwrap(), 0);
    assert_eq!(h.store.count().await.unwrap(), 8);
    h.advance(60);
    assert_eq!(h.store.count().prefix("session:").await.unwrap(), 2);
    assert_eq!(h.store.count().await.unwrap(), 7);
}

/// `delete_prefix` removes exactly the keys under the prefix and says how many; the
/// empty prefix clears the store.
pub async fn delete_prefix_removes_exactly_the_prefix<T: Target>(t: T) {
    let h = Harness::new(t).await;
    for key in ["session:a", "session:b", "sessionx", "user:1", "a*b", "a*"] {
        h.store.put(key, "v").await.unwrap();
    }
    h.store
        .put("session:old", "v")
        .expiration_ttl(60)
        .await
        .unwrap();
    h.advance(60);
    assert_eq!(
        h.store.delete_prefix("session:").await.unwrap(),
        2,
        "expired keys are not counted"
    );
    let names: Vec<String> = h.dump().await.into_iter().map(|(k, ..)| k).collect();
    assert_eq!(names, ["a*", "a*b", "sessionx", "user:1"]);
    assert_eq!(
        h.store.delete_prefix("a*").await.unwrap(),
        2,
        "* is no wildcard"
    );
    assert_eq!(h.store.delete_prefix("nothing").await.unwrap(), 0);
    assert_eq!(h.store.delete_prefix("").await.unwrap(), 2);
    assert!(h.dump().await.is_empty());
}

/// `delete_prefix` goes through many pages of keys.
pub async fn delete_prefix_spans_many_pages<T: Target>(t: T) {
    let h = Harness::new(t).await;
    for batch in 0..3 {
        let items: Vec<(String, &str)> = (0..900)
            .map(|i| (format!("k:{batch}:{i:04}"), "v"))
            .collect();
        h.store.put_many(items).await.unwrap();
    }
    h.store.put("l:keep", "v").await.unwrap();
    assert_eq!(h.store.delete_prefix("k:").await.unwrap(), 2_700);
    assert_eq!(h.store.count().await.unwrap(), 1);
    assert_eq!(h.store.count().prefix("k:").await.unwrap(), 0);
}

/// A read cached with `cache_ttl` does not outlive a `delete_prefix` that removed
/// its key.
pub async fn delete_prefix_clears_cached_reads<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("c:1", "v").await.unwrap();
    let cached = h.store.get("c:1").cache_ttl(60).text().await.unwrap();
    assert_eq!(cached.as_deref(), Some("v"));
    h.store.delete_prefix("c:").await.unwrap();
    assert_eq!(h.store.get("c:1").cache_ttl(60).text().await.unwrap(), None);
}
