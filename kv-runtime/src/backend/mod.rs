//! The seam between [`KvStore`](crate::KvStore) and where data lives: the [`Backend`]
//! trait, what it stores and is asked, and the [`BackendFactory`] that opens one per
//! store.
//!
//! The runtime ships `memory` and `fjall` (always), `redis` (feature `redis`) and
//! `postgres` (feature `postgres`); [`RuntimeBuilder::backend`](crate::RuntimeBuilder::backend)
//! registers your own under a name, and `backend = "that-name"` in `kv.toml` selects it.
//! The conformance kit (feature `conformance`, [`crate::conformance`]) is the suite
//! every built-in backend passes; run it against yours.
//!
//! # The contract
//!
//! A backend stores *records* for one store: a value, a [`RecordHead`] (version,
//! expiration, metadata), under a key. It knows none of Workers KV's rules: the store
//! validates every request first (keys, sizes, metadata, expirations, limits, cursors),
//! so a backend receives only valid requests and every backend behaves alike. What a
//! backend must do:
//!
//! - **Atomic records.** A put replaces value, expiration and metadata together: a
//!   reader sees the old record or the new one, never a mix. A failed put (a stream
//!   error, [`Error::ValueTooLarge`](crate::Error::ValueTooLarge) mid-stream, a lost
//!   connection, a cancelled future) leaves the old record in place.
//! - **Versions.** Every write of a key (put, touch) gives the record a new
//!   [`Version`]; the backend never issues a version twice within a store, whatever
//!   the key, and never again after a key is deleted and re-created.
//! - **Conditions.** A [`Condition`] is checked atomically with the write it guards,
//!   against the record live at the request's `now` (a record expired at `now` counts
//!   as absent). A condition that fails writes nothing and returns
//!   [`Error::conflict`](crate::Error::conflict) with the current version.
//! - **Bulk all-or-nothing.** `put_many` and `delete_many` apply every item or none;
//!   in `put_many` every item's condition must hold for any item to be written.
//! - **Time belongs to the runtime.** Every method that depends on time gets `now`
//!   from the runtime's [`Clock`](crate::Clock) (tests drive a [`ManualClock`](crate::ManualClock)).
//!   A backend never uses its own clock to decide expiry. `get` may return an expired
//!   record (the store filters it); `list`, `count`, conditions and `touch` treat a
//!   record expired at `now` as absent. `purge_expired(now)` physically removes what
//!   expired at or before `now`; a server-side TTL may only ever be a clean-up backstop
//!   set well after the expiration.
//! - **Listing.** Keys in byte order of their UTF-8 encoding; the prefix matched
//!   literally (no wildcards); resumable strictly after a key, which need not exist
//!   any more; at most `limit` keys, skipping expired ones without shortening the page;
//!   [`ListPage::more`] exact.
//! - **Chunked values.** A [`Payload::Stream`] must be written in memory bounded by a
//!   chunk, whatever its size, and become visible atomically when the last chunk is in.
//!   A [`StoredValue::Chunked`] read streams one consistent version: never a mix of
//!   two writes; if the value is replaced while the read streams, the read either
//!   finishes with the version it started or fails with an error.
//! - **Watching.** Every successful write (put, touch, delete, each item of a bulk
//!   write, each key the purge removes) is delivered to the backend's watchers whose
//!   prefix matches, in the order applied, through [`watch`](Backend::watch). A
//!   backend used by one process keeps a [`ChangeHub`]; a shared one also delivers
//!   other processes' writes.
//! - **Concurrency.** Every method may be called concurrently from many tasks and
//!   threads; the futures it returns are `Send`. Methods never block the async worker
//!   for long: blocking I/O belongs on a blocking thread.
//! - **Errors.** Storage failures are [`Error::Backend`](crate::Error::Backend)
//!   (build them with [`Error::backend`](crate::Error::backend)); never a panic, and
//!   never a hang past the backend's configured timeout.
//!
//! Default implementations of [`Backend::head`], [`Backend::count`] and
//! [`Backend::delete_prefix`] are built on `get`, `list` and `delete_many`; override
//! them when the storage does better.
//!
//! # Writing your own
//!
//! A complete backend over a `BTreeMap` behind a mutex, run through the whole
//! conformance kit:
//!
// The example is also `examples/custom_backend.rs`, so it keeps its `main`.
#![allow(clippy::needless_doctest_main)]
#![cfg_attr(feature = "conformance", doc = "```")]
#![cfg_attr(not(feature = "conformance"), doc = "```ignore")]
#![doc = include_str!("../../examples/custom_backend.rs")]
//! ```

