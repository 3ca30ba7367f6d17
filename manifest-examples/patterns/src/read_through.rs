//! [`ReadThroughCache`]: a read-through cache with stale-while-revalidate.
//!
//! The guide's `CacheManager`: a value is fresh for `ttl` after it was cached, then
//! served stale for up to `stale` more while one background task reloads it, and
//! reloaded in line after that.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kv_runtime::{Clock, Json, KvStore, SystemClock};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

/// The metadata stored with every cached value.
#[derive(Debug, Serialize, Deserialize)]
struct Stamp {
    /// When the value was cached, in Unix seconds of the cache's clock.
    cached_at: u64,
}

/// A read-through cache over a [`KvStore`], with stale-while-revalidate.
///
/// [`get_or_load`](Self::get_or_load) answers from the store while a value is fresh,
/// answers with the stale value while a background task reloads it, and calls the
/// loader in line on a miss. Values are stored as JSON with `{"cached_at": secs}`
/// metadata, and expire from the store once they are too old to serve even stale.
///
/// Freshness is decided with the cache's [`Clock`] (the system clock unless
/// [`with_clock`](Self::with_clock) says otherwise); give it the same clock as the
/// runtime the store comes from.
///
/// Clones share their bookkeeping of refreshes in flight: at most one refresh per key
/// runs at a time across all clones. Concurrent *misses* are not coalesced: each calls
/// its loader, and the last write wins.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> patterns::Result<()> {
/// use std::time::Duration;
/// use patterns::{Env, LookupStatus, ReadThroughCache};
///
/// let env = Env::in_memory();
/// let cache = ReadThroughCache::new(env.CACHE.clone());
/// let ttl = Duration::from_secs(300);
/// let stale = Duration::from_secs(3600);
///
/// let users = cache
///     .get_or_load("api:users", ttl, stale, || async {
///         Ok::<_, std::io::Error>(vec!["ada".to_owned(), "grace".to_owned()])
///     })
///     .await?;
/// assert_eq!(users.status, LookupStatus::Loaded);
///
/// let again = cache
///     .get_or_load("api:users", ttl, stale, || async {
///         Ok::<_, std::io::Error>(Vec::<String>::new())
///     })
///     .await?;
/// assert_eq!(again.status, LookupStatus::Fresh);
/// assert_eq!(again.value, users.value);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ReadThroughCache {
    store: KvStore,
    clock: Arc<dyn Clock>,
    refreshing: Arc<Mutex<HashSet<String>>>,
}

/// Where the value of a [`Lookup`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupStatus {
    /// From the store, younger than `ttl`.
    Fresh,
    /// From the store, older than `ttl` but within `ttl + stale`; a refresh is running
    /// (started by this lookup, or by an earlier one still in flight).
    Stale,
    /// From the loader: the key was missing, too old, or unreadable.
    Loaded,
}

/// The answer of [`ReadThroughCache::get_or_load`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Lookup<T> {
    /// The value.
    pub value: T,
    /// Whether it was fresh, stale or just loaded.
    pub status: LookupStatus,
    /// The background refresh this lookup started, if it started one: only for a
    /// stale value whose key had no refresh in flight. Dropping it lets the refresh
    /// run on; awaiting [`Refresh::finished`] waits for it.
    pub refresh: Option<Refresh>,
}

impl<T> Lookup<T> {
    /// The value, dropping the rest (a refresh keeps running).
    pub fn into_value(self) -> T {
        self.value
    }
}

/// A background refresh of one key, started by a stale lookup.
#[derive(Debug)]
#[must_use = "dropping a Refresh lets it run on unobserved; await `finished` to wait for it"]
pub struct Refresh {
    key: String,
    task: JoinHandle<Result<()>>,
}

impl Refresh {
    /// The key being refreshed.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Waits until the refresh has stored the new value, or failed.
    ///
    /// # Errors
    ///
    /// [`Error::Load`] if the loader failed (or panicked); [`Error::Store`] if storing
    /// the new value failed. Either way the stale value stays in place, and the next
    /// stale lookup of the key starts a new refresh.
    pub async fn finished(self) -> Result<()> {
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(Error::Load {
                key: self.key,
                source: Box::new(join),
            }),
        }
    }
}

