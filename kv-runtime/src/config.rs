//! Runtime configuration: where data lives and how each store behaves (`kv.toml`).
//!
//! The manifest says *what* stores an application has; this file says *where* they
//! live. Every key is optional:
//!
//! ```toml
//! data_dir = ".kv"                 # relative paths resolve against this file's folder
//! read_cache_size = 33554432       # the cache behind get(..).cache_ttl(..), bytes (32 MiB)
//! application = "demo-app"         # names the application where the manifest does not
//!
//! [defaults]                       # applies to every store
//! backend = "fjall"                # fjall | memory | redis | postgres | a registered name
//! durability = "buffered"          # buffered | sync
//! min_ttl = 60                     # expiration floor in seconds, 1 or more
//! max_value_size = 26214400        # bytes
//!
//! [backends.fjall]                 # settings of a backend, for all of its stores
//! block_cache_size = 67108864      # fjall's block cache, bytes (64 MiB)
//!
//! [stores.demo-cache]              # per-store overrides, by manifest name
//! max_value_size = 1073741824
//!
//! [stores.sessions]                # a store on Redis: keys besides the four above
//! backend = "redis"                # are the backend's own settings
//! url = "redis://127.0.0.1:6379/0"
//! ```

mod file;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::backend::Settings;
use crate::backend::settings::{Origin, redact_urls_in};
use crate::error::{Error, Result};
use crate::limits::{DEFAULT_MAX_VALUE_BYTES, DEFAULT_READ_CACHE_BYTES, MIN_EXPIRATION_TTL_SECS};

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Acknowledged once in the operating system's buffers (fjall) or by the server
    /// (Redis, PostgreSQL, with their own persistence settings): survives a crash of
    /// the process. The default.
    #[default]
    Buffered,
    /// Acknowledged only once on disk (fsync, fjall), or once the server has made it
    /// durable (PostgreSQL `synchronous_commit = on`). Redis acknowledges a write once
    /// applied either way: on disk is its own persistence setting (`appendfsync`).
    Sync,
}

impl Durability {
    /// `"buffered"` or `"sync"`, as `kv.toml` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buffered => "buffered",
            Self::Sync => "sync",
        }
    }
}

/// How one store behaves.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct StoreConfig {
    /// The backend's name. Default: `"fjall"`.
    pub backend: String,
    /// When writes are acknowledged. Default: [`Durability::Buffered`].
    pub durability: Durability,
    /// The floor for `expiration_ttl`, and for how far ahead `expiration` must be, in
    /// seconds. Default: 60 (Workers KV's); 1 or more.
    pub min_ttl: u64,
    /// The largest value, in bytes. Default: 25 MiB (Workers KV's).
    pub max_value_size: u64,
    /// The backend's own settings (`url`, `namespace`, ...), which it checks when the
    /// runtime opens.
    pub settings: Settings,
}

/// `Debug` as derived, with the password of any URL hidden: a kv.toml may put one in
/// any string, a backend's name included (fuzzing found `backend = "x://u:pw@h"`).
impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("backend", &Hidden(&self.backend))
            .field("durability", &self.durability)
            .field("min_ttl", &self.min_ttl)
            .field("max_value_size", &self.max_value_size)
            .field("settings", &self.settings)
            .finish()
    }
}

/// `Debug` as derived, with the password of any URL hidden, wherever in the file's
/// strings it is (names of stores and backend sections, the data directory too).
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &Hidden(&self.data_dir))
            .field("read_cache_size", &self.read_cache_size)
            .field("application", &Hidden(&self.application))
            .field("defaults", &self.defaults)
            .field("stores", &Hidden(&self.stores))
            .field("backends", &Hidden(&self.backends))
            .field("origin", &Hidden(&self.origin))
            .field("backend_at", &Hidden(&self.backend_at))
            .finish()
    }
}

/// `value`'s `Debug`, with the password of every URL in it replaced by `***`.
struct Hidden<'a, T: ?Sized>(&'a T);

impl<T: fmt::Debug + ?Sized> fmt::Debug for Hidden<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if f.alternate() {
            format!("{:#?}", self.0)
        } else {
            format!("{:?}", self.0)
        };
        f.write_str(&redact_urls_in(&text))
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: crate::backend::fjall::NAME.to_owned(),
            durability: Durability::Buffered,
            min_ttl: MIN_EXPIRATION_TTL_SECS,
            max_value_size: DEFAULT_MAX_VALUE_BYTES,
            settings: Settings::new("defaults"),
        }
    }
}

