//! [`ConfigManager`]: typed configuration in KV, cached in process, versioned.
//!
//! The guide's `ConfigManager`, typed with serde: `get()` serves an in-process copy for
//! a while (a minute by default) before reading KV again, and `update()` validates a
//! change before writing it. Unlike the guide, an absent configuration is `T::default()`
//! rather than an error, and every write carries a version number in its metadata.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kv_runtime::{Clock, Json, KvStore, SystemClock};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The key a [`ConfigManager`] uses unless told otherwise (the guide's).
pub const DEFAULT_CONFIG_KEY: &str = "config:global";

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
/// Clones share the cache and serialize their writes.
///
/// # Versions, and what they do not promise
///
/// KV has no compare-and-swap: nothing makes "write only if the version is still 3"
/// atomic. [`ConfigManager::replace`] checks the version it reads just before writing,
/// which catches the common case (an admin saving a form loaded an hour ago, after
/// someone else's change), and writes through one manager and its clones are
/// serialized in process. Two processes writing at the same moment can still both pass
/// the check, and the last write wins; on Workers KV, where a write can take 60 s to
/// reach other locations, the window is that long. A configuration that must never
/// lose an update belongs behind a single writer (an actor, or a database with
/// transactions).
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
    writes: Arc<tokio::sync::Mutex<()>>,
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
            writes: Arc::clone(&self.writes),
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
            writes: Arc::default(),
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
    /// validates the result and writes it as the next version.
    ///
    /// Last writer wins against other processes; see [`ConfigManager`]'s section on versions.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] if the validator rejects the result (nothing is written);
    /// [`Error::Corrupt`] if the stored value does not decode; [`Error::Store`] if the
    /// store fails.
    pub async fn update(&self, change: impl FnOnce(&mut T)) -> Result<Snapshot<T>> {
        let _serialized = self.writes.lock().await;
        let current = self.fetch().await?;
        let mut value = T::clone(&current.value);
        change(&mut value);
        self.write(current.version, value).await
    }

    /// Writes `value` as the next version if KV still holds `expected_version`: an
    /// optimistic update, for a change based on a [`Snapshot`] read earlier.
    ///
    /// The check and the write are not atomic against other processes (KV has no
    /// compare-and-swap); see [`ConfigManager`]'s section on versions.
    ///
    /// # Errors
    ///
    /// [`Error::VersionConflict`] if another version was written meanwhile;
    /// [`Error::Invalid`] if the validator rejects `value`; [`Error::Corrupt`] and
    /// [`Error::Store`] as for [`update`](Self::update). Nothing is written on error.
    pub async fn replace(&self, expected_version: u64, value: T) -> Result<Snapshot<T>> {
        let _serialized = self.writes.lock().await;
        let current = self.fetch().await?;
        if current.version != expected_version {
            return Err(Error::VersionConflict {
                expected: expected_version,
                found: current.version,
            });
        }
        self.write(current.version, value).await
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
        })
    }

    /// Validates `value` and writes it as the version after `previous`.
    async fn write(&self, previous: u64, value: T) -> Result<Snapshot<T>> {
        if let Some(validate) = &self.validator {
            validate(&value).map_err(|reason| Error::Invalid {
                what: "configuration".to_owned(),
                reason,
            })?;
        }
        let now = self.clock.now_secs();
        let version = previous.saturating_add(1);
        self.store
            .put(self.key.clone(), Json(&value))
            .metadata(Stamp {
                version,
                updated_at: now,
            })
            .await?;
        let snapshot = Snapshot {
            version,
            value: Arc::new(value),
        };
        self.keep(&snapshot, now);
        Ok(snapshot)
    }
}
