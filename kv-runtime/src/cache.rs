//! The read cache behind `get(..).cache_ttl(secs)`: a byte-bounded in-process cache in
//! front of any backend, shared by a runtime's stores.
//!
//! A read with a cache TTL is served from the cache while its entry is fresh (a *hit*)
//! and otherwise read from the backend and cached (a *miss*); misses are cached too,
//! as Workers KV does. A put or delete through the same runtime removes the key's
//! entry when it completes. To keep a read that raced with such a write from caching
//! the value it read before the write, writes bump a per-key-stripe epoch and a reader
//! drops what it cached if the epoch moved while it read. Values stored in chunks are
//! never cached: they are large, and the cache is for hot small values.

use std::hash::{BuildHasher as _, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use quick_cache::Weighter;

use crate::backend::RecordHead;

const EPOCH_STRIPES: usize = 256;

/// `(store name, key)`.
type CacheKey = (Arc<str>, String);

/// A cached read: the value and its head, or a miss; and until when it is fresh.
#[derive(Debug, Clone)]
pub(crate) struct CachedRead {
    pub(crate) record: Option<(Bytes, RecordHead)>,
    pub(crate) fresh_until: u64,
}

#[derive(Debug, Clone, Copy)]
struct ByteWeight;

impl Weighter<CacheKey, CachedRead> for ByteWeight {
    fn weight(&self, key: &CacheKey, read: &CachedRead) -> u64 {
        let record = read.record.as_ref().map_or(0, |(value, head)| {
            value.len() + head.metadata.as_ref().map_or(0, Bytes::len)
        });
        // Keys and bookkeeping count too, so that caching misses is bounded as well.
        (key.1.len() + record + 64) as u64
    }
}

/// A runtime's read cache.
pub(crate) struct ReadCache {
    entries: quick_cache::sync::Cache<CacheKey, CachedRead, ByteWeight>,
    epochs: Box<[AtomicU64]>,
    hasher: RandomState,
    /// Whether any read has used the cache yet: until one has, writes have nothing to
    /// invalidate and skip the cache entirely.
    used: AtomicBool,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("entries", &self.entries.len())
            .field("bytes", &self.entries.weight())
            .finish()
    }
}

impl ReadCache {
    /// A cache holding at most about `capacity_bytes` of keys and values.
    pub(crate) fn new(capacity_bytes: u64) -> Self {
        let estimated_items = usize::try_from(capacity_bytes / 1024).unwrap_or(1).max(16);
        Self {
            entries: quick_cache::sync::Cache::with_weighter(
                estimated_items,
                capacity_bytes.max(1),
                ByteWeight,
            ),
            epochs: (0..EPOCH_STRIPES).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::new(),
            used: AtomicBool::new(false),
        }
    }

    fn epoch(&self, store: &str, key: &str) -> &AtomicU64 {
        let index = (self.hasher.hash_one((store, key)) as usize) % self.epochs.len();
        &self.epochs[index]
    }

    /// The fresh entry for `key`, if any.
    pub(crate) fn get(&self, store: &Arc<str>, key: &str, now: u64) -> Option<CachedRead> {
        let cache_key = (Arc::clone(store), key.to_owned());
        self.entries
            .get(&cache_key)
            .filter(|read| read.fresh_until > now)
    }

    /// The write epoch to pass to [`ReadCache::insert`] for a read that starts now.
    pub(crate) fn begin_read(&self, store: &str, key: &str) -> u64 {
        self.used.store(true, Ordering::SeqCst);
        self.epoch(store, key).load(Ordering::SeqCst)
    }

    /// Caches a read that began at `epoch`, unless a write to the key (or its stripe)
    /// completed since.
    pub(crate) fn insert(&self, store: &Arc<str>, key: &str, read: CachedRead, epoch: u64) {
        let cache_key = (Arc::clone(store), key.to_owned());
        if self.begin_read(store, key) != epoch {
            return;
        }
        self.entries.insert(cache_key.clone(), read);
        if self.begin_read(store, key) != epoch {
            self.entries.remove(&cache_key);
        }
    }

    /// Forgets every key of `store` (after a `delete_prefix`, which does not say which
    /// keys it removed). Every epoch moves, so reads in flight do not cache either.
    pub(crate) fn invalidate_store(&self, store: &Arc<str>) {
        if !self.used.load(Ordering::SeqCst) {
            return;
        }
        for epoch in self.epochs.iter() {
            epoch.fetch_add(1, Ordering::SeqCst);
        }
        self.entries.retain(|(name, _), _| name != store);
    }

    /// Forgets `key` after a write to it.
    pub(crate) fn invalidate(&self, store: &Arc<str>, key: &str) {
        // A read that starts caching after this check began after the write completed,
        // so it reads the new value: skipping here is safe.
        if !self.used.load(Ordering::SeqCst) {
            return;
        }
        self.epoch(store, key).fetch_add(1, Ordering::SeqCst);
        self.entries.remove(&(Arc::clone(store), key.to_owned()));
    }
}
