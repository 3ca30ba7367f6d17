//! Reading: missing keys, key rules, value types, metadata, deletes.

use crate::ValueWithMetadata;
use bytes::Bytes;
use serde_json::json;

use super::{Harness, Target};

/// Reading a key that was never written gives `None` in every form.
pub async fn missing_key_is_none<T: Target>(t: T) {
    let h = Harness::new(t).await;
    assert_eq!(h.store.get("nope").text().await.unwrap(), None);
    assert_eq!(h.store.get("nope").bytes().await.unwrap(), None);
    assert_eq!(h.store.get("nope").json::<u32>().await.unwrap(), None);
    let got = h.store.get_with_metadata("nope").text().await.unwrap();
    assert_eq!(
        got,
        ValueWithMetadata {
            value: None,
            metadata: None,
            expiration: None,
            version: None,
            cache_status: None
        }
    );
}

/// Keys are case-sensitive, and `/` and other characters are ordinary.
pub async fn keys_are_case_sensitive_and_slash_is_ordinary<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("Key", "upper").await.unwrap();
    h.store.put("key", "lower").await.unwrap();
    h.store.put("a/b/../c", "slashes").await.unwrap();
    h.store.put("/", "root").await.unwrap();
    h.store.put("...", "dots").await.unwrap();
    assert_eq!(
        h.store.get("Key").text().await.unwrap().as_deref(),
        Some("upper")
    );
    assert_eq!(
        h.store.get("key").text().await.unwrap().as_deref(),
        Some("lower")
    );
    assert_eq!(h.store.get("KEY").text().await.unwrap(), None);
    assert_eq!(
        h.store.get("a/b/../c").text().await.unwrap().as_deref(),
        Some("slashes")
    );
    assert_eq!(h.store.get("a/c").text().await.unwrap(), None);
    assert_eq!(
        h.store.get("/").text().await.unwrap().as_deref(),
        Some("root")
    );
    assert_eq!(
        h.store.get("...").text().await.unwrap().as_deref(),
        Some("dots")
    );
}

/// A key of exactly 512 bytes of multi-byte UTF-8 is accepted.
pub async fn unicode_key_of_exactly_512_bytes<T: Target>(t: T) {
    let h = Harness::new(t).await;
    // "€" is 3 bytes: 170 of them plus "ab" is 512 bytes but only 172 chars.
    let key = format!("{}ab", "€".repeat(170));
    assert_eq!(key.len(), 512);
    h.store.put(key.clone(), "v").await.unwrap();
    assert_eq!(
        h.store.get(key.clone()).text().await.unwrap().as_deref(),
        Some("v")
    );
    let page = h.store.list().await.unwrap();
    assert_eq!(page.keys[0].name, key);
    h.store.delete(key.clone()).await.unwrap();
    assert_eq!(h.store.get(key).text().await.unwrap(), None);
}

/// `text()` of a value that is not UTF-8 is an error; `bytes()` reads it.
pub async fn text_of_binary_value_is_an_error<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("bin", vec![0xff, 0xfe]).await.unwrap();
    super::assert_error(
        h.store.get("bin").text().await,
        "value is not valid UTF-8 text (read it with bytes() instead)",
    );
    assert_eq!(
        h.store.get("bin").bytes().await.unwrap(),
        Some(Bytes::from_static(&[0xff, 0xfe]))
    );
}

/// `json()` of a value that is not JSON of the type asked for is an error.
pub async fn json_of_non_json_value_is_an_error<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("text", "not json").await.unwrap();
    let err = h
        .store
        .get("text")
        .json::<serde_json::Value>()
        .await
        .unwrap_err();
    assert!(matches!(err, crate::Error::Json(_)));
    assert!(
        err.to_string()
            .starts_with("value is not valid JSON for the requested type"),
        "{err}"
    );
    h.store.put("num", "42").await.unwrap();
    assert!(
        h.store.get("num").json::<String>().await.is_err(),
        "wrong type is an error too"
    );
    assert_eq!(h.store.get("num").json::<u32>().await.unwrap(), Some(42));
}

/// `get_with_metadata` returns value, metadata and expiration, and `None`s for a missing key.
pub async fn get_with_metadata_shapes<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store
        .put("file:456", vec![1, 2, 3])
        .metadata(json!({"contentType": "image/png"}))
        .await
        .unwrap();
    h.store.put("plain", "{\"a\":1}").await.unwrap();
    let r = h.store.get_with_metadata("file:456").bytes().await.unwrap();
    assert_eq!(r.value, Some(Bytes::from_static(&[1, 2, 3])));
    assert_eq!(r.metadata, Some(json!({"contentType": "image/png"})));
    assert_eq!(r.cache_status, None);
    let r = h
        .store
        .get_with_metadata("plain")
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(r.value, Some(json!({"a": 1})));
    assert_eq!(r.metadata, None);
}

/// Deleting a missing key succeeds, and a deleted key reads as `None`.
pub async fn delete_is_idempotent<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("k", "v").await.unwrap();
    h.store.delete("k").await.unwrap();
    h.store.delete("k").await.unwrap();
    h.store.delete("never-existed").await.unwrap();
    assert_eq!(h.store.get("k").text().await.unwrap(), None);
    assert!(h.store.list().await.unwrap().keys.is_empty());
}

/// Two handles to one store see each other's writes.
pub async fn handles_share_data<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let other = h.rt.store("s").unwrap();
    h.store.put("k", "v").await.unwrap();
    assert_eq!(other.get("k").text().await.unwrap().as_deref(), Some("v"));
    let clone = other.clone();
    let task = tokio::spawn(async move { clone.put("from-task", "t").await });
    task.await.unwrap().unwrap();
    assert_eq!(
        h.store.get("from-task").text().await.unwrap().as_deref(),
        Some("t")
    );
    // Other stores of the same runtime are separate namespaces.
    let elsewhere = h.rt.store("elsewhere").unwrap();
    assert_eq!(elsewhere.get("k").text().await.unwrap(), None);
    assert_eq!(h.rt.open_stores(), ["elsewhere", "s"]);
    super::assert_error(
        h.rt.store("Bad Name"),
        "invalid store name \"Bad Name\": use lowercase letters, digits, `-` and `_`, starting with a letter, at most 128 bytes",
    );
}

/// `get_with_metadata(..).head()` reports metadata, expiration and version without
/// reading the value, for small and chunked values alike; a missing or expired key
/// gives `None`s.
pub async fn head_reads_without_the_value<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let v = h
        .store
        .put("big", vec![1u8; 700 * 1024])
        .metadata(json!({"kind": "blob"}))
        .expiration_ttl(60)
        .await
        .unwrap();
    let head = h.store.get_with_metadata("big").head().await.unwrap();
    assert_eq!(head.value, Some(()));
    assert_eq!(head.metadata, Some(json!({"kind": "blob"})));
    assert_eq!(head.expiration, Some(super::T0 + 60));
    assert_eq!(head.version, Some(v));
    let missing = h.store.get_with_metadata("nope").head().await.unwrap();
    assert_eq!((missing.value, missing.version), (None, None));
    h.advance(60);
    let expired = h.store.get_with_metadata("big").head().await.unwrap();
    assert_eq!((expired.value, expired.metadata), (None, None));
}
