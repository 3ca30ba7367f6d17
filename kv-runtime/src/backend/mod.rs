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

pub(crate) mod fjall;
pub(crate) mod memory;

/// What a key holds: its value, when it expires, and its metadata as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) value: Bytes,
    /// Absolute Unix seconds.
    pub(crate) expiration: Option<u64>,
    /// Serialized JSON, already checked against the size limit.
    pub(crate) metadata: Option<Bytes>,
}

/// One key of a listing, without its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedKey {
    pub(crate) name: String,
    pub(crate) expiration: Option<u64>,
    pub(crate) metadata: Option<Bytes>,
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

/// A store's storage. Object safe, so stores hold `Arc<dyn Backend>`.
pub(crate) trait Backend: Send + Sync + fmt::Debug {
    /// The backend's name in errors and configuration (`"fjall"`, `"memory"`).
    fn name(&self) -> &'static str;

    /// The record under `key`, expired or not: the store filters on its clock.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Record>>>;

    /// Replaces whatever `key` held with `record`, atomically.
    fn put(&self, key: String, record: Record) -> BoxFuture<'_, Result<()>>;

    /// Removes `key`; succeeds when it is absent.
    fn delete(&self, key: String) -> BoxFuture<'_, Result<()>>;

    /// Live keys matching `query`, at most `query.limit` of them.
    fn list(&self, query: ListQuery) -> BoxFuture<'_, Result<ListPage>>;

    /// Physically removes every record that expired at or before `now`; returns how many.
    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<u64>>;
}
