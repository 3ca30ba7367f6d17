//! What a store has done since it was opened — operations by kind, backend errors and
//! read-cache results — counted with relaxed atomics and read as a [`StoreStats`]
//! snapshot, for metrics (`kv serve`'s `/metrics` renders them).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// A kind of store operation, as [`StoreStats`] counts them.
///
/// A read served by the read cache counts as a [`Get`](Operation::Get) like any other;
/// `get_many` counts one `Get` per key and `update` its reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operation {
    /// `get`, `get_with_metadata`, and each key of `get_many`.
    Get,
    /// A read of a key's metadata, expiration and version without its value.
    Head,
    /// `put`.
    Put,
    /// `delete`.
    Delete,
    /// One page of `list`.
    List,
    /// `put_many`.
    PutMany,
    /// `delete_many`.
    DeleteMany,
    /// `touch`.
    Touch,
    /// `count`.
    Count,
    /// `delete_prefix`.
    DeletePrefix,
    /// `purge_expired` (also run in the background).
    Purge,
    /// The start of a `watch`.
    Watch,
}

impl Operation {
    /// Every kind, in a stable order.
    pub const ALL: [Operation; 12] = [
        Operation::Get,
        Operation::Head,
        Operation::Put,
        Operation::Delete,
        Operation::List,
        Operation::PutMany,
        Operation::DeleteMany,
        Operation::Touch,
        Operation::Count,
        Operation::DeletePrefix,
        Operation::Purge,
        Operation::Watch,
    ];

    /// The kind's name in `snake_case` (`"get"`, `"put_many"`, ...), for labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Head => "head",
            Self::Put => "put",
            Self::Delete => "delete",
            Self::List => "list",
            Self::PutMany => "put_many",
            Self::DeleteMany => "delete_many",
            Self::Touch => "touch",
            Self::Count => "count",
            Self::DeletePrefix => "delete_prefix",
            Self::Purge => "purge",
            Self::Watch => "watch",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A snapshot of a store's counters since it was opened; from
/// [`KvStore::stats`](crate::KvStore::stats).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kv_runtime::Result<()> {
/// use kv_runtime::{KvStore, Operation};
///
/// let store = KvStore::in_memory("demo-cache");
/// store.put("user:1", "Ada").await?;
/// store.get("user:1").cache_ttl(60).text().await?; // a miss, then cached
/// store.get("user:1").cache_ttl(60).text().await?; // a hit
///
/// let stats = store.stats();
/// assert_eq!(stats.operation(Operation::Put), 1);
/// assert_eq!(stats.operation(Operation::Get), 2);
/// assert_eq!((stats.cache_hits, stats.cache_misses), (1, 1));
/// assert_eq!(stats.backend_errors, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    operations: [u64; Operation::ALL.len()],
    /// Operations the backend failed ([`Error::Backend`]).
    pub backend_errors: u64,
    /// Reads with a cache TTL served from the read cache.
    pub cache_hits: u64,
    /// Reads with a cache TTL that had to go to the backend.
    pub cache_misses: u64,
}

impl StoreStats {
    /// How many operations of `kind` the store has served.
    pub fn operation(&self, kind: Operation) -> u64 {
        self.operations[kind.index()]
    }

    /// Every kind with its count, in [`Operation::ALL`]'s order.
    pub fn operations(&self) -> impl Iterator<Item = (Operation, u64)> + '_ {
        Operation::ALL
            .into_iter()
            .map(|op| (op, self.operation(op)))
    }
}

/// The live counters behind [`StoreStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    operations: [AtomicU64; Operation::ALL.len()],
    backend_errors: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
}

impl Counters {
    /// Counts one operation of `kind` and, if it failed in the backend, the error;
    /// passes the result through.
    pub(crate) fn note<T>(&self, kind: Operation, result: Result<T>) -> Result<T> {
        self.operations[kind.index()].fetch_add(1, Ordering::Relaxed);
        if let Err(Error::Backend { .. }) = &result {
            self.backend_errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    pub(crate) fn cache(&self, hit: bool) {
        let counter = if hit {
            &self.cache_hits
        } else {
            &self.cache_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> StoreStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StoreStats {
            operations: std::array::from_fn(|i| load(&self.operations[i])),
            backend_errors: load(&self.backend_errors),
            cache_hits: load(&self.cache_hits),
            cache_misses: load(&self.cache_misses),
        }
    }
}