use std::fmt;

use bytes::Bytes;
use futures_util::future::BoxFuture;

use crate::error::Result;
use crate::version::Version;

mod changes;
mod defaults;
mod factory;
pub(crate) mod fjall;
pub(crate) mod memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
mod record;
#[cfg(feature = "redis")]
pub(crate) mod redis;
pub(crate) mod settings;

pub use self::changes::{ChangeHub, ChangeStream, DEFAULT_WATCH_BUFFER};
pub use self::factory::{BackendFactory, PrepareContext, StoreContext};
pub use self::record::{
    ByteStream, Condition, ListPage, ListQuery, ListedKey, NewRecord, Payload, Record, RecordHead,
    StoredValue,
};
pub use self::settings::Settings;

/// A store's storage: records under keys, with the guarantees the
/// [module documentation](self) lists. Object safe: stores hold `Arc<dyn Backend>`.
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// The backend's name, as `kv.toml` selects it (`"fjall"`, `"redis"`, ...).
    fn name(&self) -> &'static str;

    /// The record under `key`, expired or not (the store filters on its clock).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Record>>>;

    /// [`get`](Backend::get) without a future, for backends that answer point reads
    /// at once from memory or an embedded engine: it saves an allocation on the
    /// hottest path. `None` means "await `get` instead", which a networked backend
    /// always answers (the default).
    fn get_now(&self, key: &str) -> Option<Result<Option<Record>>> {
        let _ = key;
        None
    }

    /// The head of the record under `key` (expired or not), without its value.
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<RecordHead>>> {
        defaults::head(self, key)
    }

    /// Replaces whatever `record.key` holds, if `record.condition` holds at `now`.
    /// Returns the record's new version.
    fn put(&self, record: NewRecord, now: u64) -> BoxFuture<'_, Result<Version>>;

    /// Writes every record or none: if any item's condition fails at `now`, nothing is
    /// written, and the [`Error::conflict`](crate::Error::conflict) names the first item,
    /// in order, whose condition fails. Keys are distinct. Returns the new versions, in
    /// item order.
    fn put_many(
        &self,
        records: Vec<NewRecord<Bytes>>,
        now: u64,
    ) -> BoxFuture<'_, Result<Vec<Version>>>;

    /// Removes `key` if `condition` holds at `now`. Returns whether a live record was
    /// removed; removing an absent key succeeds (with `false`).
    fn delete<'a>(
        &'a self,
        key: &'a str,
        condition: Condition,
        now: u64,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Removes every key or none; returns how many live records went.
    fn delete_many(&self, keys: Vec<String>, now: u64) -> BoxFuture<'_, Result<u64>>;

    /// Sets the expiration of the live record under `key` (`None`: never expires),
    /// keeping its value and metadata, as a write: the record gets a new version, which
    /// is returned. `None` if no record is live at `now`; nothing is written then.
    fn touch<'a>(
        &'a self,
        key: &'a str,
        expiration: Option<u64>,
        now: u64,
    ) -> BoxFuture<'a, Result<Option<Version>>>;

    /// Live keys matching `query`, at most `query.limit` of them, in byte order.
    fn list(&self, query: ListQuery) -> BoxFuture<'_, Result<ListPage>>;

    /// How many records under `prefix` are live at `now`, in bounded memory.
    fn count<'a>(&'a self, prefix: &'a str, now: u64) -> BoxFuture<'a, Result<u64>> {
        defaults::count(self, prefix, now)
    }

    /// Removes every record under `prefix` that exists when the call starts (records
    /// written meanwhile may survive); returns how many live ones went. Works in
    /// bounded memory and never holds up other operations for more than a page's worth.
    fn delete_prefix<'a>(&'a self, prefix: &'a str, now: u64) -> BoxFuture<'a, Result<u64>> {
        defaults::delete_prefix(self, prefix, now)
    }

    /// Physically removes every record that expired at or before `now`; returns how
    /// many went, and reports each to watchers as [`Change::expired`](crate::Change::expired).
    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<u64>>;

    /// The changes to keys under `prefix` made after the returned future resolves,
    /// queued up to `buffer` deep (see [`ChangeHub`]).
    fn watch<'a>(&'a self, prefix: &'a str, buffer: usize) -> BoxFuture<'a, Result<ChangeStream>>;
}

/// Reads a whole stream into one buffer. A one-item stream is returned without
/// copying; `capacity` (a length hint) sizes the buffer otherwise. For backends that
/// keep values whole (and for bulk writes, which carry whole values).
pub async fn collect(mut stream: ByteStream, capacity: u64) -> Result<Bytes> {
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
