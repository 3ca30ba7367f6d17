//! [`KvStore`]: the handle services and actors use, one per store.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;

use crate::backend::{
    Backend, Condition, ListPage, ListQuery, NewRecord, Payload, Record, StoredValue,
    memory::MemoryBackend,
};
use crate::bulk::{GetManyRequest, GetManyWithMetadataRequest};
use crate::cache::{CachedRead, ReadCache};
use crate::clock::{SharedClock, SystemClock};
use crate::config::StoreConfig;
use crate::count::CountRequest;
use crate::delete::DeleteRequest;
use crate::error::{Error, Result};
use crate::get::{CacheStatus, GetRequest, GetWithMetadataRequest};
use crate::key::validate_key;
use crate::limits::{DEFAULT_READ_CACHE_BYTES, MAX_BULK_ITEMS, MIN_CACHE_TTL_SECS};
use crate::list::ListRequest;
use crate::put::{BulkPut, PutRequest};
use crate::stats::{Counters, Operation, StoreStats};
use crate::touch::Touch;
use crate::update::UpdateRequest;
use crate::value::Value;
use crate::version::Version;
use crate::watch::WatchRequest;

/// A handle to one key-value store, with Workers KV's API — `put`, `get`,
/// `get_with_metadata`, `list`, `delete` and their bulk forms — and what Workers KV
/// lacks: versions and compare-and-set (`if_version`, `if_absent`, `update`), `touch`,
/// `delete_prefix`, `count` and `watch`.
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
    name: Arc<str>,
    backend: Arc<dyn Backend>,
    config: StoreConfig,
    clock: SharedClock,
    cache: Arc<ReadCache>,
    updates: crate::update::UpdateTurns,
    counters: Counters,
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
        name: &str,
        backend: Arc<dyn Backend>,
        config: StoreConfig,
        clock: SharedClock,
        cache: Arc<ReadCache>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                name: Arc::from(name),
                backend,
                config,
                clock,
                cache,
                updates: crate::update::UpdateTurns::new(),
                counters: Counters::default(),
            }),
        }
    }

    /// Waits until no other `update` of `key` through this store is running.
    pub(crate) async fn update_turn(&self, key: &str) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.updates.turn(key).await
    }

    /// A store of its own in memory, with default settings and the system clock. For
    /// examples and tests; an application gets its stores from a
    /// [`Runtime`](crate::Runtime) (or its generated `Env`).
    pub fn in_memory(name: impl AsRef<str>) -> Self {
        let config = StoreConfig::default().backend(crate::backend::memory::NAME);
        Self::new(
            name.as_ref(),
            Arc::new(MemoryBackend::new()),
            config,
            Arc::new(SystemClock),
            Arc::new(ReadCache::new(DEFAULT_READ_CACHE_BYTES)),
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

    /// The name of the backend the store lives on (`"fjall"`, `"redis"`, ...).
    pub fn backend_name(&self) -> &'static str {
        self.inner.backend.name()
    }

    /// What the store has done since it was opened: operations by kind, backend
    /// errors, read-cache hits and misses (counted in this process only).
    pub fn stats(&self) -> StoreStats {
        self.inner.counters.snapshot()
    }

    /// Counts an operation of `kind` and its backend error, if any.
    pub(crate) fn note<T>(&self, kind: Operation, result: Result<T>) -> Result<T> {
        self.inner.counters.note(kind, result)
    }

    /// Checks a value's size against the store's `max_value_size` — before reading
    /// it, e.g. from an HTTP `Content-Length` — with the error a put would give.
    ///
    /// # Errors
    ///
    /// [`Error::ValueTooLarge`] naming both sizes.
    pub fn check_value_size(&self, size: u64) -> Result<()> {
        let max = self.inner.config.max_value_size;
        if size > max {
            return Err(Error::ValueTooLarge { size, max });
        }
        Ok(())
    }

    /// The time as the store's clock reads it, in Unix seconds: what expirations are
    /// measured against.
    pub fn now(&self) -> u64 {
        self.inner.clock.now_secs()
    }

    /// Stores `value` under `key`, replacing its value, expiration and metadata
    /// together; awaiting it returns the record's new [`Version`].
    ///
    /// Options go on the returned request; it runs when awaited:
    /// `store.put("k", "v").expiration_ttl(3600).metadata(json!({"a": 1})).await?`.
    /// `.if_version(v)` and `.if_absent()` make it a compare-and-set.
    ///
    /// # Errors
    ///
    /// See [`PutRequest`].
    pub fn put(&self, key: impl Into<String>, value: impl Into<Value>) -> PutRequest {
        PutRequest::new(self.clone(), BulkPut::new(key, value))
    }

    /// Reads the value under `key`; pick how with `.text()`, `.json()`, `.bytes()` or
    /// `.stream()`.
    pub fn get(&self, key: impl Into<String>) -> GetRequest {
        GetRequest::new(self.clone(), key.into())
    }

    /// Reads the value under `key` together with its metadata, expiration and version.
    pub fn get_with_metadata(&self, key: impl Into<String>) -> GetWithMetadataRequest {
        GetWithMetadataRequest::new(self.clone(), key.into())
    }

    /// Lists keys in byte order; narrow with `.prefix()`, page with `.limit()` and `.cursor()`.
    pub fn list(&self) -> ListRequest {
        ListRequest::new(self.clone())
    }

    /// Removes `key`; deleting a key that does not exist succeeds. `.if_version(v)`
    /// makes it conditional.
    ///
    /// # Errors
    ///
    /// See [`DeleteRequest`].
    pub fn delete(&self, key: impl Into<String>) -> DeleteRequest {
        DeleteRequest::new(self.clone(), key.into())
    }

    /// Changes only the expiration of `key`: pick it with `.expiration_ttl(secs)`,
    /// `.expiration(unix_secs)` or `.persist()`; awaiting says whether the key was live.
    pub fn touch(&self, key: impl Into<String>) -> Touch {
        Touch::new(self.clone(), key.into())
    }

    /// Reads the JSON value under `key`, applies `f` and writes what it returns if the
    /// key did not change meanwhile (`None` deletes), retrying on conflict; see
    /// [`UpdateRequest`].
    pub fn update<T, F>(&self, key: impl Into<String>, f: F) -> UpdateRequest<T, F>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: FnMut(Option<T>) -> Option<T> + Send + 'static,
    {
        UpdateRequest::new(self.clone(), key.into(), f)
    }

    /// As [`update`](Self::update) on the value's raw bytes.
    pub fn update_bytes<F>(&self, key: impl Into<String>, f: F) -> UpdateRequest<Bytes, F>
    where
        F: FnMut(Option<Bytes>) -> Option<Bytes> + Send + 'static,
    {
        UpdateRequest::new_bytes(self.clone(), key.into(), f)
    }

    /// Counts the live keys, all of them or under `.prefix(p)`.
    pub fn count(&self) -> CountRequest {
        CountRequest::new(self.clone())
    }

    /// Removes every key under `prefix` that exists when the call starts (the empty
    /// prefix clears the store); returns how many went. Runs page by page, so it
    /// holds one page of keys at a time and never blocks other operations for
    /// longer than a page takes; keys written during the call may survive.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] if storage fails (keys already removed stay removed).
    pub fn delete_prefix(
        &self,
        prefix: impl Into<String>,
    ) -> impl Future<Output = Result<u64>> + Send + 'static {
        let store = self.clone();
        let prefix = prefix.into();
        async move {
            let removed = store
                .inner
                .backend
                .delete_prefix(&prefix, store.now())
                .await;
            store.inner.cache.invalidate_store(&store.inner.name);
            store.note(Operation::DeletePrefix, removed)
        }
    }

    /// Watches the store's changes, all of them or under `.prefix(p)`; awaiting gives
    /// a stream of [`Change`](crate::Change)s made after it resolved.
    pub fn watch(&self) -> WatchRequest {
        WatchRequest::new(self.clone())
    }

    /// Reads up to 100 keys at once; pick the values' type with `.text()`, `.json()` or
    /// `.bytes()`. The result maps every requested key to its value or `None`.
    pub fn get_many<K: Into<String>>(&self, keys: impl IntoIterator<Item = K>) -> GetManyRequest {
        GetManyRequest::new(self.clone(), keys.into_iter().map(Into::into).collect())
    }

    /// Reads up to 100 keys at once with their metadata.
    pub fn get_many_with_metadata<K: Into<String>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> GetManyWithMetadataRequest {
        GetManyWithMetadataRequest::new(self.clone(), keys.into_iter().map(Into::into).collect())
    }

    /// Writes up to 10,000 values at once, all or none: every item is validated, and
    /// every item's condition (`BulkPut::if_version`, `BulkPut::if_absent`) checked,
    /// before any is written. `(key, value)` pairs and [`BulkPut`] items (for
    /// expiration, metadata and conditions) are accepted. When a key appears twice,
    /// the later item wins. Returns the new versions, one per item (an item that a
    /// later one with the same key overrode gets the later one's).
    ///
    /// # Errors
    ///
    /// [`Error::BulkTooLarge`] for more than 10,000 items; [`Error::BulkItem`] naming
    /// the first invalid or refused item and what is wrong with it (the errors of
    /// [`PutRequest`], including a conflict); [`Error::Backend`] if storage fails.
    /// Nothing is written on error.
    pub fn put_many<I: Into<BulkPut>>(
        &self,
        items: impl IntoIterator<Item = I>,
    ) -> impl Future<Output = Result<Vec<Version>>> + Send + 'static {
        let store = self.clone();
        let items: Vec<BulkPut> = items.into_iter().map(Into::into).collect();
        async move { crate::bulk::put_many(&store, items).await }
    }

    /// Removes up to 10,000 keys at once, all or none. Missing keys are fine.
    ///
    /// # Errors
    ///
    /// [`Error::BulkTooLarge`] for more than 10,000 keys; [`Error::BulkItem`] naming
    /// the first invalid key; [`Error::Backend`] if storage fails.
    pub fn delete_many<K: Into<String>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let store = self.clone();
        let keys: Vec<String> = keys.into_iter().map(Into::into).collect();
        async move {
            check_bulk_count(keys.len())?;
            for (index, key) in keys.iter().enumerate() {
                validate_key(key).map_err(|e| bulk_item(index, key, e))?;
            }
            let result = store
                .inner
                .backend
                .delete_many(keys.clone(), store.now())
                .await;
            store.invalidate(keys.iter().map(String::as_str));
            store.note(Operation::DeleteMany, result).map(|_| ())
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
            let purged = store.inner.backend.purge_expired(now).await;
            store.note(Operation::Purge, purged)
        }
    }

    pub(crate) fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner.backend
    }

    /// The live record under `key`, after validating the key; through the read cache
    /// when `cache_ttl` is given.
    pub(crate) async fn read(
        &self,
        key: &str,
        cache_ttl: Option<u64>,
    ) -> Result<(Option<Record>, Option<CacheStatus>)> {
        validate_key(key)?;
        let Some(ttl) = cache_ttl else {
            let record = self.read_backend(key).await;
            return Ok((self.note(Operation::Get, record)?, None));
        };
        if ttl < MIN_CACHE_TTL_SECS {
            return Err(Error::CacheTtlTooShort {
                ttl,
                min: MIN_CACHE_TTL_SECS,
            });
        }
        let (name, cache) = (&self.inner.name, &self.inner.cache);
        let now = self.now();
        if let Some(hit) = cache.get(name, key, now) {
            let record = hit
                .record
                .filter(|(_, head)| !head.is_expired(now))
                .map(|(value, head)| Record::new(head, StoredValue::Inline(value)));
            self.inner.counters.cache(true);
            return Ok((
                self.note(Operation::Get, Ok(record))?,
                Some(CacheStatus::Hit),
            ));
        }
        self.inner.counters.cache(false);
        let epoch = cache.begin_read(name, key);
        let record = self.read_backend(key).await;
        let record = self.note(Operation::Get, record)?;
        let cached = match &record {
            None => Some(None),
            Some(Record {
                value: StoredValue::Inline(value),
                head,
            }) => Some(Some((value.clone(), head.clone()))),
            Some(_) => None,
        };
        if let Some(cached) = cached {
            let read = CachedRead {
                record: cached,
                fresh_until: now.saturating_add(ttl),
            };
            cache.insert(name, key, read, epoch);
        }
        Ok((record, Some(CacheStatus::Miss)))
    }

    /// The head of the live record under `key`, without its value, after validating
    /// the key.
    pub(crate) async fn read_head(&self, key: &str) -> Result<Option<crate::backend::RecordHead>> {
        validate_key(key)?;
        let head = self.inner.backend.head(key).await;
        let head = self.note(Operation::Head, head)?;
        Ok(head.filter(|h| h.expiration.is_none() || !h.is_expired(self.now())))
    }

    async fn read_backend(&self, key: &str) -> Result<Option<Record>> {
        let record = match self.inner.backend.get_now(key) {
            Some(record) => record?,
            None => self.inner.backend.get(key).await?,
        };
        // The clock is read only for keys that can expire.
        Ok(record.filter(|r| r.head.expiration.is_none() || !r.head.is_expired(self.now())))
    }

    /// Writes a validated record, then clears the key from the read cache.
    pub(crate) async fn write(&self, record: NewRecord<Payload>) -> Result<Version> {
        let key = record.key.clone();
        let result = self.inner.backend.put(record, self.now()).await;
        self.invalidate([key.as_str()]);
        self.note(Operation::Put, result)
    }

    /// Removes `key` if `condition` holds, then clears it from the read cache.
    pub(crate) async fn remove(&self, key: &str, condition: Condition) -> Result<bool> {
        let result = self.inner.backend.delete(key, condition, self.now()).await;
        self.invalidate([key]);
        self.note(Operation::Delete, result)
    }

    /// Clears `keys` from the runtime's read cache. Called after every write or
    /// delete, successful or not, once the backend call has returned.
    pub(crate) fn invalidate<'k>(&self, keys: impl IntoIterator<Item = &'k str>) {
        for key in keys {
            self.inner.cache.invalidate(&self.inner.name, key);
        }
    }

    pub(crate) async fn list_page(&self, query: ListQuery) -> Result<ListPage> {
        let page = self.inner.backend.list(query).await;
        self.note(Operation::List, page)
    }
}

pub(crate) fn check_bulk_count(count: usize) -> Result<()> {
    if count > MAX_BULK_ITEMS {
        return Err(Error::BulkTooLarge {
            count,
            max: MAX_BULK_ITEMS,
        });
    }
    Ok(())
}

pub(crate) fn bulk_item(index: usize, key: &str, source: Error) -> Error {
    Error::BulkItem {
        index,
        key: key.to_owned(),
        source: Box::new(source),
    }
}
