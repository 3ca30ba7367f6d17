//! [`Target`]: one store, local (a [`KvStore`] of the runtime) or remote (a `kv serve`),
//! behind the few operations the data commands need, so that each command is written
//! once.

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use kv_runtime::{BulkPut, KeyInfo, KvStore};

use super::error::{DataError, Result};
use super::remote::RemoteStore;

/// A value's bytes, chunk by chunk.
pub(crate) type Chunks = BoxStream<'static, Result<Bytes>>;

/// A value to write: whole, or streamed (never held whole in memory).
pub(crate) enum Value {
    Bytes(Bytes),
    Stream(Chunks),
}

/// A key to write, with its value (`V`: [`Value`], or [`Bytes`] for a batch).
#[derive(Debug)]
pub(crate) struct Item<V> {
    pub(crate) key: String,
    pub(crate) value: V,
    /// Seconds from now (wins over `expiration`).
    pub(crate) ttl: Option<u64>,
    /// Absolute Unix seconds.
    pub(crate) expiration: Option<u64>,
    pub(crate) metadata: Option<serde_json::Value>,
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bytes(bytes) => write!(f, "Bytes({})", bytes.len()),
            Value::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// A key that was read: its value's chunks, metadata and expiration.
pub(crate) struct Found {
    pub(crate) chunks: Chunks,
    pub(crate) metadata: Option<serde_json::Value>,
    pub(crate) expiration: Option<u64>,
}

/// A page of a listing; `cursor` is `None` on the last page.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) keys: Vec<KeyInfo>,
    pub(crate) cursor: Option<String>,
}

/// The limits a store checks, so that a file can be validated before anything is
/// written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) min_ttl: u64,
    pub(crate) max_value_size: u64,
}

/// One store, local or remote.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Local(KvStore),
    Remote {
        name: String,
        store: RemoteStore,
        limits: Limits,
    },
}

impl Target {
    /// The store's name.
    pub(crate) fn name(&self) -> &str {
        match self {
            Target::Local(store) => store.name(),
            Target::Remote { name, .. } => name,
        }
    }

    pub(crate) fn limits(&self) -> Limits {
        match self {
            Target::Local(store) => Limits {
                min_ttl: store.config().min_ttl,
                max_value_size: store.config().max_value_size,
            },
            Target::Remote { limits, .. } => *limits,
        }
    }

    /// The time expirations are measured against, in Unix seconds.
    pub(crate) fn now(&self) -> u64 {
        match self {
            Target::Local(store) => store.now(),
            Target::Remote { .. } => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    /// Reads `key`: value, metadata and expiration (in one read, locally).
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Found>> {
        match self {
            Target::Local(store) => {
                let found = store
                    .get_with_metadata(key)
                    .stream()
                    .await
                    .map_err(|e| DataError::runtime(format_args!("reading key {key:?}"), e))?;
                let Some(stream) = found.value else {
                    return Ok(None);
                };
                let key = key.to_owned();
                let chunks = stream
                    .map(move |chunk| {
                        chunk.map_err(|e| {
                            DataError::runtime(format_args!("reading the value of key {key:?}"), e)
                        })
                    })
                    .boxed();
                Ok(Some(Found {
                    chunks,
                    metadata: found.metadata,
                    expiration: found.expiration,
                }))
            }
            Target::Remote { store, .. } => store.get(key).await,
        }
    }

    /// Reads a key a listing returned. Locally this is [`get`](Self::get); remotely the
    /// listing's metadata is used, which saves a request per key.
    pub(crate) async fn get_listed(&self, listed: &KeyInfo) -> Result<Option<Found>> {
        match self {
            Target::Local(_) => self.get(&listed.name).await,
            Target::Remote { store, .. } => {
                Ok(store
                    .get_value(&listed.name)
                    .await?
                    .map(|(chunks, expiration)| Found {
                        chunks,
                        metadata: listed.metadata.clone(),
                        expiration,
                    }))
            }
        }
    }

    /// Writes one value (streamed if it is a stream), replacing value, expiration and
    /// metadata together.
    pub(crate) async fn put(&self, item: Item<Value>) -> Result<()> {
        match self {
            Target::Local(store) => {
                let key = item.key.clone();
                let value: kv_runtime::Value = match item.value {
                    Value::Bytes(bytes) => bytes.into(),
                    Value::Stream(stream) => kv_runtime::Body::from_stream(stream).into(),
                };
                let mut request = store
                    .put(item.key, value)
                    .expiration_ttl(item.ttl)
                    .expiration(item.expiration);
                if let Some(metadata) = item.metadata {
                    request = request.metadata(metadata);
                }
                request
                    .await
                    .map(drop)
                    .map_err(|e| DataError::runtime(format_args!("writing key {key:?}"), e))
            }
            Target::Remote { store, .. } => store.put(item).await,
        }
    }

    /// Writes up to 10,000 values at once, all or none.
    pub(crate) async fn put_many(&self, items: Vec<Item<Bytes>>) -> Result<()> {
        match self {
            Target::Local(store) => {
                let count = items.len();
                let puts = items.into_iter().map(|item| {
                    let put = BulkPut::new(item.key, item.value)
                        .expiration_ttl(item.ttl)
                        .expiration(item.expiration);
                    match item.metadata {
                        Some(metadata) => put.metadata(metadata),
                        None => put,
                    }
                });
                store
                    .put_many(puts)
                    .await
                    .map(drop)
                    .map_err(|e| DataError::runtime(format_args!("writing {count} keys"), e))
            }
            Target::Remote { store, .. } => store.put_many(items).await,
        }
    }

    /// Deletes `key` (a missing key is fine).
    pub(crate) async fn delete(&self, key: &str) -> Result<()> {
        match self {
            Target::Local(store) => store
                .delete(key)
                .await
                .map(drop)
                .map_err(|e| DataError::runtime(format_args!("deleting key {key:?}"), e)),
            Target::Remote { store, .. } => store.delete(key).await,
        }
    }

    /// Deletes up to 10,000 keys at once, all or none.
    pub(crate) async fn delete_many(&self, keys: Vec<String>) -> Result<()> {
        match self {
            Target::Local(store) => {
                let count = keys.len();
                store
                    .delete_many(keys)
                    .await
                    .map_err(|e| DataError::runtime(format_args!("deleting {count} keys"), e))
            }
            Target::Remote { store, .. } => store.delete_many(&keys).await,
        }
    }

    /// A page of at most `limit` keys under `prefix`, after `cursor`.
    pub(crate) async fn list_page(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page> {
        match self {
            Target::Local(store) => {
                let mut request = store.list().prefix(prefix).limit(limit);
                if let Some(cursor) = cursor {
                    request = request.cursor(cursor);
                }
                let page = request
                    .await
                    .map_err(|e| DataError::runtime("listing keys", e))?;
                Ok(Page {
                    keys: page.keys,
                    cursor: page.cursor,
                })
            }
            Target::Remote { store, .. } => store.list_page(prefix, cursor, limit).await,
        }
    }
}
