//! [`Runtime`]: opens stores by name, according to the configuration.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use crate::backend::Backend;
use crate::backend::fjall::FjallDatabase;
use crate::backend::memory::MemoryBackend;
use crate::cache::ReadCache;
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::config::{BackendKind, Config};
use crate::error::{Error, Result};
use crate::key::validate_store_name;
use crate::purger::Purger;
use crate::store::KvStore;

/// How often expired keys are physically removed, by default.
const DEFAULT_PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// Where an application's stores live: a data directory with an embedded fjall
/// database (the default), memory, or a mix, per store, as its [`Config`] says.
///
/// Cheap to clone. Opening the same store twice gives handles to the same data.
/// While a runtime holds a data directory, no other process can open it. Expired keys
/// are removed in the background every minute while a tokio runtime is present.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kv_runtime::Result<()> {
/// use kv_runtime::Runtime;
///
/// let dir = tempfile::tempdir().unwrap();
/// let rt = Runtime::open(dir.path()).await?;
/// let cache = rt.store("demo-cache")?;
/// cache.put("user:123", "John Doe").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    clock: SharedClock,
    fjall: Option<FjallDatabase>,
    cache: Arc<ReadCache>,
    stores: Mutex<HashMap<String, KvStore>>,
    purger: Mutex<Option<Purger>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.inner.config)
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Opens (creating if needed) the data directory `dir` with default settings: every
    /// store on fjall, buffered durability, Workers KV's limits.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] if another process holds `dir`; [`Error::Backend`] on I/O errors.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::builder().data_dir(dir.as_ref()).open().await
    }

    /// Opens the runtime a `kv.toml` file describes (see [`Config`]).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a missing or invalid file; otherwise as [`Runtime::open`].
    pub async fn from_config_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder()
            .config(Config::from_file(path)?)
            .open()
            .await
    }

    /// A runtime whose stores all live in memory. For tests.
    pub fn in_memory() -> Self {
        let mut config = Config::default();
        config.defaults.backend = BackendKind::Memory;
        Self::from_parts(config, Arc::new(SystemClock), None, DEFAULT_PURGE_INTERVAL)
    }

    /// Starts describing a runtime: data directory, configuration, clock.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    fn from_parts(
        config: Config,
        clock: SharedClock,
        fjall: Option<FjallDatabase>,
        purge_interval: Duration,
    ) -> Self {
        let cache = Arc::new(ReadCache::new(config.read_cache_size));
        let runtime = Self {
            inner: Arc::new(Inner {
                cache,
                config,
                clock,
                fjall,
                stores: Mutex::new(HashMap::new()),
                purger: Mutex::new(None),
            }),
        };
        runtime.start_purger(purge_interval);
        runtime
    }

    /// The handle to store `name`, opening it on first use.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidStoreName`] unless `name` is lowercase letters, digits, `-` and
    /// `_`, starting with a letter; [`Error::Backend`] if the store cannot be opened.
    pub fn store(&self, name: impl AsRef<str>) -> Result<KvStore> {
        let name = name.as_ref();
        validate_store_name(name)?;
        let mut stores = self
            .inner
            .stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(store) = stores.get(name) {
            return Ok(store.clone());
        }
        let config = self.inner.config.store(name).clone();
        let backend: Arc<dyn Backend> = match config.backend {
            BackendKind::Memory => Arc::new(MemoryBackend::new()),
            BackendKind::Fjall => {
                let fjall = self.inner.fjall.as_ref().ok_or_else(|| Error::Config {
                    path: PathBuf::from("kv.toml"),
                    message: format!("store {name:?} is configured for fjall, but this runtime has no data directory"),
                })?;
                Arc::new(fjall.store(name, config.durability)?)
            }
        };
        let store = KvStore::new(
            name,
            backend,
            config,
            Arc::clone(&self.inner.clock),
            Arc::clone(&self.inner.cache),
        );
        stores.insert(name.to_owned(), store.clone());
        Ok(store)
    }

    /// The configuration this runtime was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The names of the stores opened so far.
    pub fn open_stores(&self) -> Vec<String> {
        let stores = self
            .inner
            .stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> = stores.keys().cloned().collect();
        names.sort();
        names
    }

    /// Physically removes expired keys from every open store now; returns how many went.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] if storage fails.
    pub async fn purge_expired(&self) -> Result<u64> {
        purge_all(&self.inner).await
    }

    /// Writes everything buffered to disk (fsync). Buffered writes are also flushed when
    /// the last handle to the runtime is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] if the disk write fails.
    pub async fn flush(&self) -> Result<()> {
        match &self.inner.fjall {
            Some(db) => db.flush().await,
            None => Ok(()),
        }
    }

    fn start_purger(&self, interval: Duration) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let purger = Purger::start(interval, move || {
            let inner = weak.upgrade()?;
            Some(async move { purge_all(&inner).await })
        });
        *self
            .inner
            .purger
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = purger;
    }
}

async fn purge_all(inner: &Inner) -> Result<u64> {
    let stores: Vec<KvStore> = inner
        .stores
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .cloned()
        .collect();
    let mut removed = 0;
    for store in stores {
        removed += store.purge_expired().await?;
    }
    Ok(removed)
}

/// Describes a [`Runtime`] before opening it. From [`Runtime::builder`].
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kv_runtime::Result<()> {
/// use std::time::Duration;
/// use kv_runtime::{ManualClock, Runtime};
///
/// let clock = ManualClock::new(1_700_000_000);
/// let rt = Runtime::builder().in_memory().clock(clock.clone()).open().await?;
/// let sessions = rt.store("sessions")?;
/// sessions.put("s1", "alice").expiration_ttl(60).await?;
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(sessions.get("s1").text().await?, None);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
#[must_use = "a RuntimeBuilder does nothing until `open` is awaited"]
pub struct RuntimeBuilder {
    config: Option<Config>,
    data_dir: Option<PathBuf>,
    in_memory: bool,
    clock: Option<SharedClock>,
    purge_interval: Option<Duration>,
}

impl RuntimeBuilder {
    /// Keeps fjall stores in `dir` (overrides the configuration's `data_dir`).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Uses `config` for data directory, defaults and per-store settings.
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Puts every store in memory, whatever the configuration says.
    pub fn in_memory(mut self) -> Self {
        self.in_memory = true;
        self
    }

    /// Reads time from `clock` (e.g. a [`ManualClock`](crate::ManualClock) in tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// How often expired keys are physically removed in the background. Default: 60 s.
    pub fn purge_interval(mut self, interval: Duration) -> Self {
        self.purge_interval = Some(interval);
        self
    }

    /// Opens the runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] if another process holds the data directory; [`Error::Backend`]
    /// on I/O errors.
    pub async fn open(self) -> Result<Runtime> {
        let mut config = self.config.unwrap_or_default();
        if let Some(dir) = self.data_dir {
            config.data_dir = dir;
        }
        if self.in_memory {
            config.defaults.backend = BackendKind::Memory;
            for store in config.stores.values_mut() {
                store.backend = BackendKind::Memory;
            }
        }
        let needs_fjall = std::iter::once(&config.defaults)
            .chain(config.stores.values())
            .any(|s| s.backend == BackendKind::Fjall);
        let fjall = if needs_fjall {
            Some(FjallDatabase::open(&config.data_dir, config.block_cache_size).await?)
        } else {
            None
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        Ok(Runtime::from_parts(
            config,
            clock,
            fjall,
            self.purge_interval.unwrap_or(DEFAULT_PURGE_INTERVAL),
        ))
    }
}
