//! Versions and compare-and-set: `if_version`, `if_absent`, conditional deletes and
//! batches, and `update` under contention.

use std::collections::HashSet;

use serde_json::json;

use super::{Harness, T0, Target, assert_error};
use crate::{Body, BulkPut, Bytes, Error, Json, Version};

async fn version_of(h: &Harness, key: &str) -> Option<Version> {
    h.store
        .get_with_metadata(key)
        .bytes()
        .await
        .unwrap()
        .version
}

/// Every write gives the key a new version, which reads report; a version is never
/// issued twice in a store, across keys or after a delete and re-create.
pub async fn versions_change_on_every_write_and_never_repeat<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let mut seen = HashSet::new();
    for key in ["a", "b", "a", "c", "a"] {
        let v = h.store.put(key, "x").await.unwrap();
        assert!(seen.insert(v), "version {v} issued twice");
        assert_eq!(
            version_of(&h, key).await,
            Some(v),
            "reads report the put's version"
        );
    }
    h.store.delete("a").await.unwrap();
    assert_eq!(version_of(&h, "a").await, None);
    let recreated = h.store.put("a", "x").await.unwrap();
    assert!(
        seen.insert(recreated),
        "a re-created key gets a new version"
    );
    let touched = h.store.touch("a").expiration_ttl(600).await.unwrap();
    assert!(touched);
    let after_touch = version_of(&h, "a").await.unwrap();
    assert!(seen.insert(after_touch), "a touch is a write: new version");
    let batch = h.store.put_many([("b", "1"), ("d", "2")]).await.unwrap();
    for v in batch {
        assert!(seen.insert(v), "bulk versions are new too");
    }
    let parsed: Version = after_touch.to_string().parse().unwrap();
    assert_eq!(parsed, after_touch, "the string form round-trips");
}

/// `if_version` writes only when the key's current version is the one given; a
/// refused write changes nothing and names the current version.
pub async fn if_version_writes_only_on_match<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let v1 = h
        .store
        .put("hits", Json(&1))
        .metadata(json!({"m": 1}))
        .await
        .unwrap();
    let v2 = h.store.put("hits", Json(&2)).if_version(v1).await.unwrap();
    assert_ne!(v1, v2);
    let err = h
        .store
        .put("hits", Json(&3))
        .if_version(v1)
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(err.current_version(), Some(v2));
    assert_eq!(
        err.to_string(),
        format!("version mismatch on \"hits\": expected {v1}, the current version is {v2}")
    );
    let got = h
        .store
        .get_with_metadata("hits")
        .json::<u32>()
        .await
        .unwrap();
    assert_eq!(
        (got.value, got.version, got.metadata),
        (Some(2), Some(v2), None)
    );
    // A version taken from another key never matches.
    let other = h.store.put("other", "x").await.unwrap();
    let err = h
        .store
        .put("hits", "x")
        .if_version(other)
        .await
        .unwrap_err();
    assert!(err.is_conflict());
    // Nor does any version once the key is gone.
    h.store.delete("hits").await.unwrap();
    assert_error(
        h.store.put("hits", "x").if_version(v2).await,
        &format!("version mismatch on \"hits\": expected {v2}, but the key does not exist"),
    );
    assert_eq!(h.store.get("hits").text().await.unwrap(), None);
}

/// `if_absent` writes only when the key has no live record; an expired key counts as
/// absent.
pub async fn if_absent_only_when_absent<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let mine = h
        .store
        .put("lock:job-7", "me")
        .if_absent()
        .expiration_ttl(60)
        .await
        .unwrap();
    assert_error(
        h.store.put("lock:job-7", "you").if_absent().await,
        &format!("\"lock:job-7\" already exists (version {mine})"),
    );
    assert_eq!(
        h.store.get("lock:job-7").text().await.unwrap().as_deref(),
        Some("me")
    );
    h.advance(60);
    let theirs = h.store.put("lock:job-7", "you").if_absent().await.unwrap();
    assert_ne!(theirs, mine);
    assert_eq!(
        h.store.get("lock:job-7").text().await.unwrap().as_deref(),
        Some("you")
    );
}

/// A delete with `if_version` removes the key only at that version; otherwise it is
/// refused and the key stays.
pub async fn delete_if_version<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let v1 = h.store.put("k", "one").await.unwrap();
    let v2 = h.store.put("k", "two").await.unwrap();
    let err = h.store.delete("k").if_version(v1).await.unwrap_err();
    assert!(err.is_conflict());
    assert_eq!(
        h.store.get("k").text().await.unwrap().as_deref(),
        Some("two")
    );
    h.store.delete("k").if_version(v2).await.unwrap();
    assert_eq!(h.store.get("k").text().await.unwrap(), None);
    let err = h.store.delete("k").if_version(v2).await.unwrap_err();
    assert!(
        err.is_conflict(),
        "a conditional delete of a missing key is refused"
    );
    h.store.delete("k").await.unwrap();
}

