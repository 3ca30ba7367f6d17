//! The one seam between [`KvStore`](crate::KvStore) and where data lives.
//!
//! A backend stores records (value, expiration and metadata, replaced together) for one
//! store. It knows nothing of Workers KV's rules: the store validates every request
//! before it reaches a backend, so every backend behaves the same, and the shared
//! conformance suite in `tests/conformance` holds each of them to it.

use std::fmt;

use bytes::Bytes;
use futures_util::future::BoxFuture;

use crate::error::Result;
use crate::value::{ByteStream, Payload};

pub(crate) mod fjall;
mod group_sync;
pub(crate) mod memory;

/// What a key holds besides its value: when it expires and its metadata as JSON text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RecordHead {
    /// Absolute Unix seconds.
    pub(crate) expiration: Option<u64>,
    /// Serialized JSON, already checked against the size limit.
    pub(crate) metadata: Option<Bytes>,
}

/// A stored value as a read finds it.
pub(crate) enum StoredValue {
    /// Small values: the bytes, without copying.
    Inline(Bytes),
    /// Large or streamed values: their length and a stream that reads their chunks from
    /// a consistent snapshot, one at a time.
    Chunked { len: u64, chunks: ByteStream },
}

impl fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inline(bytes) => f.debug_tuple("Inline").field(&bytes.len()).finish(),
            Self::Chunked { len, .. } => f.debug_struct("Chunked").field("len", len).finish(),
        }
    }
}

/// What a key holds.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) value: StoredValue,
    pub(crate) head: RecordHead,
}

/// One key of a listing, without its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedKey {
    pub(crate) name: String,
    pub(crate) head: RecordHead,
}

/// Which keys a listing wants.
#[derive(Debug, Clone)]
pub(crate) struct ListQuery {
    /// Matched literally, as bytes.
    pub(crate) prefix: String,
    /// Resume strictly after this key.
    pub(crate) start_after: Option<String>,
    /// Page size, already validated.
    pub(crate) limit: usize,
    /// Keys whose expiration is at or before this are skipped.
    pub(crate) now: u64,
}

/// A page of a listing, in byte order of key.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListPage {
    pub(crate) keys: Vec<ListedKey>,
    /// Whether live keys remain after the last one in `keys`.
    pub(crate) more: bool,
}

/// One validated item of a bulk write.
#[derive(Debug)]
pub(crate) struct BulkItem {
    pub(crate) key: String,
    pub(crate) head: RecordHead,
    pub(crate) value: Bytes,
}

/// A store's storage. Object safe, so stores hold `Arc<dyn Backend>`.
pub(crate) trait Backend: Send + Sync + fmt::Debug {
    /// The backend's name in errors and configuration (`"fjall"`, `"memory"`).
    fn name(&self) -> &'static str;

    /// The record under `key`, expired or not: the store filters on its clock.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Record>>>;

    /// [`Backend::get`] without a future, for backends that answer point reads at once
    /// (fjall, memory): saves an allocation on the hottest path. `None` means "await
    /// `get` instead", which a networked backend always says.
    fn get_now(&self, key: &str) -> Option<Result<Option<Record>>> {
        let _ = key;
        None
    }

    /// Replaces whatever `key` held, atomically. A streamed payload arrives already
    /// limited to the store's size: when it fails, the key keeps its previous record.
    fn put(&self, key: String, head: RecordHead, value: Payload) -> BoxFuture<'_, Result<()>>;

    /// Writes every item or none.
    fn put_many(&self, items: Vec<BulkItem>) -> BoxFuture<'_, Result<()>>;

    /// Removes `key`; succeeds when it is absent.
    fn delete(&self, key: String) -> BoxFuture<'_, Result<()>>;

    /// Removes every key or none.
    fn delete_many(&self, keys: Vec<String>) -> BoxFuture<'_, Result<()>>;

    /// Live keys matching `query`, at most `query.limit` of them.
    fn list(&self, query: ListQuery) -> BoxFuture<'_, Result<ListPage>>;

    /// Physically removes every record that expired at or before `now`; returns how many.
    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<u64>>;
}

/// Reads a whole stream into one buffer (the stream is already size-limited). A
/// one-item stream is returned without copying; `capacity` sizes the buffer otherwise.
pub(crate) async fn collect(mut stream: ByteStream, capacity: u64) -> Result<Bytes> {
    use futures_util::StreamExt as _;
    let Some(first) = stream.next().await.transpose()? else {
        return Ok(Bytes::new());
    };
    let Some(second) = stream.next().await.transpose()? else {
        return Ok(first);
    };
    let capacity = usize::try_from(capacity)
        .unwrap_or(0)
        .max(first.len() + second.len());
    let mut out = bytes::BytesMut::with_capacity(capacity);
    out.extend_from_slice(&first);
    out.extend_from_slice(&second);
    while let Some(chunk) = stream.next().await.transpose()? {
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}
