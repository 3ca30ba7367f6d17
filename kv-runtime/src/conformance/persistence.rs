//! What survives a restart.

use serde_json::json;

use super::{Harness, T0, Target};

/// Handles outlive their runtime, and a persistent backend keeps data across a reopen.
pub async fn handles_after_runtime_reopen<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store
        .put("k", "v")
        .metadata(json!({"m": true}))
        .expiration(T0 + 3600)
        .await
        .unwrap();
    let store = h.store.clone();
    let h = h.close_runtime();
    // Handles keep their store open after the runtime that made them is dropped.
    assert_eq!(store.get("k").text().await.unwrap().as_deref(), Some("v"));
    drop(store);
    if !h.persistent() {
        return;
    }
    let rt = h.reopen().await;
    let store = rt.store("s").unwrap();
    let got = store.get_with_metadata("k").text().await.unwrap();
    assert_eq!(got.value.as_deref(), Some("v"));
    assert_eq!(got.metadata, Some(json!({"m": true})));
    assert_eq!(
        store.list().await.unwrap().keys[0].expiration,
        Some(T0 + 3600)
    );
}
