//! Listing: order, prefixes, pagination and cursors.

use crate::{Error, ListResult};
use serde_json::json;

use super::{Harness, Target, assert_error};

fn names(page: &ListResult) -> Vec<&str> {
    page.keys.iter().map(|k| k.name.as_str()).collect()
}

async fn put_all(h: &Harness, keys: &[&str]) {
    for key in keys {
        h.store.put(*key, "v").await.unwrap();
    }
}

/// Listing is in byte order and matches the prefix literally.
pub async fn byte_order_and_literal_prefix<T: Target>(t: T) {
    let h = Harness::new(t).await;
    put_all(&h, &["b", "a", "B", "é", "a.*", "ab", "a/b", "z", "~"]).await;
    let page = h.store.list().await.unwrap();
    // Byte order: uppercase before lowercase, multi-byte UTF-8 after ASCII.
    assert_eq!(
        names(&page),
        ["B", "a", "a.*", "a/b", "ab", "b", "z", "~", "é"]
    );
    assert!(page.list_complete && page.cursor.is_none());
    let page = h.store.list().prefix("a.").await.unwrap();
    assert_eq!(names(&page), ["a.*"], "prefixes are literal, not patterns");
    let page = h.store.list().prefix("a").await.unwrap();
    assert_eq!(names(&page), ["a", "a.*", "a/b", "ab"]);
    let page = h.store.list().prefix("nothing").await.unwrap();
    assert!(page.keys.is_empty() && page.list_complete && page.cursor.is_none());
}

/// Three keys with limit 2 give a page of two with a cursor, then one, complete.
pub async fn three_keys_limit_two<T: Target>(t: T) {
    let h = Harness::new(t).await;
    put_all(&h, &["k1", "k2", "k3"]).await;
    let first = h.store.list().limit(2).await.unwrap();
    assert_eq!(names(&first), ["k1", "k2"]);
    assert!(!first.list_complete);
    let cursor = first
        .cursor
        .clone()
        .expect("an incomplete page has a cursor");
    let second = h.store.list().limit(2).cursor(cursor).await.unwrap();
    assert_eq!(names(&second), ["k3"]);
    assert!(second.list_complete);
    assert_eq!(second.cursor, None);
}

/// A page that ends exactly at the last key is complete, with no cursor.
pub async fn page_ending_at_last_key_is_complete<T: Target>(t: T) {
    let h = Harness::new(t).await;
    put_all(&h, &["k1", "k2", "k3", "k4"]).await;
    let first = h.store.list().limit(2).await.unwrap();
    let second = h
        .store
        .list()
        .limit(2)
        .cursor(first.cursor.unwrap())
        .await
        .unwrap();
    assert_eq!(names(&second), ["k3", "k4"]);
    assert!(
        second.list_complete,
        "a page that ends exactly at the last key is the last page"
    );
    assert_eq!(second.cursor, None);
}

/// Keys added behind a cursor are not revisited; keys added ahead are listed.
pub async fn keys_added_behind_and_ahead_of_cursor<T: Target>(t: T) {
    let h = Harness::new(t).await;
    put_all(&h, &["b", "d", "f"]).await;
    let first = h.store.list().limit(2).await.unwrap();
    assert_eq!(names(&first), ["b", "d"]);
    put_all(&h, &["a", "c", "e", "g"]).await;
    let second = h
        .store
        .list()
        .limit(10)
        .cursor(first.cursor.unwrap())
        .await
        .unwrap();
    assert_eq!(
        names(&second),
        ["e", "f", "g"],
        "behind the cursor: not revisited; ahead: returned"
    );
    assert!(second.list_complete);
}

/// The limit may change from one page to the next.
pub async fn limit_may_change_between_pages<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let keys: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    for key in &keys {
        h.store.put(key, "v").await.unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for limit in [1, 3, 2, 1000] {
        let page = h
            .store
            .list()
            .limit(limit)
            .cursor(cursor.clone())
            .await
            .unwrap();
        assert!(page.keys.len() <= limit);
        seen.extend(page.keys.iter().map(|k| k.name.clone()));
        match page.cursor {
            Some(next) => cursor = next,
            None => break,
        }
    }
    assert_eq!(seen, keys);
}

