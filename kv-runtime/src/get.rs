//! [`GetRequest`] and [`GetWithMetadataRequest`]: reading a value as text, JSON or bytes.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::backend::Record;
use crate::error::{Error, Result};
use crate::store::KvStore;

/// Whether a read was served by the runtime's local read cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CacheStatus {
    /// Served from the cache.
    Hit,
    /// Read from the backend.
    Miss,
}

/// A value with its metadata, from [`KvStore::get_with_metadata`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValueWithMetadata<T> {
    /// The value, or `None` if the key does not exist or has expired.
    pub value: Option<T>,
    /// The metadata stored with the value, if any.
    pub metadata: Option<serde_json::Value>,
    /// Whether a read cache served the value; `None` when no cache was asked for.
    pub cache_status: Option<CacheStatus>,
}

fn text(value: Bytes) -> Result<String> {
    String::from_utf8(value.into()).map_err(|_| Error::InvalidUtf8)
}

fn json<T: DeserializeOwned>(value: &Bytes) -> Result<T> {
    serde_json::from_slice(value).map_err(Error::Json)
}

/// A read being described; pick the value's type with an async method. From [`KvStore::get`].
///
/// Each method returns `Ok(None)` when the key does not exist or has expired.
///
/// # Errors
///
/// [`Error::EmptyKey`], [`Error::KeyTooLong`] or [`Error::ReservedKey`] for an invalid
/// key; [`Error::InvalidUtf8`] from `text()` on a value that is not UTF-8;
/// [`Error::Json`] from `json()` on a value that does not deserialize as `T`;
/// [`Error::Backend`] if storage fails.
#[must_use = "a GetRequest does nothing until one of its methods is awaited"]
#[derive(Debug)]
pub struct GetRequest {
    store: KvStore,
    key: String,
}

impl GetRequest {
    pub(crate) fn new(store: KvStore, key: String) -> Self {
        Self { store, key }
    }

    async fn value(self) -> Result<Option<Bytes>> {
        Ok(self.store.read(&self.key).await?.map(|r| r.value))
    }

    /// The value as UTF-8 text.
    pub async fn text(self) -> Result<Option<String>> {
        self.value().await?.map(text).transpose()
    }

    /// The value deserialized from JSON.
    pub async fn json<T: DeserializeOwned>(self) -> Result<Option<T>> {
        self.value().await?.map(|v| json(&v)).transpose()
    }

    /// The value's bytes, without copying them.
    pub async fn bytes(self) -> Result<Option<Bytes>> {
        self.value().await
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
    store: KvStore,
    key: String,
}

impl GetWithMetadataRequest {
    pub(crate) fn new(store: KvStore, key: String) -> Self {
        Self { store, key }
    }

    async fn read<T>(
        self,
        convert: impl FnOnce(Bytes) -> Result<T>,
    ) -> Result<ValueWithMetadata<T>> {
        let Some(Record {
            value, metadata, ..
        }) = self.store.read(&self.key).await?
        else {
            return Ok(ValueWithMetadata {
                value: None,
                metadata: None,
                cache_status: None,
            });
        };
        Ok(ValueWithMetadata {
            value: Some(convert(value)?),
            metadata: metadata.map(|m| json(&m)).transpose()?,
            cache_status: None,
        })
    }

    /// The value as UTF-8 text, with its metadata.
    pub async fn text(self) -> Result<ValueWithMetadata<String>> {
        self.read(text).await
    }

    /// The value deserialized from JSON, with its metadata.
    pub async fn json<T: DeserializeOwned>(self) -> Result<ValueWithMetadata<T>> {
        self.read(|v| json(&v)).await
    }

    /// The value's bytes, with its metadata.
    pub async fn bytes(self) -> Result<ValueWithMetadata<Bytes>> {
        self.read(Ok).await
    }
}