/// Removes a key from the set of refreshes in flight when the refresh ends, however it
/// ends: success, error, panic or cancellation.
struct InFlight {
    refreshing: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.refreshing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

impl ReadThroughCache {
    /// A cache over `store`, deciding freshness with the system clock.
    pub fn new(store: KvStore) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
            refreshing: Arc::default(),
        }
    }

    /// Decides freshness with `clock` instead, e.g. the
    /// [`ManualClock`](kv_runtime::ManualClock) a test gave the runtime.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The store the cache keeps its values in.
    pub fn store(&self) -> &KvStore {
        &self.store
    }

    /// Whether a background refresh of `key` is running.
    pub fn is_refreshing(&self, key: &str) -> bool {
        self.refreshing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(key)
    }

    /// The value under `key`: from the store if it was cached less than `ttl` ago; the
    /// stale value, with a refresh in the background, if it was cached less than
    /// `ttl + stale` ago; otherwise `loader`'s value, stored before it is returned.
    ///
    /// Times are whole seconds (the clock's resolution). The stored value expires from
    /// the store after `ttl + stale`, or after the store's `min_ttl` if that is longer
    /// (an entry older than `ttl + stale` is never served, whatever the store holds).
    ///
    /// A background refresh calls `loader` on a tokio task; at most one runs per key.
    /// If it fails, the stale value stays and the next stale lookup tries again. Called
    /// outside a tokio runtime, where nothing can run in the background, a stale value
    /// is reloaded in line instead.
    ///
    /// # Errors
    ///
    /// [`Error::Load`] if `loader` fails on a miss (nothing is stored);
    /// [`Error::Store`] if the store fails to read or write, e.g. a value over the
    /// store's `max_value_size`. A cached value that no longer decodes as `T` is a miss,
    /// not an error.
    pub async fn get_or_load<T, F, Fut, E>(
        &self,
        key: impl Into<String>,
        ttl: Duration,
        stale: Duration,
        loader: F,
    ) -> Result<Lookup<T>>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = std::result::Result<T, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let key = key.into();
        if let Some((value, cached_at)) = self.read::<T>(&key).await? {
            let age = self.clock.now_secs().saturating_sub(cached_at);
            let ttl_secs = ttl.as_secs();
            if age < ttl_secs {
                return Ok(Lookup {
                    value,
                    status: LookupStatus::Fresh,
                    refresh: None,
                });
            }
            if age < ttl_secs.saturating_add(stale.as_secs())
                && tokio::runtime::Handle::try_current().is_ok()
            {
                let refresh = self.spawn_refresh(key, ttl, stale, loader);
                return Ok(Lookup {
                    value,
                    status: LookupStatus::Stale,
                    refresh,
                });
            }
        }
        let value = self.load(&key, ttl, stale, loader).await?;
        Ok(Lookup {
            value,
            status: LookupStatus::Loaded,
            refresh: None,
        })
    }

    /// Removes `key` from the cache, so that the next lookup loads it.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the key is invalid or the store fails.
    pub async fn invalidate(&self, key: impl Into<String>) -> Result<()> {
        Ok(self.store.delete(key).await?)
    }

    /// The cached value and when it was cached; `None` if missing or undecodable.
    async fn read<T: DeserializeOwned>(&self, key: &str) -> Result<Option<(T, u64)>> {
        let found = self.store.get_with_metadata(key).bytes().await?;
        let Some(bytes) = found.value else {
            return Ok(None);
        };
        let stamp = found
            .metadata
            .and_then(|m| serde_json::from_value::<Stamp>(m).ok());
        let Some(Stamp { cached_at }) = stamp else {
            tracing::warn!(key, "cached value has no cached_at metadata; reloading");
            return Ok(None);
        };
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(Some((value, cached_at))),
            Err(error) => {
                tracing::warn!(key, %error, "cached value does not decode; reloading");
                Ok(None)
            }
        }
    }

    /// Calls `loader` and stores its value, stamped with the time of the write.
    async fn load<T, F, Fut, E>(
        &self,
        key: &str,
        ttl: Duration,
        stale: Duration,
        loader: F,
    ) -> Result<T>
    where
        T: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let value = loader().await.map_err(|e| Error::Load {
            key: key.to_owned(),
            source: e.into(),
        })?;
        let keep = ttl
            .as_secs()
            .saturating_add(stale.as_secs())
            .max(self.store.config().min_ttl);
        self.store
            .put(key, Json(&value))
            .metadata(Stamp {
                cached_at: self.clock.now_secs(),
            })
            .expiration_ttl(keep)
            .await?;
        Ok(value)
    }

    /// Starts a refresh of `key` on a tokio task, unless one is already in flight.
    fn spawn_refresh<T, F, Fut, E>(
        &self,
        key: String,
        ttl: Duration,
        stale: Duration,
        loader: F,
    ) -> Option<Refresh>
    where
        T: Serialize + Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = std::result::Result<T, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let newly_inserted = self
            .refreshing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone());
        if !newly_inserted {
            return None;
        }
        let in_flight = InFlight {
            refreshing: Arc::clone(&self.refreshing),
            key: key.clone(),
        };
        let cache = self.clone();
        let task_key = key.clone();
        let task = tokio::spawn(async move {
            let _in_flight = in_flight;
            let result = cache.load(&task_key, ttl, stale, loader).await.map(drop);
            if let Err(error) = &result {
                tracing::warn!(key = task_key, %error, "background refresh failed; the stale value stays");
            }
            result
        });
        Some(Refresh { key, task })
    }
}
