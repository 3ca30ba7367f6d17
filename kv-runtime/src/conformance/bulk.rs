//! Bulk reads and writes: counts, all-or-nothing validation, shapes.

use std::collections::HashMap;

use crate::{BulkPut, Error, ValueWithMetadata};
use serde_json::json;

use super::{Harness, T0, Target, assert_error};

/// `get_many` reads text, JSON and bytes, with `None` for missing keys.
pub async fn get_many_text_json_bytes<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("a", "1").await.unwrap();
    h.store.put("b", "[2]").await.unwrap();
    let keys = vec!["a".to_owned(), "b".to_owned(), "missing".to_owned()];
    let text = h.store.get_many(&keys).text().await.unwrap();
    assert_eq!(
        text,
        HashMap::from([
            ("a".to_owned(), Some("1".to_owned())),
            ("b".to_owned(), Some("[2]".to_owned())),
            ("missing".to_owned(), None),
        ])
    );
    let json = h
        .store
        .get_many(["a", "b"])
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(json["a"], Some(json!(1)));
    assert_eq!(json["b"], Some(json!([2])));
    let bytes = h.store.get_many(["a"]).bytes().await.unwrap();
    assert_eq!(bytes["a"].as_deref(), Some(&b"1"[..]));
}

/// `get_many` takes 1 to 100 keys.
pub async fn get_many_key_counts<T: Target>(t: T) {
    let h = Harness::new(t).await;
    assert_error(
        h.store.get_many(Vec::<String>::new()).text().await,
        "You must request a minimum of 1 key",
    );
    let keys: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
    assert_error(
        h.store.get_many(&keys).text().await,
        "You can request a maximum of 100 keys",
    );
    assert_eq!(
        h.store.get_many(&keys[..100]).text().await.unwrap().len(),
        100
    );
    assert_error(
        h.store.get_many(["ok", ""]).text().await,
        "item 1 (key \"\"): key name cannot be empty",
    );
}

/// One value that is not JSON fails the whole `get_many(..).json()`.
pub async fn get_many_json_fails_whole_call<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("good", "{}").await.unwrap();
    h.store.put("bad", "not json").await.unwrap();
    let err = h
        .store
        .get_many(["good", "bad"])
        .json::<serde_json::Value>()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::GetManyNotJson { key, .. } if key == "bad"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "At least one of the requested keys corresponds to a non-JSON value"
    );
}

/// `get_many_with_metadata` returns each value with its metadata.
pub async fn get_many_with_metadata_shapes<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store
        .put("a", "1")
        .metadata(json!({"m": "a"}))
        .await
        .unwrap();
    h.store.put("b", "2").await.unwrap();
    let got = h
        .store
        .get_many_with_metadata(["a", "b", "c"])
        .text()
        .await
        .unwrap();
    assert!(
        got["a"].version.is_some(),
        "a read of a live key carries its version"
    );
    assert_eq!(
        got["a"],
        ValueWithMetadata {
            value: Some("1".to_owned()),
            metadata: Some(json!({"m": "a"})),
            expiration: None,
            version: got["a"].version,
            cache_status: None
        }
    );
    assert_eq!(got["b"].metadata, None);
    assert_eq!(
        got["c"],
        ValueWithMetadata {
            value: None,
            metadata: None,
            expiration: None,
            version: None,
            cache_status: None
        }
    );
}

/// `put_many` writes every item with its expiration and metadata.
pub async fn put_many_writes_items_with_options<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store
        .put_many(vec![
            BulkPut::new("a", "1")
                .expiration_ttl(120)
                .metadata(json!({"n": 1})),
            BulkPut::new("b", vec![0u8, 1, 2]),
            BulkPut::new("dup", "first"),
            BulkPut::new("dup", "second"),
        ])
        .await
        .unwrap();
    h.store.put_many([("c", "3"), ("d", "4")]).await.unwrap();
    let page = h.store.list().await.unwrap();
    let names: Vec<_> = page.keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d", "dup"]);
    assert_eq!(page.keys[0].expiration, Some(T0 + 120));
    assert_eq!(page.keys[0].metadata, Some(json!({"n": 1})));
    assert_eq!(
        h.store.get("dup").text().await.unwrap().as_deref(),
        Some("second"),
        "the later item wins"
    );
    assert_eq!(h.store.get("d").text().await.unwrap().as_deref(), Some("4"));
}

