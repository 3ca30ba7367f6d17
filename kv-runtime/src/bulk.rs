//! [`GetManyRequest`] and [`GetManyWithMetadataRequest`]: reading up to 100 keys at once.
//! (Bulk writes are [`KvStore::put_many`] and [`KvStore::delete_many`].)

use std::collections::HashMap;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::backend::{Record, RecordHead};
use crate::error::{Error, Result};
use crate::get::{ValueWithMetadata, into_bytes, metadata, text};
use crate::key::validate_key;
use crate::limits::MAX_GET_MANY_KEYS;
use crate::store::KvStore;

/// Reads every key, after validating them all, in request order.
async fn read_all(
    store: &KvStore,
    keys: Vec<String>,
) -> Result<Vec<(String, Option<(Bytes, RecordHead)>)>> {
    if keys.is_empty() {
        return Err(Error::GetManyEmpty);
    }
    if keys.len() > MAX_GET_MANY_KEYS {
        return Err(Error::GetManyTooMany {
            count: keys.len(),
            max: MAX_GET_MANY_KEYS,
        });
    }
    for (index, key) in keys.iter().enumerate() {
        validate_key(key).map_err(|source| Error::BulkItem {
            index,
            key: key.clone(),
            source: Box::new(source),
        })?;
    }
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let (record, _) = store.read(&key, None).await?;
        let found = match record {
            None => None,
            Some(Record { value, head }) => Some((into_bytes(value).await?, head)),
        };
        out.push((key, found));
    }
    Ok(out)
}

/// JSON of every value, or Workers KV's bulk error naming the first value that is not.
fn json_all<T: DeserializeOwned>(key: &str, value: &Bytes) -> Result<T> {
    serde_json::from_slice(value).map_err(|source| Error::GetManyNotJson {
        key: key.to_owned(),
        source,
    })
}

/// A bulk read being described; pick the values' type with an async method. From
/// [`KvStore::get_many`].
///
/// The result maps every requested key to its value, or `None` for a missing or
/// expired key.
///
/// # Errors
///
/// [`Error::GetManyEmpty`] for no keys, [`Error::GetManyTooMany`] for more than 100;
/// [`Error::BulkItem`] naming the first invalid key; from `json()`,
/// [`Error::GetManyNotJson`] if any value is not JSON of type `T` (the whole call
/// fails, as in Workers KV); from `text()`, [`Error::InvalidUtf8`];
/// [`Error::Backend`] if storage fails.
#[must_use = "a GetManyRequest does nothing until one of its methods is awaited"]
#[derive(Debug)]
pub struct GetManyRequest {
    store: KvStore,
    keys: Vec<String>,
}

impl GetManyRequest {
    pub(crate) fn new(store: KvStore, keys: Vec<String>) -> Self {
        Self { store, keys }
    }

    async fn map<T>(
        self,
        convert: impl Fn(&str, Bytes) -> Result<T>,
    ) -> Result<HashMap<String, Option<T>>> {
        read_all(&self.store, self.keys)
            .await?
            .into_iter()
            .map(|(key, found)| {
                let value = found.map(|(bytes, _)| convert(&key, bytes)).transpose()?;
                Ok((key, value))
            })
            .collect()
    }

    /// Every value as UTF-8 text.
    pub async fn text(self) -> Result<HashMap<String, Option<String>>> {
        self.map(|_, bytes| text(bytes)).await
    }

    /// Every value deserialized from JSON.
    pub async fn json<T: DeserializeOwned>(self) -> Result<HashMap<String, Option<T>>> {
        self.map(|key, bytes| json_all(key, &bytes)).await
    }

    /// Every value's bytes.
    pub async fn bytes(self) -> Result<HashMap<String, Option<Bytes>>> {
        self.map(|_, bytes| Ok(bytes)).await
    }
}

/// A bulk read of values with their metadata. From [`KvStore::get_many_with_metadata`].
///
/// A missing or expired key maps to `value: None, metadata: None`.
///
/// # Errors
///
/// As [`GetManyRequest`]; also [`Error::Json`] if stored metadata is not valid JSON.
#[must_use = "a GetManyWithMetadataRequest does nothing until one of its methods is awaited"]
#[derive(Debug)]
pub struct GetManyWithMetadataRequest {
    store: KvStore,
    keys: Vec<String>,
}

impl GetManyWithMetadataRequest {
    pub(crate) fn new(store: KvStore, keys: Vec<String>) -> Self {
        Self { store, keys }
    }

    async fn map<T>(
        self,
        convert: impl Fn(&str, Bytes) -> Result<T>,
    ) -> Result<HashMap<String, ValueWithMetadata<T>>> {
        read_all(&self.store, self.keys)
            .await?
            .into_iter()
            .map(|(key, found)| {
                let entry = match found {
                    None => ValueWithMetadata {
                        value: None,
                        metadata: None,
                        expiration: None,
                        cache_status: None,
                    },
                    Some((bytes, head)) => ValueWithMetadata {
                        metadata: metadata(&head)?,
                        expiration: head.expiration,
                        value: Some(convert(&key, bytes)?),
                        cache_status: None,
                    },
                };
                Ok((key, entry))
            })
            .collect()
    }

    /// Every value as UTF-8 text, with its metadata.
    pub async fn text(self) -> Result<HashMap<String, ValueWithMetadata<String>>> {
        self.map(|_, bytes| text(bytes)).await
    }

    /// Every value deserialized from JSON, with its metadata.
    pub async fn json<T: DeserializeOwned>(self) -> Result<HashMap<String, ValueWithMetadata<T>>> {
        self.map(|key, bytes| json_all(key, &bytes)).await
    }

    /// Every value's bytes, with its metadata.
    pub async fn bytes(self) -> Result<HashMap<String, ValueWithMetadata<Bytes>>> {
        self.map(|_, bytes| Ok(bytes)).await
    }
}
