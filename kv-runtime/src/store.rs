//! [`KvStore`]: the handle services and actors use, one per store.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;

use crate::backend::{Backend, ListPage, ListQuery, Record, memory::MemoryBackend};
use crate::clock::{SharedClock, SystemClock};
use crate::config::StoreConfig;
use crate::error::{Error, Result};
use crate::expiration::is_expired;
use crate::get::{GetRequest, GetWithMetadataRequest};
use crate::key::validate_key;
use crate::list::ListRequest;
use crate::put::PutRequest;
use crate::value::Value;

/// A handle to one key-value store, with Workers KV's API: `put`, `get`,
/// `get_with_metadata`, `list` and `delete`.
///
/// Cheap to clone (an `Arc`), `Send + Sync + 'static`, and every future it returns is
/// `Send`, so it fits in axum state, actors and spawned tasks.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kv_runtime::Result<()> {
/// use kv_runtime::KvStore;
///
/// let store = KvStore::in_memory("demo-cache");
/// store.put("user:123", "John Doe").await?;
/// assert_eq!(store.get("user:123").text().await?.as_deref(), Some("John Doe"));
/// store.delete("user:123").await?;
/// assert_eq!(store.get("user:123").text().await?, None);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct KvStore {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    backend: Arc<dyn Backend>,
    config: StoreConfig,
    clock: SharedClock,
}

impl fmt::Debug for KvStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvStore")
            .field("name", &self.inner.name)
            .field("backend", &self.inner.backend.name())
            .finish()
    }
}

impl KvStore {
    pub(crate) fn new(
        name: String,
        backend: Arc<dyn Backend>,
        config: StoreConfig,
        clock: SharedClock,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                name,
                backend,
                config,
                clock,
            }),
        }
    }

    /// A store of its own in memory, with default settings and the system clock. For
    /// examples and tests; an application gets its stores from a
    /// [`Runtime`](crate::Runtime) (or its generated `Env`).
    pub fn in_memory(name: impl Into<String>) -> Self {
        Self::new(
            name.into(),
            Arc::new(MemoryBackend::new()),
            StoreConfig::default(),
            Arc::new(SystemClock),
        )
    }

    /// The store's name, as the manifest declares it.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The store's settings.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// Stores `value` under `key`, replacing its value, expiration and metadata together.
    ///
    /// Options go on the returned request; it runs when awaited:
    /// `store.put("k", "v").expiration_ttl(3600).metadata(json!({"a": 1})).await?`.
    ///
    /// # Errors
    ///
    /// See [`PutRequest`].
    pub fn put(&self, key: impl Into<String>, value: impl Into<Value>) -> PutRequest {
        PutRequest::new(self.clone(), key.into(), value.into())
    }

    /// Reads the value under `key`; pick how with `.text()`, `.json()` or `.bytes()`.
    pub fn get(&self, key: impl Into<String>) -> GetRequest {
        GetRequest::new(self.clone(), key.into())
    }

    /// Reads the value under `key` together with its metadata.
    pub fn get_with_metadata(&self, key: impl Into<String>) -> GetWithMetadataRequest {
        GetWithMetadataRequest::new(self.clone(), key.into())
    }

    /// Lists keys in byte order; narrow with `.prefix()`, page with `.limit()` and `.cursor()`.
    pub fn list(&self) -> ListRequest {
        ListRequest::new(self.clone())
    }

    /// Removes `key`. Deleting a key that does not exist succeeds.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyKey`], [`Error::KeyTooLong`] or [`Error::ReservedKey`] for an
    /// invalid key; [`Error::Backend`] if storage fails.
    pub fn delete(
        &self,
        key: impl Into<String>,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let store = self.clone();
        let key = key.into();
        async move {
            validate_key(&key)?;
            store.inner.backend.delete(key).await
        }
    }

    /// Physically removes every expired key now, returning how many went. The runtime
    /// also does this in the background; reads never return expired keys either way.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] if storage fails.
    pub fn purge_expired(&self) -> impl Future<Output = Result<u64>> + Send + 'static {
        let store = self.clone();
        async move {
            let now = store.now();
            store.inner.backend.purge_expired(now).await
        }
    }

    pub(crate) fn now(&self) -> u64 {
        self.inner.clock.now_secs()
    }

    /// The live record under `key`, after validating the key.
    pub(crate) async fn read(&self, key: &str) -> Result<Option<Record>> {
        validate_key(key)?;
        let record = self.inner.backend.get(key).await?;
        let now = self.now();
        Ok(record.filter(|r| !is_expired(r.expiration, now)))
    }

    /// Writes a record that the caller has fully validated.
    pub(crate) async fn write(&self, key: String, record: Record) -> Result<()> {
        self.inner.backend.put(key, record).await
    }

    pub(crate) async fn list_page(&self, query: ListQuery) -> Result<ListPage> {
        self.inner.backend.list(query).await
    }

    /// Checks a value's size against the store's `max_value_size`.
    pub(crate) fn check_value_size(&self, value: &Bytes) -> Result<()> {
        let size = value.len() as u64;
        let max = self.inner.config.max_value_size;
        if size > max {
            return Err(Error::ValueTooLarge { size, max });
        }
        Ok(())
    }
}
