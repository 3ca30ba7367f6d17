//! The fjall backend: one fjall `Database` per runtime and, per store, three keyspaces:
//!
//! - `{store}`: one record per key: version, expiration, metadata and the value (or a
//!   reference to its chunks), encoded together (see [`codec`]) so a put replaces all
//!   of them atomically;
//! - `{store}.expiry`: `expiration ++ key` for every record with an expiration, written
//!   in the same batch as the record. The purge walks it up to now, so expired data
//!   leaves the disk in time proportional to what expired;
//! - `{store}.blobs`: values larger than [`CHUNK_BYTES`] and streamed values, as chunks
//!   of that size under a blob id, plus a *pending* marker per blob still being written
//!   (see [`blobs`]). This keyspace uses fjall's key-value separation, so chunk bytes go
//!   to blob files and are not rewritten by every compaction, and a small memtable, so
//!   writing a large value holds little of it in memory.
//!
//! Versions come from a counter of the whole database (see [`database`]). Writers and
//! the purge serialize per key through striped locks, so that checking a condition,
//! reading a key's old record (to remove its chunks, or to check its expiration) and
//! replacing it happen as one step.
//!
//! Point reads and buffered writes call fjall directly: they touch the memtable, the
//! block cache and the journal's OS buffer, and cost about a microsecond, far less than
//! a hop to tokio's blocking pool (see the `vs_fjall` bench). Work that can take long —
//! listing a page, counting, reading chunks, purging, fsync — runs through [`blocking`].
//!
//! Settings, for the whole database, in `[backends.fjall]`: `block_cache_size` (bytes,
//! default 64 MiB) and `memtable_size` (bytes, default 64 MiB: how much a store holds
//! in memory before flushing, so memory per writing store and the size of each flush;
//! it applies to stores created after it is set). A store section has none of its own.

use std::hash::RandomState;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use fjall::{Database, Keyspace};
use futures_util::future::{BoxFuture, FutureExt as _, ready};

use super::{
    Backend, BackendFactory, ChangeHub, ChangeStream, Condition, ListPage, ListQuery, NewRecord,
    Payload, PrepareContext, Record, RecordHead, StoreContext,
};
use crate::config::Durability;
use crate::error::{Error, Result};
use crate::version::Version;

#[cfg(feature = "audit")]
pub(crate) mod audit;
mod blobs;
mod codec;
mod creation;
mod database;
mod group_sync;
mod scan;
#[cfg(test)]
mod tests;
mod writeback;
mod writes;

use self::blobs::Staged;
use self::database::FjallDatabase;
use self::writes::StagedRecord;

pub(crate) const NAME: &str = "fjall";

/// Size of the chunks a large or streamed value is stored in: 256 KiB. Values up to
/// this size are stored inline with their key.
pub(crate) const CHUNK_BYTES: usize = 256 * 1024;

/// Default capacity of fjall's block cache, in bytes: 64 MiB.
pub(crate) const DEFAULT_BLOCK_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Default size at which a store's memtable is sealed and flushed: 64 MiB (fjall's).
pub(crate) const DEFAULT_MEMTABLE_BYTES: u64 = 64 * 1024 * 1024;

/// The smallest memtable fjall takes: 1 MiB.
const MIN_MEMTABLE_BYTES: u64 = 1024 * 1024;

/// The `[backends.fjall]` settings, which belong to the whole database.
const DATABASE_SETTINGS: [&str; 2] = ["block_cache_size", "memtable_size"];

/// What the database is opened with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DatabaseSettings {
    /// The block cache's capacity, in bytes.
    pub(crate) block_cache_bytes: u64,
    /// When a store's memtable is sealed, in bytes: memory per store that writes, and
    /// how much each flush writes. Applies to stores created after it is set.
    pub(crate) memtable_bytes: u64,
}

/// How many stripes of per-key write locks a store has.
const STRIPES: usize = 64;

fn fjall_error(err: fjall::Error) -> Error {
    Error::backend(NAME, err)
}