/// One invalid item fails `put_many` whole, naming the item, and nothing is written.
pub async fn put_many_is_all_or_nothing<T: Target>(t: T) {
    let h = Harness::with(t, |c| c.max_value_size(10)).await;
    h.store.put("a", "old").await.unwrap();
    let before = h.dump().await;
    assert_error(
        h.store
            .put_many(vec![
                BulkPut::new("a", "new"),
                BulkPut::new("b", "2"),
                BulkPut::new("c", "3").expiration_ttl(10),
            ])
            .await,
        "item 2 (key \"c\"): Invalid expiration_ttl of 10. Expiration TTL must be at least 60.",
    );
    assert_error(
        h.store
            .put_many([("a", "new"), ("big", "0123456789X")])
            .await,
        "item 1 (key \"big\"): Value length of 11 exceeds limit of 10",
    );
    assert_error(
        h.store.put_many([("a", "new"), ("..", "x")]).await,
        "item 1 (key \"..\"): \"..\" is not allowed as a key name",
    );
    let too_many: Vec<(String, &str)> = (0..10_001).map(|i| (format!("k{i}"), "v")).collect();
    assert_error(
        h.store.put_many(too_many).await,
        "Bulk operation of 10001 items exceeds the limit of 10000",
    );
    assert_eq!(h.dump().await, before);
    let exactly: Vec<(String, &str)> = (0..10_000).map(|i| (format!("k{i:05}"), "v")).collect();
    h.store.put_many(exactly).await.unwrap();
    assert_eq!(h.store.list().await.unwrap().keys.len(), 1000);
    assert_eq!(
        h.store.get("k09999").text().await.unwrap().as_deref(),
        Some("v")
    );
}

/// `delete_many` removes every key, or none when one key is invalid.
pub async fn delete_many_is_all_or_nothing<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store
        .put_many([("a", "1"), ("b", "2"), ("c", "3")])
        .await
        .unwrap();
    let before = h.dump().await;
    assert_error(
        h.store.delete_many(["a", ""]).await,
        "item 1 (key \"\"): key name cannot be empty",
    );
    let too_many: Vec<String> = (0..10_001).map(|i| format!("k{i}")).collect();
    assert_error(
        h.store.delete_many(&too_many).await,
        "Bulk operation of 10001 items exceeds the limit of 10000",
    );
    assert_eq!(h.dump().await, before);
    h.store
        .delete_many(["a", "c", "never-existed"])
        .await
        .unwrap();
    let names: Vec<_> = h.dump().await.into_iter().map(|d| d.0).collect();
    assert_eq!(names, ["b"]);
}

/// A batch item overridden by a later item of the same key still has its condition
/// checked: `[("k", if_absent), ("k", ..)]` on a live `k` writes nothing, and two items
/// of one key whose conditions cannot both hold refuse the batch whatever `k` holds.
pub async fn overridden_items_keep_their_conditions<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let v1 = h.store.put("k", "1").await.unwrap();
    let err = h
        .store
        .put_many([BulkPut::new("k", "2").if_absent(), BulkPut::new("k", "3")])
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert!(
        matches!(&err, Error::BulkItem { index: 0, key, .. } if key == "k"),
        "the refusal names the item with the condition: {err}"
    );
    assert_eq!(err.current_version(), Some(v1));
    let err = h
        .store
        .put_many([
            BulkPut::new("new", "2").if_version(v1),
            BulkPut::new("new", "3"),
        ])
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    for (first, second) in [
        (
            BulkPut::new("k", "2").if_absent(),
            BulkPut::new("k", "3").if_version(v1),
        ),
        (
            BulkPut::new("k", "2").if_version(v1),
            BulkPut::new("k", "3").if_absent(),
        ),
    ] {
        let err = h.store.put_many([first, second]).await.unwrap_err();
        assert!(err.is_conflict(), "{err:?}");
        assert!(
            matches!(&err, Error::BulkItem { key, .. } if key == "k"),
            "{err}"
        );
    }
    assert_eq!(h.store.get("k").text().await.unwrap().as_deref(), Some("1"));
    assert_eq!(h.store.get("new").text().await.unwrap(), None);
    let r = h.store.get_with_metadata("k").bytes().await.unwrap();
    assert_eq!(r.version, Some(v1), "nothing was written");
    // Conditions that agree are one condition: the later item is written.
    let written = h
        .store
        .put_many([
            BulkPut::new("k", "2").if_version(v1),
            BulkPut::new("k", "3").if_version(v1),
        ])
        .await
        .unwrap();
    assert_eq!(written[0], written[1]);
    assert_eq!(h.store.get("k").text().await.unwrap().as_deref(), Some("3"));
    if h.atomic_batches() {
        // Both conditions fail: the refusal names the first item that carried one,
        // though its key is written by a later item.
        let err = h
            .store
            .put_many([
                BulkPut::new("k", "4").if_absent(),
                BulkPut::new("other", "4").if_version(v1),
                BulkPut::new("k", "5"),
            ])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::BulkItem { index: 0, key, .. } if key == "k"),
            "{err}"
        );
    }
}