impl StoreConfig {
    /// Sets the backend, by name (`"fjall"`, `"memory"`, `"redis"`, ...).
    #[must_use]
    pub fn backend(mut self, backend: impl Into<String>) -> Self {
        self.backend = backend.into();
        self
    }

    /// Sets the durability.
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets the expiration floor, in seconds (clamped to at least 1).
    #[must_use]
    pub fn min_ttl(mut self, secs: u64) -> Self {
        self.min_ttl = secs.max(1);
        self
    }

    /// Sets the largest value, in bytes.
    #[must_use]
    pub fn max_value_size(mut self, bytes: u64) -> Self {
        self.max_value_size = bytes;
        self
    }

    /// Sets one of the backend's own settings.
    #[must_use]
    pub fn setting(mut self, key: impl Into<String>, value: impl Into<toml::Value>) -> Self {
        self.settings.set(key, value);
        self
    }
}

/// A runtime's whole configuration: the data directory, defaults, per-store overrides,
/// per-backend settings.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Where embedded (fjall) stores live. Default: `.kv`.
    pub data_dir: PathBuf,
    /// Capacity of the read cache behind `get(..).cache_ttl(..)`, in bytes. Default: 32 MiB.
    pub read_cache_size: u64,
    /// The application whose stores these are, for backends shared between
    /// applications (a Redis key namespace). The generated `Env` names its own.
    pub application: Option<String>,
    /// Settings of every store without an override.
    pub defaults: StoreConfig,
    /// Per-store settings, by store name; each is complete (defaults already applied).
    pub stores: BTreeMap<String, StoreConfig>,
    /// `[backends.NAME]`: settings for every store on backend `NAME`.
    pub backends: BTreeMap<String, Settings>,
    /// Where this configuration was read from, for errors that name a line.
    origin: Option<Arc<Origin>>,
    /// Where each section's `backend = ...` is, by section (`defaults`, `stores.x`).
    backend_at: BTreeMap<String, usize>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".kv"),
            read_cache_size: DEFAULT_READ_CACHE_BYTES,
            application: None,
            defaults: StoreConfig::default(),
            stores: BTreeMap::new(),
            backends: BTreeMap::new(),
            origin: None,
            backend_at: BTreeMap::new(),
        }
    }
}

impl Config {
    /// The settings of store `name`.
    pub fn store(&self, name: &str) -> &StoreConfig {
        self.stores.get(name).unwrap_or(&self.defaults)
    }

    /// Reads a `kv.toml` file. A relative `data_dir` resolves against the file's folder.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the file, and the line and column of an unknown key, a
    /// wrong type or an impossible value.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: format!("cannot read the file: {e}"),
        })?;
        let mut config = Self::from_toml(&text, path)?;
        if config.data_dir.is_relative() {
            let base = path.parent().unwrap_or_else(|| Path::new(""));
            config.data_dir = base.join(&config.data_dir);
        }
        Ok(config)
    }

    /// Parses `kv.toml` text; `path` names the file in errors. Relative paths stay as given.
    ///
    /// # Errors
    ///
    /// As [`Config::from_file`].
    pub fn from_toml(text: &str, path: impl AsRef<Path>) -> Result<Self> {
        file::parse(text, path.as_ref())
    }

    /// The `[backends.NAME]` settings, created empty if absent: settings for every
    /// store on backend `name`, e.g.
    /// `config.backend_settings("fjall").set("block_cache_size", 16 << 20)`.
    pub fn backend_settings(&mut self, name: &str) -> &mut Settings {
        self.backends
            .entry(name.to_owned())
            .or_insert_with(|| Settings::new(format!("backends.{name}")))
    }

    /// The error for section `section` (`defaults`, `stores.x`) naming an unknown
    /// backend, with the line of its `backend = ...`.
    pub(crate) fn unknown_backend(&self, section: &str, name: &str, known: &[String]) -> Error {
        let at = self
            .backend_at
            .get(section)
            .zip(self.origin.as_ref())
            .map(|(offset, origin)| format!("{}: ", origin.position(*offset)))
            .unwrap_or_default();
        Error::Config {
            path: self
                .origin
                .as_ref()
                .map(|o| o.path.clone())
                .unwrap_or_default(),
            message: format!(
                "{at}[{section}] backend = {name:?}: no such backend; known backends: {}",
                known.join(", ")
            ),
        }
    }
}
