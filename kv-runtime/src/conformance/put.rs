//! Writing values of every kind, and what a put replaces.

use crate::Json;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Harness, T0, Target};

/// Text written is read back as text, and a second put replaces it.
pub async fn text_round_trip<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("user:123", "John Doe").await.unwrap();
    assert_eq!(
        h.store.get("user:123").text().await.unwrap().as_deref(),
        Some("John Doe")
    );
    h.store
        .put("user:123", String::from("Jane Roe"))
        .await
        .unwrap();
    assert_eq!(
        h.store.get("user:123").text().await.unwrap().as_deref(),
        Some("Jane Roe")
    );
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Session {
    user: String,
    roles: Vec<String>,
}

/// Every kind of value (bytes, slices, arrays, text, JSON) reads back as written.
pub async fn all_value_types_round_trip<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let s = &h.store;
    s.put("vec", vec![1u8, 2, 3]).await.unwrap();
    s.put("bytes", Bytes::from_static(b"\x00bytes"))
        .await
        .unwrap();
    s.put("slice", &b"slice"[..]).await.unwrap();
    s.put("array", b"array").await.unwrap();
    let session = Session {
        user: "123".into(),
        roles: vec!["admin".into()],
    };
    s.put("json", Json(&session)).await.unwrap();

    assert_eq!(
        s.get("vec").bytes().await.unwrap().unwrap(),
        Bytes::from_static(&[1, 2, 3])
    );
    assert_eq!(
        s.get("bytes").bytes().await.unwrap().unwrap(),
        Bytes::from_static(b"\x00bytes")
    );
    assert_eq!(
        s.get("slice").text().await.unwrap().as_deref(),
        Some("slice")
    );
    assert_eq!(
        s.get("array").text().await.unwrap().as_deref(),
        Some("array")
    );
    assert_eq!(
        s.get("json").json::<Session>().await.unwrap(),
        Some(session)
    );
    assert_eq!(
        s.get("json").text().await.unwrap().as_deref(),
        Some(r#"{"user":"123","roles":["admin"]}"#)
    );
}

/// The empty value is stored and read as a value, not as a missing key.
pub async fn empty_value_is_a_value<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("empty", "").await.unwrap();
    assert_eq!(
        h.store.get("empty").text().await.unwrap().as_deref(),
        Some("")
    );
    assert_eq!(
        h.store.get("empty").bytes().await.unwrap(),
        Some(Bytes::new())
    );
    let page = h.store.list().await.unwrap();
    assert_eq!(page.keys.len(), 1);
}

/// Bytes that are not UTF-8 round-trip exactly.
pub async fn binary_bytes_round_trip<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let all: Vec<u8> = (0..=255).collect();
    h.store.put("bin", all.clone()).await.unwrap();
    assert_eq!(
        h.store.get("bin").bytes().await.unwrap().unwrap().as_ref(),
        all.as_slice()
    );
}

/// A put replaces value, expiration and metadata together; a put without metadata removes it.
pub async fn put_replaces_value_expiration_and_metadata<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store
        .put("k", "first")
        .expiration_ttl(120)
        .metadata(json!({"v": 1}))
        .await
        .unwrap();
    let page = h.store.list().await.unwrap();
    assert_eq!(page.keys[0].expiration, Some(T0 + 120));
    assert_eq!(page.keys[0].metadata, Some(json!({"v": 1})));

    h.store.put("k", "second").await.unwrap();
    let got = h.store.get_with_metadata("k").text().await.unwrap();
    assert_eq!(got.value.as_deref(), Some("second"));
    assert_eq!(
        got.metadata, None,
        "a put without metadata removes earlier metadata"
    );
    let page = h.store.list().await.unwrap();
    assert_eq!(
        page.keys[0].expiration, None,
        "a put without expiration removes it"
    );
    h.advance(1_000);
    assert_eq!(
        h.store.get("k").text().await.unwrap().as_deref(),
        Some("second")
    );
}

/// Metadata may be any JSON value, not only an object; JSON null means none.
pub async fn metadata_is_any_json<T: Target>(t: T) {
    let h = Harness::new(t).await;
    for (key, metadata) in [
        ("object", json!({"contentType": "image/png", "size": 1024})),
        ("string", json!("just a string")),
        ("number", json!(42)),
        ("array", json!([1, "two", {"three": 3}])),
        ("bool", json!(false)),
    ] {
        h.store.put(key, "v").metadata(&metadata).await.unwrap();
        let got = h.store.get_with_metadata(key).text().await.unwrap();
        assert_eq!(got.metadata, Some(metadata), "{key}");
    }
    h.store
        .put("null", "v")
        .metadata(json!(null))
        .await
        .unwrap();
    assert_eq!(
        h.store
            .get_with_metadata("null")
            .text()
            .await
            .unwrap()
            .metadata,
        None
    );
}

/// A value or metadata that fails to serialize is an error, and nothing is written.
pub async fn json_serialization_failure_writes_nothing<T: Target>(t: T) {
    use std::collections::HashMap;
    let h = Harness::new(t).await;
    h.store.put("k", "before").await.unwrap();
    let before = h.dump().await;
    // JSON object keys must be strings: a map keyed by tuples cannot serialize.
    let bad: HashMap<(u8, u8), u8> = HashMap::from([((1, 2), 3)]);
    let err = h.store.put("k", Json(&bad)).await.unwrap_err();
    assert!(matches!(err, crate::Error::Json(_)), "{err}");
    let err = h.store.put("k", "after").metadata(&bad).await.unwrap_err();
    assert!(matches!(err, crate::Error::Json(_)), "{err}");
    assert_eq!(h.dump().await, before);
}
