//! [`GetRequest`] and [`GetWithMetadataRequest`]: reading a value as text, JSON, bytes
//! or a stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use serde::de::DeserializeOwned;

use crate::backend::{ByteStream, RecordHead, StoredValue, collect};
use crate::error::{Error, Result};
use crate::store::KvStore;
use crate::version::Version;

/// The largest piece a value held whole is streamed in (zero-copy slices).
const STREAM_SLICE_BYTES: usize = 256 * 1024;

/// Whether a read was served by the runtime's local read cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CacheStatus {
    /// Served from the cache.
    Hit,
    /// Read from the backend (and cached for the read's `cache_ttl`).
    Miss,
}

/// A value with its metadata, from [`KvStore::get_with_metadata`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValueWithMetadata<T> {
    /// The value, or `None` if the key does not exist or has expired.
    pub value: Option<T>,
    /// The metadata stored with the value, if any.
    pub metadata: Option<serde_json::Value>,
    /// When the key expires, in absolute Unix seconds, if it has an expiration (as
    /// `list` reports it, and as Cloudflare's REST API sends in its `expiration` header).
    pub expiration: Option<u64>,
    /// The record's version, for a compare-and-set (`put(..).if_version(v)`); `None`
    /// when the key does not exist.
    pub version: Option<Version>,
    /// `Hit` or `Miss` for a read with a `cache_ttl`; `None` for a read without one.
    pub cache_status: Option<CacheStatus>,
}

/// A stored value's bytes, chunk by chunk: from `get(..).stream()`.
///
/// A value stored in chunks is read one chunk at a time from a consistent snapshot,
/// so memory stays bounded by a chunk whatever the value's size, and a put or delete
/// that replaces the value meanwhile does not disturb the read.
pub struct ValueStream {
    len: u64,
    inner: Chunks,
}

/// Where a [`ValueStream`]'s bytes come from.
enum Chunks {
    /// A value held whole, streamed in zero-copy slices; `None` once all are out.
    Whole(Option<Bytes>),
    /// A value read chunk by chunk.
    Stream(ByteStream),
}

impl std::fmt::Debug for ValueStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueStream")
            .field("len", &self.len)
            .finish()
    }
}

impl ValueStream {
    fn new(value: StoredValue) -> Self {
        match value {
            StoredValue::Inline(bytes) => Self {
                len: bytes.len() as u64,
                inner: Chunks::Whole(Some(bytes)),
            },
            StoredValue::Chunked { len, chunks } => Self {
                len,
                inner: Chunks::Stream(chunks),
            },
        }
    }

    /// The value's total length in bytes (e.g. for a `Content-Length` header).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the value is the empty value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value's bytes without copying, if it is held whole (small values, nothing
    /// read yet); otherwise the stream back, to read chunk by chunk.
    ///
    /// # Errors
    ///
    /// `Err(self)` when the value is stored in chunks.
    pub fn into_whole(self) -> std::result::Result<Bytes, Self> {
        match self.inner {
            Chunks::Whole(Some(bytes)) => Ok(bytes),
            Chunks::Whole(None) => Ok(Bytes::new()),
            inner @ Chunks::Stream(_) => Err(Self {
                len: self.len,
                inner,
            }),
        }
    }
}

impl Stream for ValueStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.inner {
            // Zero-copy slices of at most a chunk, as a chunked value would stream.
            Chunks::Whole(rest) => Poll::Ready(rest.take().and_then(|mut bytes| {
                if bytes.is_empty() {
                    return None;
                }
                let piece = bytes.split_to(bytes.len().min(STREAM_SLICE_BYTES));
                if !bytes.is_empty() {
                    *rest = Some(bytes);
                }
                Some(Ok(piece))
            })),
            Chunks::Stream(stream) => stream.as_mut().poll_next(cx),
        }
    }
}

pub(crate) async fn into_bytes(value: StoredValue) -> Result<Bytes> {
    match value {
        StoredValue::Inline(bytes) => Ok(bytes),
        StoredValue::Chunked { len, chunks } => collect(chunks, len).await,
    }
}

pub(crate) fn text(value: Bytes) -> Result<String> {
    String::from_utf8(value.into()).map_err(|_| Error::InvalidUtf8)
}

pub(crate) fn json<T: DeserializeOwned>(value: &Bytes) -> Result<T> {
    serde_json::from_slice(value).map_err(Error::Json)
}

pub(crate) fn metadata(head: &RecordHead) -> Result<Option<serde_json::Value>> {
    head.metadata.as_ref().map(json).transpose()
}

/// A read being described; pick the value's type with an async method. From [`KvStore::get`].
///
/// Each method returns `Ok(None)` when the key does not exist or has expired.
///
/// # Errors
///
/// [`Error::EmptyKey`], [`Error::KeyTooLong`] or [`Error::ReservedKey`] for an invalid
/// key; [`Error::CacheTtlTooShort`] for a `cache_ttl` under 30; [`Error::InvalidUtf8`]
/// from `text()` on a value that is not UTF-8; [`Error::Json`] from `json()` on a value
/// that does not deserialize as `T`; [`Error::Backend`] if storage fails.
#[must_use = "a GetRequest does nothing until one of its methods is awaited"]
#[derive(Debug)]
pub struct GetRequest {
    store: KvStore,
    key: String,
    cache_ttl: Option<u64>,
}

