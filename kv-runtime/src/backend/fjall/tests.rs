use std::path::Path;

use bytes::Bytes;
use futures_util::StreamExt as _;

use super::database::FjallDatabase;
use super::*;
use crate::backend::{NewRecord, Payload, Record, StoredValue};

/// Chunks in the store's blob keyspace (not counting markers and references).
fn chunks(store: &FjallBackend) -> usize {
    store.inner.blobs.prefix([codec::CHUNK_TAG]).count()
}

/// Blob references: one per key whose value is chunked.
fn references(store: &FjallBackend) -> usize {
    store.inner.blobs.prefix([codec::REFERENCE_TAG]).count()
}

/// A put of `value` under `key` with `expiration`, at time 0.
async fn put(store: &FjallBackend, key: &str, expiration: Option<u64>, value: Payload) {
    store
        .put(NewRecord::new(key, value).with_expiration(expiration), 0)
        .await
        .unwrap();
}

/// A 1 MiB block cache and fjall's default memtable.
const SMALL: DatabaseSettings = DatabaseSettings {
    block_cache_bytes: 1 << 20,
    memtable_bytes: DEFAULT_MEMTABLE_BYTES,
};

fn kib(n: usize) -> Payload {
    Payload::Bytes(Bytes::from(vec![7; n * 1024]))
}

async fn open(dir: &Path) -> FjallBackend {
    let db = FjallDatabase::open(dir, SMALL).await.unwrap();
    FjallBackend::open(&db, "s", Durability::Buffered).unwrap()
}

/// The purge removes expired records from the keyspace itself, not only from view,
/// and leaves alone keys that were rewritten after their old expiration was indexed.
#[tokio::test]
async fn purge_removes_expired_records_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for i in 0..500 {
        put(&store, &format!("ttl:{i:03}"), Some(1_000), kib(1)).await;
    }
    for i in 0..100 {
        put(&store, &format!("keep:{i:03}"), None, kib(1)).await;
    }
    // Rewritten without expiration: its stale index entry must not remove it.
    put(&store, "ttl:000", None, kib(1)).await;
    // Rewritten with a later expiration.
    put(&store, "ttl:001", Some(5_000), kib(1)).await;
    // A chunked value that expires takes its chunks with it.
    put(&store, "ttl:big", Some(1_000), kib(1024)).await;
    assert_eq!(store.inner.data.len().unwrap(), 601);
    assert_eq!(store.inner.expiry.len().unwrap(), 502);
    assert_eq!(chunks(&store), 4);

    assert_eq!(store.purge_expired(999).await.unwrap(), 0);
    assert_eq!(references(&store), 1);
    assert_eq!(store.purge_expired(1_000).await.unwrap(), 499);
    assert_eq!(references(&store), 0);
    assert_eq!(store.inner.data.len().unwrap(), 102);
    assert_eq!(store.inner.expiry.len().unwrap(), 1);
    assert_eq!(chunks(&store), 0);
    assert!(store.get("ttl:000").await.unwrap().is_some());
    assert!(store.get("ttl:001").await.unwrap().is_some());
    assert!(store.get("ttl:002").await.unwrap().is_none());

    assert_eq!(store.purge_expired(5_000).await.unwrap(), 1);
    assert_eq!(store.inner.data.len().unwrap(), 101);
    assert_eq!(store.inner.expiry.len().unwrap(), 0);
}

/// Replacing or deleting a chunked value removes all of its chunks.
#[tokio::test]
async fn replaced_and_deleted_blobs_leave_no_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    put(&store, "k", None, kib(1000)).await;
    assert_eq!(chunks(&store), 4); // 1000 KiB in 256 KiB chunks
    put(&store, "k", None, kib(300)).await;
    assert_eq!(chunks(&store), 2);
    assert_eq!(references(&store), 1);
    put(&store, "k", None, kib(1)).await;
    assert_eq!((chunks(&store), references(&store)), (0, 0));
    put(&store, "k", None, kib(600)).await;
    store.delete("k", Condition::Always, 0).await.unwrap();
    assert_eq!((chunks(&store), references(&store)), (0, 0));
    assert_eq!(store.inner.data.len().unwrap(), 0);
}

/// A put that a crash interrupts leaves chunks and a pending marker; the next open
/// of the store reclaims both, and new blob ids do not collide with old ones.
#[tokio::test]
async fn interrupted_put_is_reclaimed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path()).await;
        put(&store, "kept", None, kib(600)).await;
        let mut blob = store.inner.new_blob().unwrap();
        store
            .inner
            .write_chunk(&mut blob, Bytes::from(vec![1; CHUNK_BYTES]))
            .unwrap();
        store
            .inner
            .write_chunk(&mut blob, Bytes::from(vec![2; 10]))
            .unwrap();
        // The process dies here: nothing runs the blob's cleanup (which is what
        // marking it committed without committing its record amounts to).
        blob.committed = true;
        drop(blob);
        assert_eq!(chunks(&store), 3 + 2);
        assert_eq!(store.inner.blobs.prefix([codec::PENDING_TAG]).count(), 1);
    }
    let store = open(dir.path()).await;
    assert_eq!(
        chunks(&store),
        3,
        "only the committed value's chunks remain"
    );
    let Some(Record {
        value: StoredValue::Chunked {
            len,
            chunks: stream,
        },
        ..
    }) = store.get("kept").await.unwrap()
    else {
        panic!("expected a chunked value");
    };
    assert_eq!(len, 600 * 1024);
    let bytes = super::super::collect(stream, len).await.unwrap();
    assert!(bytes.iter().all(|b| *b == 7));
    let blob = store.inner.new_blob().unwrap();
    assert!(blob.id > 1, "blob ids continue after the one in use (1)");
    drop(blob);
    // After a reopen, replacing the chunked value still removes its chunks.
    put(&store, "kept", None, kib(1)).await;
    assert_eq!((chunks(&store), references(&store)), (0, 0));
}

