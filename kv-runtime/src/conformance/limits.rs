//! Every validation rule: the right error, in Workers KV's words, and nothing written.

use serde_json::json;

use super::{Harness, Target, assert_error};

/// Runs `attempt` and asserts that it fails with `message` and leaves the store as it was.
macro_rules! rejects {
    ($h:expr, $attempt:expr, $message:expr) => {{
        let before = $h.dump().await;
        assert_error($attempt.await, $message);
        assert_eq!(
            $h.dump().await,
            before,
            "the store changed after a rejected request"
        );
    }};
}

async fn seeded<T: Target>(t: T) -> Harness {
    let h = Harness::with(t, |c| c.max_value_size(10)).await;
    h.store
        .put("existing", "old")
        .metadata(json!({"m": 1}))
        .await
        .unwrap();
    h
}

/// The empty key is refused with Workers KV's message, and nothing is written.
pub async fn empty_key_rejected<T: Target>(t: T) {
    let h = seeded(t).await;
    rejects!(h, h.store.put("", "v"), "key name cannot be empty");
}

/// `.` and `..` are refused as keys, and nothing is written.
pub async fn reserved_keys_rejected<T: Target>(t: T) {
    let h = seeded(t).await;
    rejects!(
        h,
        h.store.put(".", "v"),
        "\".\" is not allowed as a key name"
    );
    rejects!(
        h,
        h.store.put("..", "v"),
        "\"..\" is not allowed as a key name"
    );
}

/// A key over 512 bytes is refused, naming its length, and nothing is written.
pub async fn key_over_512_bytes_rejected<T: Target>(t: T) {
    let h = seeded(t).await;
    // 171 three-byte characters: 513 bytes, 171 chars.
    let key = "€".repeat(171);
    rejects!(
        h,
        h.store.put(key, "v"),
        "UTF-8 encoded length of 513 exceeds key length limit of 512"
    );
}

/// A value over `max_value_size` is refused, naming both sizes, and nothing is written.
pub async fn value_over_limit_rejected<T: Target>(t: T) {
    let h = seeded(t).await;
    h.store.put("exact", "0123456789").await.unwrap();
    rejects!(
        h,
        h.store.put("existing", "0123456789A"),
        "Value length of 11 exceeds limit of 10"
    );
    assert_eq!(
        h.store.get("existing").text().await.unwrap().as_deref(),
        Some("old")
    );
}

/// Metadata over 1024 bytes is refused, naming its size, and nothing is written.
pub async fn metadata_over_1024_bytes_rejected<T: Target>(t: T) {
    let h = seeded(t).await;
    // A JSON string's serialized form includes its two quotes.
    let exact = "x".repeat(1022);
    h.store.put("exact", "v").metadata(&exact).await.unwrap();
    let over = "x".repeat(1023);
    rejects!(
        h,
        h.store.put("existing", "new").metadata(&over),
        "Metadata length of 1025 exceeds limit of 1024"
    );
}

/// A list limit of 0 or over 1000 is refused with Workers KV's message.
pub async fn list_limit_out_of_range_rejected<T: Target>(t: T) {
    let h = seeded(t).await;
    assert_error(
        h.store.list().limit(0).await,
        "Invalid key_count_limit of 0. Please specify an integer between 1 and 1000.",
    );
    assert_error(
        h.store.list().limit(1001).await,
        "Invalid key_count_limit of 1001. Please specify an integer between 1 and 1000.",
    );
    assert_eq!(h.store.list().limit(1000).await.unwrap().keys.len(), 1);
}

/// Invalid keys are refused on reads and deletes too.
pub async fn invalid_key_on_read_and_delete_rejected<T: Target>(t: T) {
    let h = seeded(t).await;
    assert_error(h.store.get("").text().await, "key name cannot be empty");
    assert_error(
        h.store.get_with_metadata(".").bytes().await,
        "\".\" is not allowed as a key name",
    );
    rejects!(
        h,
        h.store.delete("k".repeat(600)),
        "UTF-8 encoded length of 600 exceeds key length limit of 512"
    );
}