/// Runs blocking work `f` off the async workers: with `block_in_place` on a
/// multi-thread tokio runtime (tokio moves the worker's other tasks elsewhere, and `f`
/// keeps this thread's warm caches), on the blocking pool on a current-thread runtime,
/// and inline outside tokio (so the backend never panics under another executor).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        Ok(handle) => handle
            .spawn_blocking(f)
            .await
            .map_err(|join| Error::backend(NAME, join))?,
        Err(_) => f(),
    }
}

/// Opens the runtime's fjall database in `prepare`, and a backend per store on it.
#[derive(Debug, Default)]
pub(crate) struct FjallFactory {
    database: OnceLock<FjallDatabase>,
}

impl BackendFactory for FjallFactory {
    fn prepare<'a>(&'a self, context: &'a PrepareContext<'a>) -> BoxFuture<'a, Result<()>> {
        async move {
            context.settings.check_known(NAME, &DATABASE_SETTINGS)?;
            for (_, store) in &context.stores {
                // The runtime overlays `[backends.fjall]` onto every store's settings, so
                // a store carries the section's own values: only another one is an error.
                for key in DATABASE_SETTINGS {
                    let own = store.settings.get(key);
                    if own.is_some() && own != context.settings.get(key) {
                        return Err(store.settings.error(
                            key,
                            "this belongs to the whole fjall database: set it in [backends.fjall]",
                        ));
                    }
                }
                store.settings.check_known(NAME, &DATABASE_SETTINGS)?;
            }
            let settings = DatabaseSettings {
                block_cache_bytes: context
                    .settings
                    .u64("block_cache_size")?
                    .unwrap_or(DEFAULT_BLOCK_CACHE_BYTES),
                memtable_bytes: match context.settings.u64("memtable_size")? {
                    Some(bytes) if bytes < MIN_MEMTABLE_BYTES => {
                        return Err(context.settings.error(
                            "memtable_size",
                            format_args!("{bytes} is under the smallest memtable, {MIN_MEMTABLE_BYTES} bytes (1 MiB)"),
                        ));
                    }
                    Some(bytes) => bytes,
                    None => DEFAULT_MEMTABLE_BYTES,
                },
            };
            let database = FjallDatabase::open(context.data_dir, settings).await?;
            // A second prepare of the same factory keeps the first database.
            let _ = self.database.set(database);
            Ok(())
        }
        .boxed()
    }

    fn open(&self, store: &StoreContext<'_>) -> Result<Arc<dyn Backend>> {
        let database = self.database.get().ok_or_else(|| {
            Error::backend(NAME, "the fjall database was not opened with the runtime")
        })?;
        Ok(Arc::new(FjallBackend::open(
            database,
            store.name,
            store.config.durability,
        )?))
    }

    fn flush(&self) -> BoxFuture<'_, Result<()>> {
        match self.database.get() {
            Some(database) => database.flush().boxed(),
            None => ready(Ok(())).boxed(),
        }
    }
}

/// One store on fjall. Cheap to clone.
#[derive(Clone)]
pub(crate) struct FjallBackend {
    inner: Arc<Inner>,
}

/// A store's keyspaces and the state its writers share.
struct Inner {
    database: FjallDatabase,
    db: Database,
    data: Keyspace,
    expiry: Keyspace,
    blobs: Keyspace,
    durability: Durability,
    stripes: Box<[Mutex<()>]>,
    hasher: RandomState,
    next_blob: AtomicU64,
    /// Chunk bytes written since this store last rotated its chunk memtable.
    unrotated_chunk_bytes: AtomicU64,
    /// Whether any key's value may be chunked. While none is, a write skips looking for
    /// the old value's chunks. Set at open, and by the first chunked put; never cleared.
    has_references: AtomicBool,
    changes: ChangeHub,
}

impl std::fmt::Debug for FjallBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallBackend")
            .field("keyspace", &self.inner.data.name())
            .field("durability", &self.inner.durability)
            .finish()
    }
}