/// A refused conditional put of a large, streamed value leaves the old value whole.
pub async fn refused_streamed_put_keeps_old_value<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let old = vec![7u8; 600 * 1024];
    let v = h.store.put("big", old.clone()).await.unwrap();
    let chunks = futures_util::stream::iter(
        (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![9u8; 300 * 1024]))),
    );
    let err = h
        .store
        .put("big", Body::from_stream(chunks))
        .if_absent()
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    let got = h.store.get_with_metadata("big").bytes().await.unwrap();
    assert_eq!(got.version, Some(v));
    assert_eq!(got.value.as_deref(), Some(&old[..]));
}

/// In `put_many`, one item whose condition fails refuses the whole batch, naming it;
/// when every condition holds, every item is written.
pub async fn bulk_conditions_are_all_or_nothing<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let va = h.store.put("a", "1").await.unwrap();
    let vb = h.store.put("b", "1").await.unwrap();
    let err = h
        .store
        .put_many([
            BulkPut::new("a", "2").if_version(va),
            BulkPut::new("new", "2").if_absent(),
            BulkPut::new("b", "2").if_version(va),
        ])
        .await
        .unwrap_err();
    if !h.atomic_batches() {
        // A backend whose batches are atomic only per shard refuses conditional
        // batches that span shards before writing anything, and says so.
        assert!(
            !err.is_conflict() || matches!(err, Error::BulkItem { .. }),
            "{err}"
        );
    } else {
        assert!(err.is_conflict(), "{err:?}");
        assert!(
            matches!(&err, Error::BulkItem { index: 2, key, .. } if key == "b"),
            "the refusal names the item: {err}"
        );
    }
    assert_eq!(h.store.get("a").text().await.unwrap().as_deref(), Some("1"));
    assert_eq!(h.store.get("new").text().await.unwrap(), None);
    assert_eq!(version_of(&h, "b").await, Some(vb));
    if h.atomic_batches() {
        let written = h
            .store
            .put_many([
                BulkPut::new("a", "2").if_version(va),
                BulkPut::new("b", "2").if_version(vb),
                BulkPut::new("new", "2").if_absent(),
            ])
            .await
            .unwrap();
        assert_eq!(written.len(), 3);
        assert_eq!(version_of(&h, "new").await, Some(written[2]));
    }
}

/// `update` applies the closure and writes its result, keeping metadata and
/// expiration; `None` deletes; a value that is not JSON of the type is an error.
pub async fn update_applies_keeps_and_deletes<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let first = h
        .store
        .update("n", |n: Option<u64>| Some(n.unwrap_or(0) + 1))
        .await
        .unwrap();
    assert_eq!(first, Some(1));
    h.store
        .put("n", Json(&41))
        .metadata(json!({"unit": "hits"}))
        .expiration(T0 + 600)
        .await
        .unwrap();
    let got = h
        .store
        .update("n", |n: Option<u64>| n.map(|n| n + 1))
        .await
        .unwrap();
    assert_eq!(got, Some(42));
    let read = h.store.get_with_metadata("n").json::<u64>().await.unwrap();
    assert_eq!(read.value, Some(42));
    assert_eq!(read.metadata, Some(json!({"unit": "hits"})));
    assert_eq!(read.expiration, Some(T0 + 600));
    let ttl = h
        .store
        .update("n", |n: Option<u64>| n.map(|n| n + 1))
        .expiration_ttl(60)
        .await
        .unwrap();
    assert_eq!(ttl, Some(43));
    assert_eq!(
        h.store
            .get_with_metadata("n")
            .bytes()
            .await
            .unwrap()
            .expiration,
        Some(T0 + 60)
    );
    assert_eq!(
        h.store.update("n", |_: Option<u64>| None).await.unwrap(),
        None
    );
    assert_eq!(h.store.get("n").text().await.unwrap(), None);
    h.store.put("text", "not json").await.unwrap();
    let err = h
        .store
        .update("text", |n: Option<u64>| n)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Json(_)), "{err:?}");
    let bytes = h
        .store
        .update_bytes("text", |b| b.map(|b| Bytes::from([&b[..], b"!"].concat())))
        .await
        .unwrap();
    assert_eq!(bytes.as_deref(), Some(&b"not json!"[..]));
}

/// Fifty tasks incrementing one counter a hundred times each through `update` end at
/// exactly 5,000: no update is lost.
pub async fn concurrent_updates_lose_nothing<T: Target>(t: T) {
    let h = Harness::new(t).await;
    increment_concurrently(&h.store, 50, 100).await;
    assert_eq!(
        h.store.get("hits").json::<u64>().await.unwrap(),
        Some(5_000)
    );
}

/// Two runtimes on one shared store (as two processes would be) incrementing one
/// counter end at exactly the sum. Skipped for targets that are not shared.
pub async fn updates_across_runtimes_lose_nothing<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let Some(other) = h.second_runtime().await else {
        return;
    };
    let other = other.store("s").unwrap();
    let here = increment_concurrently(&h.store, 10, 50);
    let there = increment_concurrently(&other, 10, 50);
    futures_util::future::join(here, there).await;
    assert_eq!(
        h.store.get("hits").json::<u64>().await.unwrap(),
        Some(1_000)
    );
    assert_eq!(other.get("hits").json::<u64>().await.unwrap(), Some(1_000));
}

async fn increment_concurrently(store: &crate::KvStore, tasks: usize, each: usize) {
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..each {
                    store
                        .update("hits", |n: Option<u64>| Some(n.unwrap_or(0) + 1))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
}