impl GetRequest {
    pub(crate) fn new(store: KvStore, key: String) -> Self {
        Self {
            store,
            key,
            cache_ttl: None,
        }
    }

    /// Serves the read from the runtime's read cache if an earlier read with a cache TTL
    /// cached it less than its TTL ago, and caches this read for `secs` seconds
    /// otherwise. At least 30. A put or delete through the same runtime clears the
    /// key's cached entry at once.
    pub fn cache_ttl(mut self, secs: u64) -> Self {
        self.cache_ttl = Some(secs);
        self
    }

    async fn value(self) -> Result<Option<StoredValue>> {
        let (record, _) = self.store.read(&self.key, self.cache_ttl).await?;
        Ok(record.map(|r| r.value))
    }

    /// The value as UTF-8 text.
    pub async fn text(self) -> Result<Option<String>> {
        match self.value().await? {
            Some(value) => text(into_bytes(value).await?).map(Some),
            None => Ok(None),
        }
    }

    /// The value deserialized from JSON.
    pub async fn json<T: DeserializeOwned>(self) -> Result<Option<T>> {
        match self.value().await? {
            Some(value) => json(&into_bytes(value).await?).map(Some),
            None => Ok(None),
        }
    }

    /// The value's bytes (without copying, for values stored inline).
    pub async fn bytes(self) -> Result<Option<Bytes>> {
        match self.value().await? {
            Some(value) => into_bytes(value).await.map(Some),
            None => Ok(None),
        }
    }

    /// The value as a stream of chunks, never held whole in memory.
    pub async fn stream(self) -> Result<Option<ValueStream>> {
        Ok(self.value().await?.map(ValueStream::new))
    }
}

/// A read of a value and its metadata; pick the value's type with an async method.
/// From [`KvStore::get_with_metadata`].
///
/// A missing or expired key gives `value: None, metadata: None`.
///
/// # Errors
///
/// As [`GetRequest`]; also [`Error::Json`] if stored metadata is not valid JSON.
#[must_use = "a GetWithMetadataRequest does nothing until one of its methods is awaited"]
#[derive(Debug)]
pub struct GetWithMetadataRequest {
    get: GetRequest,
}

impl GetWithMetadataRequest {
    pub(crate) fn new(store: KvStore, key: String) -> Self {
        Self {
            get: GetRequest::new(store, key),
        }
    }

    /// As [`GetRequest::cache_ttl`]; the result's `cache_status` says `Hit` or `Miss`.
    pub fn cache_ttl(mut self, secs: u64) -> Self {
        self.get = self.get.cache_ttl(secs);
        self
    }

    async fn read<T, F>(
        self,
        convert: impl FnOnce(StoredValue) -> F,
    ) -> Result<ValueWithMetadata<T>>
    where
        F: Future<Output = Result<T>>,
    {
        let GetRequest {
            store,
            key,
            cache_ttl,
        } = self.get;
        let (record, cache_status) = store.read(&key, cache_ttl).await?;
        let Some(record) = record else {
            return Ok(ValueWithMetadata {
                value: None,
                metadata: None,
                expiration: None,
                version: None,
                cache_status,
            });
        };
        let metadata = metadata(&record.head)?;
        let (expiration, version) = (record.head.expiration, record.head.version);
        Ok(ValueWithMetadata {
            value: Some(convert(record.value).await?),
            metadata,
            expiration,
            version: Some(version),
            cache_status,
        })
    }

    /// The value as UTF-8 text, with its metadata.
    pub async fn text(self) -> Result<ValueWithMetadata<String>> {
        self.read(|v| async { text(into_bytes(v).await?) }).await
    }

    /// The value deserialized from JSON, with its metadata.
    pub async fn json<T: DeserializeOwned>(self) -> Result<ValueWithMetadata<T>> {
        self.read(|v| async move { json(&into_bytes(v).await?) })
            .await
    }

    /// The value's bytes, with its metadata.
    pub async fn bytes(self) -> Result<ValueWithMetadata<Bytes>> {
        self.read(into_bytes).await
    }

    /// The value as a stream of chunks, with its metadata.
    pub async fn stream(self) -> Result<ValueWithMetadata<ValueStream>> {
        self.read(|v| async { Ok(ValueStream::new(v)) }).await
    }

    /// Metadata, expiration and version without the value (which is never read):
    /// `value` is `Some(())` when the key exists. With a `cache_ttl`, through the
    /// read cache like the other forms.
    pub async fn head(self) -> Result<ValueWithMetadata<()>> {
        if self.get.cache_ttl.is_some() {
            return self.read(|_| async { Ok(()) }).await;
        }
        let head = self.get.store.read_head(&self.get.key).await?;
        Ok(match head {
            None => ValueWithMetadata {
                value: None,
                metadata: None,
                expiration: None,
                version: None,
                cache_status: None,
            },
            Some(head) => ValueWithMetadata {
                value: Some(()),
                metadata: metadata(&head)?,
                expiration: head.expiration,
                version: Some(head.version),
                cache_status: None,
            },
        })
    }
}
