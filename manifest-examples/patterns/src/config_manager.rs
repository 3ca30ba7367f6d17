//! [`ConfigManager`]: typed configuration in KV, cached in process, versioned.
//!
//! The guide's `ConfigManager`, typed with serde: `get()` serves an in-process copy for
//! a while (a minute by default) before reading KV again, and `update()` validates a
//! change before writing it. Unlike the guide, an absent configuration is `T::default()`
//! rather than an error, every write carries a version number in its metadata, and
//! writes are compare-and-set on the store's own version, so no update is lost.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kv_runtime::{Clock, Json, KvStore, SystemClock, Version};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The key a [`ConfigManager`] uses unless told otherwise (the guide's).
pub const DEFAULT_CONFIG_KEY: &str = "config:global";

/// How many times [`ConfigManager::update`] tries before giving up on a storm of
/// concurrent writers.
const MAX_ATTEMPTS: u32 = 64;

/// How long [`ConfigManager::get`] serves its in-process copy by default: one minute.
pub const DEFAULT_CACHE_FOR: Duration = Duration::from_secs(60);

/// The metadata stored with the configuration.
#[derive(Debug, Serialize, Deserialize)]
struct Stamp {
    version: u64,
    updated_at: u64,
}

/// One version of the configuration: dereferences to `T`.
///
/// Cheap to clone: the value is shared.
#[derive(Debug)]
pub struct Snapshot<T> {
    version: u64,
    value: Arc<T>,
    /// The stored record's version, for the compare-and-set; `None` while nothing is stored.
    record: Option<Version>,
}

impl<T> Snapshot<T> {
    /// The version: 0 while nothing is stored (the value is then `T::default()`), and
    /// one more with every write through a [`ConfigManager`].
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The value, shared.
    pub fn value(&self) -> &Arc<T> {
        &self.value
    }
}

impl<T> Clone for Snapshot<T> {
    fn clone(&self) -> Self {
        Self {
            version: self.version,
            value: Arc::clone(&self.value),
            record: self.record,
        }
    }
}

impl<T> Deref for Snapshot<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// The in-process copy, and when it was read (Unix seconds).
struct Cached<T> {
    snapshot: Snapshot<T>,
    read_at: u64,
}

type Validator<T> = Arc<dyn Fn(&T) -> std::result::Result<(), String> + Send + Sync>;

/// A typed configuration kept as JSON under one key of a [`KvStore`], with an
/// in-process cache and validated, versioned updates.
///
/// Clones share the cache.
///
/// # Versions: nothing is lost
///
/// Every write is a compare-and-set on the stored record's version
/// (`put(..).if_version(v)`, or `if_absent()` for the first one), so two writers —
/// clones, other managers, other processes on a shared Redis or PostgreSQL store —
/// can never both base a write on the same version. [`update`](Self::update) retries
/// with the newer value when it loses such a race; [`replace`](Self::replace) reports
/// [`Error::VersionConflict`] instead, for a change that a person based on what they
/// saw. (The guide's version, on Workers KV, has no compare-and-swap and says so: two
/// writers at the same moment both pass the check and the last one wins.)
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> patterns::Result<()> {
/// use serde::{Deserialize, Serialize};
/// use patterns::{ConfigManager, Env};
///
/// #[derive(Debug, Clone, Default, Serialize, Deserialize)]
/// struct Limits { api_calls: u32 }
///
/// let env = Env::in_memory();
/// let config = ConfigManager::<Limits>::new(env.CONFIG.clone())
///     .validate_with(|c: &Limits| if c.api_calls == 0 { Err("api_calls must be positive") } else { Ok(()) });
///
/// assert_eq!(config.get().await?.api_calls, 0);          // nothing stored: the default
/// let saved = config.update(|c| c.api_calls = 1000).await?;
/// assert_eq!((saved.version(), saved.api_calls), (1, 1000));
/// assert!(config.update(|c| c.api_calls = 0).await.is_err()); // refused, not written
/// assert_eq!(config.get().await?.api_calls, 1000);
/// # Ok(())
/// # }
/// ```
pub struct ConfigManager<T> {
    store: KvStore,
    key: String,
    clock: Arc<dyn Clock>,
    cache_for_secs: u64,
    validator: Option<Validator<T>>,
    cached: Arc<Mutex<Option<Cached<T>>>>,
}

impl<T> fmt::Debug for ConfigManager<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigManager")
            .field("store", &self.store)
            .field("key", &self.key)
            .field("clock", &self.clock)
            .field("cache_for_secs", &self.cache_for_secs)
            .field("validated", &self.validator.is_some())
            .finish_non_exhaustive()
    }
}

impl<T> Clone for ConfigManager<T> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            key: self.key.clone(),
            clock: Arc::clone(&self.clock),
            cache_for_secs: self.cache_for_secs,
            validator: self.validator.clone(),
            cached: Arc::clone(&self.cached),
        }
    }
}