/// A reader streaming a chunked value keeps reading the version it started with,
/// even when the value is replaced and its chunks removed meanwhile.
#[tokio::test]
async fn streaming_reader_sees_a_consistent_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    put(&store, "k", None, kib(1024)).await;
    let Some(Record {
        value: StoredValue::Chunked { len, chunks },
        ..
    }) = store.get("k").await.unwrap()
    else {
        panic!("expected a chunked value");
    };
    let replacement = Payload::Bytes(Bytes::from(vec![9; 2 * CHUNK_BYTES]));
    put(&store, "k", None, replacement).await;
    store.delete("k", Condition::Always, 0).await.unwrap();
    let bytes = super::super::collect(chunks, len).await.unwrap();
    assert_eq!(bytes.len(), 1024 * 1024);
    assert!(bytes.iter().all(|b| *b == 7));
}

fn failing(good: usize) -> Payload {
    let items = (0..good)
        .map(|_| Ok(Bytes::from(vec![1u8; 100_000])))
        .chain(std::iter::once(Err(Error::backend("test", "boom"))));
    Payload::Stream(futures_util::stream::iter(items.collect::<Vec<_>>()).boxed())
}

/// A stream that fails, or a put whose future is dropped mid-stream, leaves no chunks.
#[tokio::test]
async fn failed_and_cancelled_streams_leave_no_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    put(&store, "k", None, kib(600)).await;
    for good in [1, 3, 10] {
        let put = store.put(NewRecord::new("k", failing(good)), 0);
        assert!(put.await.is_err());
        assert_eq!(chunks(&store), 3, "only the old value's chunks");
    }
    let endless = futures_util::stream::iter(vec![Ok(Bytes::from(vec![0; 3 * CHUNK_BYTES]))])
        .chain(futures_util::stream::pending())
        .boxed();
    let put = store.put(NewRecord::new("k", Payload::Stream(endless)), 0);
    let cancelled = tokio::time::timeout(std::time::Duration::from_millis(50), put).await;
    assert!(cancelled.is_err());
    assert_eq!(chunks(&store), 3, "a cancelled put removes its chunks");
    let Some(Record {
        value: StoredValue::Chunked { len, .. },
        ..
    }) = store.get("k").await.unwrap()
    else {
        panic!("expected the old chunked value");
    };
    assert_eq!(len, 600 * 1024);
}

/// Fifty writers to a sync store are all acknowledged, durable across a reopen, and
/// share fsyncs rather than paying one each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_writers_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = FjallDatabase::open(dir.path(), SMALL).await.unwrap();
        let store = FjallBackend::open(&db, "s", Durability::Sync).unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    for j in 0..20 {
                        put(&store, &format!("w{i:02}:{j:02}"), None, kib(1)).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let fsyncs = db.group_sync.fsyncs();
        assert!(fsyncs >= 1);
        assert!(
            fsyncs < 500,
            "1000 sync puts took {fsyncs} fsyncs: writers are not grouped"
        );
    }
    let store = open(dir.path()).await;
    assert_eq!(store.inner.data.len().unwrap(), 1000);
}

/// Versions never repeat, across keys and across reopening the database, and a record
/// touched or rewritten gets a new one.
#[tokio::test]
async fn versions_are_never_reused_across_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let store = open(dir.path()).await;
        for key in ["a", "b", "a"] {
            let v = store.put(NewRecord::new(key, kib(1)), 0).await.unwrap();
            assert!(seen.insert(v), "{v} issued twice");
        }
        let touched = store.touch("a", Some(10_000), 0).await.unwrap().unwrap();
        assert!(seen.insert(touched));
        store.delete("a", Condition::Always, 0).await.unwrap();
    }
}

/// A refused conditional put of a chunked value leaves neither its chunks nor a
/// pending marker behind, and a touch keeps a chunked value's chunks.
#[tokio::test]
async fn refused_chunked_put_leaves_no_chunks_and_touch_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    put(&store, "k", None, kib(600)).await;
    let refused = store
        .put(
            NewRecord::new("k", kib(900)).with_condition(Condition::Absent),
            0,
        )
        .await;
    assert!(refused.unwrap_err().is_conflict());
    assert_eq!(chunks(&store), 3);
    assert_eq!(store.inner.blobs.prefix([codec::PENDING_TAG]).count(), 0);
    store.touch("k", Some(5_000), 0).await.unwrap().unwrap();
    assert_eq!(chunks(&store), 3);
    let record = store.get("k").await.unwrap().unwrap();
    assert_eq!(record.head.expiration, Some(5_000));
    let StoredValue::Chunked {
        len,
        chunks: stream,
    } = record.value
    else {
        panic!("expected a chunked value");
    };
    assert_eq!(
        super::super::collect(stream, len).await.unwrap().len(),
        600 * 1024
    );
    // The touch indexed the new expiration: the purge finds it.
    assert_eq!(store.purge_expired(5_000).await.unwrap(), 1);
    assert_eq!(chunks(&store), 0);
}
