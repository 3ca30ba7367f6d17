//! `watch`: following changes, in order, with an explicit lag marker.

use std::time::Duration;

use futures_util::StreamExt as _;

use super::{Harness, T0, Target};
use crate::{BulkPut, Change, Version, WatchStream};

/// The next change, waiting at most ten seconds (changes from a server backend
/// arrive over the network).
async fn next(changes: &mut WatchStream) -> Change {
    tokio::time::timeout(Duration::from_secs(10), changes.next())
        .await
        .expect("no change arrived within 10 s")
        .expect("the watch stream ended")
        .expect("the watch stream failed")
}

fn put(key: &str, version: Version, expiration: Option<u64>) -> Change {
    Change::put(key, version, expiration)
}

/// A watcher sees every put, touch and delete made after it subscribed, in order,
/// with the versions the writes returned.
pub async fn watch_sees_writes_in_order<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("before", "v").await.unwrap();
    let mut changes = h.store.watch().await.unwrap();
    let v1 = h.store.put("k", "1").await.unwrap();
    let v2 = h.store.put("k", "2").expiration(T0 + 600).await.unwrap();
    assert!(h.store.touch("k").persist().await.unwrap());
    let v3 = h
        .store
        .get_with_metadata("k")
        .text()
        .await
        .unwrap()
        .version
        .unwrap();
    h.store.delete("k").await.unwrap();
    h.store.delete("never-existed").await.unwrap();
    let v4 = h.store.put("after", "v").await.unwrap();
    assert_eq!(next(&mut changes).await, put("k", v1, None));
    assert_eq!(next(&mut changes).await, put("k", v2, Some(T0 + 600)));
    assert_eq!(next(&mut changes).await, put("k", v3, None));
    assert_eq!(next(&mut changes).await, Change::delete("k"));
    assert_eq!(
        next(&mut changes).await,
        put("after", v4, None),
        "a delete of a missing key changes nothing, so no change is sent"
    );
}

/// A watcher of a prefix sees only changes to keys under it.
pub async fn watch_filters_by_prefix<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let mut room = h.store.watch().prefix("room:1:").await.unwrap();
    h.store.put("room:2:msg", "elsewhere").await.unwrap();
    h.store.put("room:1", "not under the prefix").await.unwrap();
    let v = h.store.put("room:1:msg", "hello").await.unwrap();
    assert_eq!(next(&mut room).await, put("room:1:msg", v, None));
}

/// Bulk writes report each item; the purge reports each expired key it removes.
pub async fn watch_sees_bulk_writes_and_purge<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let mut changes = h.store.watch().await.unwrap();
    let versions = h
        .store
        .put_many([
            BulkPut::new("a", "1").expiration_ttl(60),
            BulkPut::new("b", "2"),
        ])
        .await
        .unwrap();
    let mut got = vec![next(&mut changes).await, next(&mut changes).await];
    got.sort_by(|x, y| x.key().cmp(&y.key()));
    assert_eq!(
        got,
        [
            put("a", versions[0], Some(T0 + 60)),
            put("b", versions[1], None)
        ]
    );
    h.store.delete_many(["b", "missing"]).await.unwrap();
    assert_eq!(next(&mut changes).await, Change::delete("b"));
    h.advance(60);
    assert_eq!(h.store.purge_expired().await.unwrap(), 1);
    assert_eq!(next(&mut changes).await, Change::expired("a"));
}

/// A watcher that does not keep up gets a `Lagged` with the number of changes it
/// missed where they went missing, then the changes after; nothing is lost silently.
pub async fn watch_reports_lag<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let mut changes = h.store.watch().buffer(4).await.unwrap();
    for i in 0..20 {
        h.store.put(format!("k{i:02}"), "v").await.unwrap();
    }
    let last = h.store.put("last", "v").await.unwrap();
    let (mut seen, mut missed) = (0u64, 0u64);
    loop {
        match next(&mut changes).await {
            Change::Lagged {
                missed: Some(n), ..
            } => missed += n,
            Change::Lagged { missed: None, .. } => panic!("the count of missed changes is known"),
            Change::Put { key, version, .. } if key == "last" => {
                assert_eq!(version, last);
                seen += 1;
                break;
            }
            _ => seen += 1,
        }
        if seen + missed == 21 {
            // `last` itself was missed: the stream must still say so.
            break;
        }
    }
    assert!(
        missed > 0,
        "a watcher with room for 4 cannot take 21 changes unread"
    );
    assert_eq!(
        seen + missed,
        21,
        "every change is either delivered or counted"
    );
}

/// Changes made through a second runtime on the same shared store — another process —
/// reach this one's watchers. Skipped for targets that are not shared.
pub async fn watch_sees_other_runtimes<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let Some(other) = h.second_runtime().await else {
        return;
    };
    let other = other.store("s").unwrap();
    let mut changes = h.store.watch().prefix("room:").await.unwrap();
    let v = other.put("room:1", "from elsewhere").await.unwrap();
    assert_eq!(next(&mut changes).await, put("room:1", v, None));
    other.delete("room:1").await.unwrap();
    assert_eq!(next(&mut changes).await, Change::delete("room:1"));
}
