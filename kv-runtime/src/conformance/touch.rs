//! `touch`: changing only a key's expiration.

use serde_json::json;

use super::{Harness, T0, Target, assert_error};

/// A touch changes the expiration and the version, and keeps value and metadata.
pub async fn touch_changes_only_expiration<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let v = h
        .store
        .put("session:abc", "{\"user\":1}")
        .metadata(json!({"ip": "10.0.0.1"}))
        .expiration_ttl(60)
        .await
        .unwrap();
    assert!(
        h.store
            .touch("session:abc")
            .expiration_ttl(3600)
            .await
            .unwrap()
    );
    let got = h
        .store
        .get_with_metadata("session:abc")
        .text()
        .await
        .unwrap();
    assert_eq!(got.value.as_deref(), Some("{\"user\":1}"));
    assert_eq!(got.metadata, Some(json!({"ip": "10.0.0.1"})));
    assert_eq!(got.expiration, Some(T0 + 3600));
    assert_ne!(got.version, Some(v), "a touch is a write");
    let listed = h.store.list().await.unwrap();
    assert_eq!(listed.keys[0].expiration, Some(T0 + 3600));
    assert!(
        h.store
            .touch("session:abc")
            .expiration(T0 + 7200)
            .await
            .unwrap()
    );
    assert_eq!(
        h.store
            .get_with_metadata("session:abc")
            .text()
            .await
            .unwrap()
            .expiration,
        Some(T0 + 7200)
    );
}

/// A touch slides a key's life: touched before it expires, it outlives its first
/// expiration; `persist` removes the expiration altogether.
pub async fn touch_slides_and_persists<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("s", "v").expiration_ttl(60).await.unwrap();
    h.advance(50);
    assert!(h.store.touch("s").expiration_ttl(60).await.unwrap());
    h.advance(50);
    assert_eq!(h.store.get("s").text().await.unwrap().as_deref(), Some("v"));
    assert!(h.store.touch("s").persist().await.unwrap());
    h.advance(1_000_000);
    assert_eq!(h.store.get("s").text().await.unwrap().as_deref(), Some("v"));
    assert_eq!(h.store.list().await.unwrap().keys[0].expiration, None);
    // The purge finds nothing to remove: the old expiry was superseded.
    assert_eq!(h.store.purge_expired().await.unwrap(), 0);
}

/// A touch of a missing or expired key says `false` and writes nothing.
pub async fn touch_of_missing_or_expired_key_is_false<T: Target>(t: T) {
    let h = Harness::new(t).await;
    assert!(!h.store.touch("nope").expiration_ttl(60).await.unwrap());
    assert_eq!(h.store.get("nope").text().await.unwrap(), None);
    h.store.put("gone", "v").expiration_ttl(60).await.unwrap();
    h.advance(60);
    assert!(!h.store.touch("gone").persist().await.unwrap());
    assert_eq!(h.store.get("gone").text().await.unwrap(), None);
    assert!(h.store.list().await.unwrap().keys.is_empty());
}

/// A touch validates its expiration exactly as a put does, and a refused touch
/// changes nothing.
pub async fn touch_validates_like_put<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("k", "v").expiration_ttl(600).await.unwrap();
    assert_error(
        h.store.touch("k").expiration_ttl(30).await,
        "Invalid expiration_ttl of 30. Expiration TTL must be at least 60.",
    );
    assert_error(
        h.store.touch("k").expiration(T0 + 59).await,
        &format!(
            "Invalid expiration of {}. Expiration times must be at least 60 seconds in the future.",
            T0 + 59
        ),
    );
    assert_error(
        h.store.touch("").expiration_ttl(60).await,
        "key name cannot be empty",
    );
    assert_eq!(
        h.store
            .get_with_metadata("k")
            .text()
            .await
            .unwrap()
            .expiration,
        Some(T0 + 600)
    );
}
