//! [`Runtime`]: opens stores by name, on the backend the configuration names.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use crate::backend::{BackendFactory, PrepareContext, StoreContext};
use crate::cache::ReadCache;
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::config::{Config, StoreConfig};
use crate::error::Result;
use crate::key::validate_store_name;
use crate::purger::Purger;
use crate::store::KvStore;

/// How often expired keys are physically removed, by default.
const DEFAULT_PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// Where an application's stores live: a data directory with an embedded fjall
/// database (the default), memory, Redis, PostgreSQL or a backend of your own, per
/// store, as its [`Config`] says.
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
    factories: BTreeMap<String, Arc<dyn BackendFactory>>,
    cache: Arc<ReadCache>,
    /// Open stores, by application and name.
    stores: Mutex<HashMap<(Option<String>, String), KvStore>>,
    purger: Mutex<Option<Purger>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.inner.config)
            .field("clock", &self.inner.clock)
            .field("backends", &self.inner.factories.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The factories every runtime has, by name.
fn builtin_factories() -> BTreeMap<String, Arc<dyn BackendFactory>> {
    let mut factories: BTreeMap<String, Arc<dyn BackendFactory>> = BTreeMap::new();
    factories.insert(
        crate::backend::memory::NAME.to_owned(),
        Arc::new(crate::backend::memory::MemoryFactory),
    );
    factories.insert(
        crate::backend::fjall::NAME.to_owned(),
        Arc::new(crate::backend::fjall::FjallFactory::default()),
    );
    #[cfg(feature = "redis")]
    factories.insert(
        crate::backend::redis::NAME.to_owned(),
        Arc::new(crate::backend::redis::RedisFactory::default()),
    );
    #[cfg(feature = "postgres")]
    factories.insert(
        crate::backend::postgres::NAME.to_owned(),
        Arc::new(crate::backend::postgres::PostgresFactory::default()),
    );
    factories
}

impl Runtime {
    /// Opens (creating if needed) the data directory `dir` with default settings: every
    /// store on fjall, buffered durability, Workers KV's limits.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`](crate::Error::Locked) if another process holds `dir`;
    /// [`Error::Backend`](crate::Error::Backend) on I/O errors.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::builder().data_dir(dir.as_ref()).open().await
    }

    /// Opens the runtime a `kv.toml` file describes (see [`Config`]).
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config) for a missing or invalid file; otherwise
    /// as [`RuntimeBuilder::open`].
    pub async fn from_config_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder()
            .config(Config::from_file(path)?)
            .open()
            .await
    }

    /// A runtime whose stores all live in memory. For tests.
    pub fn in_memory() -> Self {
        let mut config = Config::default();
        config.defaults.backend = crate::backend::memory::NAME.to_owned();
        Self::from_parts(
            config,
            Arc::new(SystemClock),
            builtin_factories(),
            DEFAULT_PURGE_INTERVAL,
        )
    }

    /// Starts describing a runtime: data directory, configuration, clock, backends.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    fn from_parts(
        config: Config,
        clock: SharedClock,
        factories: BTreeMap<String, Arc<dyn BackendFactory>>,
        purge_interval: Duration,
    ) -> Self {
        let cache = Arc::new(ReadCache::new(config.read_cache_size));
        let runtime = Self {
            inner: Arc::new(Inner {
                cache,
                config,
                clock,
                factories,
                stores: Mutex::new(HashMap::new()),
                purger: Mutex::new(None),
            }),
        };
        runtime.start_purger(purge_interval);
        runtime
    }

    /// The handle to store `name`, opening it on first use, for the runtime's
    /// application (the configuration's `application`, if any).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidStoreName`](crate::Error::InvalidStoreName) unless `name` is
    /// lowercase letters, digits, `-` and `_`, starting with a letter;
    /// [`Error::Backend`](crate::Error::Backend) if the store cannot be opened.
    pub fn store(&self, name: impl AsRef<str>) -> Result<KvStore> {
        self.store_of(None, name.as_ref())
    }

    /// The handle to store `name` of application `application` (what the generated
    /// `Env` opens; the configuration's `application`, when set, takes precedence).
    pub(crate) fn store_of(&self, application: Option<&str>, name: &str) -> Result<KvStore> {
        validate_store_name(name)?;
        let application = self
            .inner
            .config
            .application
            .as_deref()
            .or(application)
            .map(str::to_owned);
        let mut stores = self
            .inner
            .stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let id = (application, name.to_owned());
        if let Some(store) = stores.get(&id) {
            return Ok(store.clone());
        }
        let config = self.inner.config.store(name).clone();
        let factory = self.factory(&config)?;
        let backend = factory.open(&StoreContext {
            name,
            application: id.0.as_deref(),
            config: &config,
            data_dir: &self.inner.config.data_dir,
        })?;
        let store = KvStore::new(
            name,
            backend,
            config,
            Arc::clone(&self.inner.clock),
            Arc::clone(&self.inner.cache),
        );
        stores.insert(id, store.clone());
        Ok(store)
    }

    fn factory(&self, config: &StoreConfig) -> Result<&Arc<dyn BackendFactory>> {
        self.inner.factories.get(&config.backend).ok_or_else(|| {
            let known: Vec<String> = self.inner.factories.keys().cloned().collect();
            self.inner
                .config
                .unknown_backend("defaults", &config.backend, &known)
        })
    }

    /// The configuration this runtime was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The names of the backends this runtime can open stores on.
    pub fn backends(&self) -> Vec<String> {
        self.inner.factories.keys().cloned().collect()
    }

    /// The names of the stores opened so far.
    pub fn open_stores(&self) -> Vec<String> {
        let stores = self
            .inner
            .stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> = stores.keys().map(|(_, name)| name.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Physically removes expired keys from every open store now; returns how many went.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`](crate::Error::Backend) if storage fails.
    pub async fn purge_expired(&self) -> Result<u64> {
        purge_all(&self.inner).await
    }

    /// Makes every acknowledged write durable (an fsync, for fjall). Buffered writes are
    /// also flushed when the last handle to the runtime is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`](crate::Error::Backend) if the disk write fails.
    pub async fn flush(&self) -> Result<()> {
        for factory in self.inner.factories.values() {
            factory.flush().await?;
        }
        Ok(())
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
#[derive(Default)]
#[must_use = "a RuntimeBuilder does nothing until `open` is awaited"]
pub struct RuntimeBuilder {
    config: Option<Config>,
    data_dir: Option<PathBuf>,
    application: Option<String>,
    in_memory: bool,
    clock: Option<SharedClock>,
    purge_interval: Option<Duration>,
    factories: BTreeMap<String, Arc<dyn BackendFactory>>,
}

impl fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("config", &self.config)
            .field("data_dir", &self.data_dir)
            .field("application", &self.application)
            .field("in_memory", &self.in_memory)
            .field("backends", &self.factories.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl RuntimeBuilder {
    /// Keeps embedded (fjall) stores in `dir` (overrides the configuration's `data_dir`).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Uses `config` for data directory, defaults, per-store and per-backend settings.
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Names the application the stores belong to (overrides the configuration's
    /// `application`): shared backends keep applications apart by it.
    pub fn application(mut self, name: impl Into<String>) -> Self {
        self.application = Some(name.into());
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

    /// Registers a backend under `name`, so that `backend = "name"` selects it (a
    /// built-in backend of the same name is replaced).
    pub fn backend(mut self, name: impl Into<String>, factory: impl BackendFactory) -> Self {
        self.factories.insert(name.into(), Arc::new(factory));
        self
    }

    /// Opens the runtime: checks that every store's backend exists, then lets each
    /// backend in use check its settings and connect.
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config) for an unknown backend or setting (naming
    /// the file and line); [`Error::Locked`](crate::Error::Locked) if another process
    /// holds the data directory; [`Error::Backend`](crate::Error::Backend) if a backend
    /// cannot be reached.
    pub async fn open(self) -> Result<Runtime> {
        let mut config = self.config.unwrap_or_default();
        if let Some(dir) = self.data_dir {
            config.data_dir = dir;
        }
        if let Some(application) = self.application {
            config.application = Some(application);
        }
        if self.in_memory {
            let memory = crate::backend::memory::NAME;
            config.defaults = StoreConfig {
                backend: memory.to_owned(),
                settings: Default::default(),
                ..config.defaults
            };
            for store in config.stores.values_mut() {
                store.backend = memory.to_owned();
                store.settings = Default::default();
            }
        }
        let mut factories = builtin_factories();
        factories.extend(self.factories);
        prepare(&mut config, &factories).await?;
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        Ok(Runtime::from_parts(
            config,
            clock,
            factories,
            self.purge_interval.unwrap_or(DEFAULT_PURGE_INTERVAL),
        ))
    }
}

/// Checks every section's backend, puts `[backends.NAME]` under each store's own
/// settings, and prepares every backend in use.
async fn prepare(
    config: &mut Config,
    factories: &BTreeMap<String, Arc<dyn BackendFactory>>,
) -> Result<()> {
    let known: Vec<String> = factories.keys().cloned().collect();
    let sections = std::iter::once(("defaults".to_owned(), &config.defaults)).chain(
        config
            .stores
            .iter()
            .map(|(n, s)| (format!("stores.{n}"), s)),
    );
    for (section, store) in sections {
        if !factories.contains_key(&store.backend) {
            return Err(config.unknown_backend(&section, &store.backend, &known));
        }
    }
    if let Some(name) = config.backends.keys().find(|n| !factories.contains_key(*n)) {
        return Err(crate::error::Error::Config {
            path: PathBuf::new(),
            message: format!(
                "[backends.{name}]: no such backend; known backends: {}",
                known.join(", ")
            ),
        });
    }
    let backends = config.backends.clone();
    let overlay = |store: &mut StoreConfig| {
        if let Some(shared) = backends.get(&store.backend) {
            store.settings = shared.overlaid(&store.settings);
        }
    };
    overlay(&mut config.defaults);
    config.stores.values_mut().for_each(overlay);
    let empty = crate::backend::Settings::new("backends");
    for (name, factory) in factories {
        let stores: Vec<(Option<&str>, &StoreConfig)> = std::iter::once((None, &config.defaults))
            .chain(config.stores.iter().map(|(n, s)| (Some(n.as_str()), s)))
            .filter(|(_, s)| &s.backend == name)
            .collect();
        if stores.is_empty() {
            continue;
        }
        let context = PrepareContext {
            data_dir: &config.data_dir,
            settings: config.backends.get(name).unwrap_or(&empty),
            stores,
        };
        factory.prepare(&context).await?;
    }
    Ok(())
}