impl<T> ConfigManager<T>
where
    T: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static,
{
    /// The configuration under `config:global` in `store`, cached for a minute by the
    /// system clock, accepting any value that serializes.
    pub fn new(store: KvStore) -> Self {
        Self {
            store,
            key: DEFAULT_CONFIG_KEY.to_owned(),
            clock: Arc::new(SystemClock),
            cache_for_secs: DEFAULT_CACHE_FOR.as_secs(),
            validator: None,
            cached: Arc::default(),
        }
    }

    /// Keeps the configuration under `key` instead.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// Serves [`get`](Self::get) from the in-process copy for `duration` (whole
    /// seconds) after reading it; zero reads KV every time. Default: one minute.
    #[must_use]
    pub fn cache_for(mut self, duration: Duration) -> Self {
        self.cache_for_secs = duration.as_secs();
        self
    }

    /// Reads time from `clock` instead, e.g. a [`ManualClock`](kv_runtime::ManualClock).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Refuses to write a configuration that `validate` rejects; its error becomes the
    /// reason of [`Error::Invalid`].
    #[must_use]
    pub fn validate_with<F, E>(mut self, validate: F) -> Self
    where
        F: Fn(&T) -> std::result::Result<(), E> + Send + Sync + 'static,
        E: fmt::Display,
    {
        self.validator = Some(Arc::new(move |value: &T| {
            validate(value).map_err(|e| e.to_string())
        }));
        self
    }

    /// The configuration: the in-process copy if it was read less than `cache_for`
    /// ago, otherwise what KV holds (`T::default()`, version 0, if nothing).
    ///
    /// A change written by another process is seen once the copy is older than
    /// `cache_for` (plus, on Workers KV, the time the write takes to propagate).
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] if the stored value does not decode as `T`;
    /// [`Error::Store`] if the store fails.
    pub async fn get(&self) -> Result<Snapshot<T>> {
        let now = self.clock.now_secs();
        if let Some(cached) = &*self.cached()
            && now.saturating_sub(cached.read_at) < self.cache_for_secs
        {
            return Ok(cached.snapshot.clone());
        }
        let snapshot = self.fetch().await?;
        self.keep(&snapshot, now);
        Ok(snapshot)
    }

    /// Applies `change` to the configuration KV holds now (not the cached copy),
    /// validates the result and writes it as the next version — if the configuration
    /// is still the one `change` saw; otherwise it reads the newer one and applies
    /// `change` again (so `change` may run more than once), up to 64 times.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] if the validator rejects the result (nothing is written);
    /// [`Error::Corrupt`] if the stored value does not decode; [`Error::Store`] if the
    /// store fails or 64 races in a row were lost.
    pub async fn update(&self, mut change: impl FnMut(&mut T)) -> Result<Snapshot<T>> {
        let mut attempts = 0;
        loop {
            let current = self.fetch().await?;
            let mut value = T::clone(&current.value);
            change(&mut value);
            match self.write(&current, value).await {
                Err(Error::Store(e)) if e.is_conflict() && attempts + 1 < MAX_ATTEMPTS => {
                    attempts += 1;
                    tokio::task::yield_now().await;
                }
                done => return done,
            }
        }
    }

    /// Writes `value` as the next version if KV still holds `expected_version`: an
    /// optimistic update, for a change based on a [`Snapshot`] read earlier. The check
    /// and the write are one compare-and-set: another writer in between makes this one
    /// fail, never both succeed.
    ///
    /// # Errors
    ///
    /// [`Error::VersionConflict`] if another version was written meanwhile;
    /// [`Error::Invalid`] if the validator rejects `value`; [`Error::Corrupt`] and
    /// [`Error::Store`] as for [`update`](Self::update). Nothing is written on error.
    pub async fn replace(&self, expected_version: u64, value: T) -> Result<Snapshot<T>> {
        let current = self.fetch().await?;
        if current.version != expected_version {
            return Err(Error::VersionConflict {
                expected: expected_version,
                found: current.version,
            });
        }
        match self.write(&current, value).await {
            Err(Error::Store(e)) if e.is_conflict() => Err(Error::VersionConflict {
                expected: expected_version,
                found: self.fetch().await?.version,
            }),
            done => done,
        }
    }

    /// Drops the in-process copy, so that the next [`get`](Self::get) reads KV.
    pub fn invalidate(&self) {
        *self.cached() = None;
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Option<Cached<T>>> {
        self.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn keep(&self, snapshot: &Snapshot<T>, read_at: u64) {
        *self.cached() = Some(Cached {
            snapshot: snapshot.clone(),
            read_at,
        });
    }

    /// What KV holds now, bypassing the in-process copy.
    async fn fetch(&self) -> Result<Snapshot<T>> {
        let found = self
            .store
            .get_with_metadata(self.key.clone())
            .bytes()
            .await?;
        let Some(bytes) = found.value else {
            return Ok(Snapshot {
                version: 0,
                value: Arc::new(T::default()),
                record: None,
            });
        };
        let value = serde_json::from_slice(&bytes).map_err(|source| Error::Corrupt {
            key: self.key.clone(),
            source,
        })?;
        // A value written by hand, without our metadata, counts as version 0.
        let version = found
            .metadata
            .and_then(|m| serde_json::from_value::<Stamp>(m).ok())
            .map_or(0, |stamp| stamp.version);
        Ok(Snapshot {
            version,
            value: Arc::new(value),
            record: found.version,
        })
    }

    /// Validates `value` and writes it as the version after `previous`, if the stored
    /// record is still `previous`'s.
    async fn write(&self, previous: &Snapshot<T>, value: T) -> Result<Snapshot<T>> {
        if let Some(validate) = &self.validator {
            validate(&value).map_err(|reason| Error::Invalid {
                what: "configuration".to_owned(),
                reason,
            })?;
        }
        let now = self.clock.now_secs();
        let version = previous.version.saturating_add(1);
        let put = self
            .store
            .put(self.key.clone(), Json(&value))
            .metadata(Stamp {
                version,
                updated_at: now,
            });
        let record = match previous.record {
            Some(record) => put.if_version(record).await?,
            None => put.if_absent().await?,
        };
        let snapshot = Snapshot {
            version,
            value: Arc::new(value),
            record: Some(record),
        };
        self.keep(&snapshot, now);
        Ok(snapshot)
    }
}