/// A cursor used with another prefix (or none) is refused.
pub async fn cursor_bound_to_prefix<T: Target>(t: T) {
    let h = Harness::new(t).await;
    put_all(&h, &["a1", "a2", "a3", "b1", "b2"]).await;
    let from_a = h
        .store
        .list()
        .prefix("a")
        .limit(1)
        .await
        .unwrap()
        .cursor
        .unwrap();
    assert_error(
        h.store.list().prefix("b").cursor(from_a.clone()).await,
        "cursor was not issued for this store and prefix",
    );
    assert!(matches!(
        h.store.list().cursor(from_a.clone()).await,
        Err(Error::InvalidCursor)
    ));
    let unprefixed = h.store.list().limit(1).await.unwrap().cursor.unwrap();
    assert!(matches!(
        h.store.list().prefix("a").cursor(unprefixed).await,
        Err(Error::InvalidCursor)
    ));
    // Another store of the same runtime did not issue it either.
    let other = h.rt.store("other").unwrap();
    assert!(matches!(
        other.list().prefix("a").cursor(from_a.clone()).await,
        Err(Error::InvalidCursor)
    ));
    // With its own prefix it works.
    let rest = h.store.list().prefix("a").cursor(from_a).await.unwrap();
    assert_eq!(names(&rest), ["a2", "a3"]);
}

/// A cursor that was never issued is refused as invalid.
pub async fn garbage_cursor_rejected<T: Target>(t: T) {
    let h = Harness::new(t).await;
    put_all(&h, &["a", "b"]).await;
    for bad in [
        "x",
        "not a cursor",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "////",
        "🙂",
    ] {
        assert!(
            matches!(h.store.list().cursor(bad).await, Err(Error::InvalidCursor)),
            "{bad}"
        );
    }
    // The empty cursor is the start, as Workers KV clients send it.
    assert_eq!(names(&h.store.list().cursor("").await.unwrap()), ["a", "b"]);
}

/// Expired keys are skipped without making pages shorter than the limit.
pub async fn expired_keys_do_not_shorten_pages<T: Target>(t: T) {
    let h = Harness::new(t).await;
    put_all(&h, &["a", "c", "e"]).await;
    h.store.put("b", "v").expiration_ttl(60).await.unwrap();
    h.store.put("d", "v").expiration_ttl(60).await.unwrap();
    h.store.put("f", "v").expiration_ttl(60).await.unwrap();
    h.advance(60);
    let first = h.store.list().limit(2).await.unwrap();
    assert_eq!(names(&first), ["a", "c"]);
    assert!(!first.list_complete);
    let second = h
        .store
        .list()
        .limit(2)
        .cursor(first.cursor.unwrap())
        .await
        .unwrap();
    assert_eq!(names(&second), ["e"]);
    assert!(second.list_complete, "only expired keys remain after e");
    assert_eq!(second.cursor, None);
}

/// A cursor resumes even when the key it points after was deleted.
pub async fn deleted_cursor_key_still_resumes<T: Target>(t: T) {
    let h = Harness::new(t).await;
    put_all(&h, &["a", "b", "c"]).await;
    let first = h.store.list().limit(2).await.unwrap();
    h.store.delete("b").await.unwrap();
    let second = h.store.list().cursor(first.cursor.unwrap()).await.unwrap();
    assert_eq!(names(&second), ["c"]);
}

/// Listed keys carry their metadata.
pub async fn metadata_in_listing<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store
        .put("with", "v")
        .metadata(json!({"contentType": "text/plain"}))
        .await
        .unwrap();
    h.store.put("without", "v").await.unwrap();
    let page = h.store.list().await.unwrap();
    assert_eq!(
        page.keys[0].metadata,
        Some(json!({"contentType": "text/plain"}))
    );
    assert_eq!(page.keys[1].metadata, None);
    // The Workers KV JSON shape: absent fields are omitted.
    assert_eq!(
        serde_json::to_value(&page).unwrap(),
        json!({"keys": [
            {"name": "with", "metadata": {"contentType": "text/plain"}},
            {"name": "without"}
        ], "list_complete": true})
    );
}