impl FjallBackend {
    /// The backend for store `name` (a validated store name). Reclaims the chunks of
    /// any put that a crash interrupted.
    fn open(database: &FjallDatabase, name: &str, durability: Durability) -> Result<Self> {
        let keyspaces = database.keyspaces(name)?;
        let inner = Inner {
            database: database.clone(),
            db: database.db.clone(),
            data: keyspaces.data,
            expiry: keyspaces.expiry,
            blobs: keyspaces.blobs,
            durability,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: RandomState::new(),
            next_blob: AtomicU64::new(0),
            unrotated_chunk_bytes: AtomicU64::new(0),
            has_references: AtomicBool::new(true),
            changes: ChangeHub::new(),
        };
        inner.reclaim_interrupted_blobs()?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Makes a committed write durable as the store's durability asks.
    async fn settle(&self) -> Result<()> {
        match self.inner.durability {
            Durability::Buffered => Ok(()),
            Durability::Sync => self.inner.database.group_sync.sync().await,
        }
    }

    fn staged(&self, record: NewRecord<Bytes>) -> Result<StagedRecord> {
        Ok(StagedRecord {
            value: self.inner.stage_bytes(record.value)?,
            key: record.key,
            expiration: record.expiration,
            metadata: record.metadata,
            condition: record.condition,
        })
    }
}

impl Backend for FjallBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Record>>> {
        ready(self.inner.get(key)).boxed()
    }

    fn get_now(&self, key: &str) -> Option<Result<Option<Record>>> {
        Some(self.inner.get(key))
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<RecordHead>>> {
        ready(self.inner.head(key)).boxed()
    }

    fn put(&self, record: NewRecord, now: u64) -> BoxFuture<'_, Result<Version>> {
        async move {
            let NewRecord {
                key,
                expiration,
                metadata,
                value,
                condition,
            } = record;
            let value: Staged = match value {
                Payload::Bytes(bytes) => self.inner.stage_bytes(bytes)?,
                Payload::Stream(stream) => self.inner.stage_stream(stream).await?,
            };
            let staged = StagedRecord {
                key,
                expiration,
                metadata,
                condition,
                value,
            };
            let versions = self.inner.commit(vec![staged], now)?;
            self.settle().await?;
            versions
                .into_iter()
                .next()
                .ok_or_else(|| Error::backend(NAME, "a put committed no record"))
        }
        .boxed()
    }

    fn put_many(
        &self,
        records: Vec<NewRecord<Bytes>>,
        now: u64,
    ) -> BoxFuture<'_, Result<Vec<Version>>> {
        async move {
            let staged = records
                .into_iter()
                .map(|record| self.staged(record))
                .collect::<Result<Vec<_>>>()?;
            let versions = self.inner.commit(staged, now)?;
            self.settle().await?;
            Ok(versions)
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        key: &'a str,
        condition: Condition,
        now: u64,
    ) -> BoxFuture<'a, Result<bool>> {
        async move {
            let live = self.inner.delete(key, condition, now)?;
            self.settle().await?;
            Ok(live)
        }
        .boxed()
    }

    fn delete_many(&self, keys: Vec<String>, now: u64) -> BoxFuture<'_, Result<u64>> {
        async move {
            let removed = self.inner.delete_many(&keys, now)?;
            self.settle().await?;
            Ok(removed)
        }
        .boxed()
    }

    fn touch<'a>(
        &'a self,
        key: &'a str,
        expiration: Option<u64>,
        now: u64,
    ) -> BoxFuture<'a, Result<Option<Version>>> {
        async move {
            let touched = self.inner.touch(key, expiration, now)?;
            if touched.is_some() {
                self.settle().await?;
            }
            Ok(touched)
        }
        .boxed()
    }

    fn list(&self, query: ListQuery) -> BoxFuture<'_, Result<ListPage>> {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.list(&query)).boxed()
    }

    fn count<'a>(&'a self, prefix: &'a str, now: u64) -> BoxFuture<'a, Result<u64>> {
        let inner = Arc::clone(&self.inner);
        let prefix = prefix.to_owned();
        blocking(move || inner.count(&prefix, now)).boxed()
    }

    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<u64>> {
        let inner = Arc::clone(&self.inner);
        async move {
            let removed = blocking(move || inner.purge(now)).await?;
            if removed > 0 {
                self.settle().await?;
            }
            Ok(removed)
        }
        .boxed()
    }

    fn watch<'a>(&'a self, prefix: &'a str, buffer: usize) -> BoxFuture<'a, Result<ChangeStream>> {
        ready(Ok(self.inner.changes.subscribe(prefix, buffer))).boxed()
    }
}
