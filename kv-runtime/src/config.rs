//! Runtime configuration: where data lives and how each store behaves (`kv.toml`).
//!
//! The manifest says *what* stores an application has; this file says *where* they
//! live. Every key is optional:
//!
//! ```toml
//! data_dir = ".kv"                 # relative paths resolve against this file's folder
//! block_cache_size = 67108864      # fjall's block cache, bytes (64 MiB)
//! read_cache_size = 33554432       # the cache behind get(..).cache_ttl(..), bytes (32 MiB)
//!
//! [defaults]                       # applies to every store
//! backend = "fjall"                # fjall | memory
//! durability = "buffered"          # buffered | sync
//! min_ttl = 60                     # expiration floor in seconds, 1 or more
//! max_value_size = 26214400        # bytes
//!
//! [stores.demo-cache]              # per-store overrides, by manifest name
//! max_value_size = 1073741824
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::key::validate_store_name;
use crate::limits::{
    DEFAULT_BLOCK_CACHE_BYTES, DEFAULT_MAX_VALUE_BYTES, DEFAULT_READ_CACHE_BYTES,
    MIN_EXPIRATION_TTL_SECS,
};

/// Where a store's data lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Embedded, on disk under the data directory; one process at a time. The default.
    #[default]
    Fjall,
    /// In this process's memory; gone when it exits. For tests and ephemeral caches.
    Memory,
}

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Acknowledged once in the operating system's buffers: survives a crash of the
    /// process, not a power loss or kernel crash. The default.
    #[default]
    Buffered,
    /// Acknowledged only once on disk (fsync): survives a power loss.
    Sync,
}

/// How one store behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreConfig {
    /// Where the data lives. Default: [`BackendKind::Fjall`].
    pub backend: BackendKind,
    /// When writes are acknowledged. Default: [`Durability::Buffered`].
    pub durability: Durability,
    /// The floor for `expiration_ttl`, and for how far ahead `expiration` must be, in
    /// seconds. Default: 60 (Workers KV's); 1 or more.
    pub min_ttl: u64,
    /// The largest value, in bytes. Default: 25 MiB (Workers KV's).
    pub max_value_size: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: BackendKind::Fjall,
            durability: Durability::Buffered,
            min_ttl: MIN_EXPIRATION_TTL_SECS,
            max_value_size: DEFAULT_MAX_VALUE_BYTES,
        }
    }
}

impl StoreConfig {
    /// Sets the backend.
    pub fn backend(mut self, backend: BackendKind) -> Self {
        self.backend = backend;
        self
    }

    /// Sets the durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets the expiration floor, in seconds (clamped to at least 1).
    pub fn min_ttl(mut self, secs: u64) -> Self {
        self.min_ttl = secs.max(1);
        self
    }

    /// Sets the largest value, in bytes.
    pub fn max_value_size(mut self, bytes: u64) -> Self {
        self.max_value_size = bytes;
        self
    }
}

/// A runtime's whole configuration: the data directory, defaults, per-store overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Where fjall stores live. Default: `.kv`.
    pub data_dir: PathBuf,
    /// Size of fjall's block cache, in bytes. Default: 64 MiB.
    pub block_cache_size: u64,
    /// Capacity of the read cache behind `get(..).cache_ttl(..)`, in bytes. Default: 32 MiB.
    pub read_cache_size: u64,
    /// Settings of every store without an override.
    pub defaults: StoreConfig,
    /// Per-store settings, by store name; each is complete (defaults already applied).
    pub stores: BTreeMap<String, StoreConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".kv"),
            block_cache_size: DEFAULT_BLOCK_CACHE_BYTES,
            read_cache_size: DEFAULT_READ_CACHE_BYTES,
            defaults: StoreConfig::default(),
            stores: BTreeMap::new(),
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
        let path = path.as_ref();
        let error = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| error(e.to_string().trim_end().to_owned()))?;
        let at = |span: std::ops::Range<usize>| {
            let line = text
                .get(..span.start)
                .map_or(0, |s| s.matches('\n').count())
                + 1;
            let col = text
                .get(..span.start)
                .map_or(0, |s| s.len() - s.rfind('\n').map_or(0, |i| i + 1))
                + 1;
            format!("line {line}, column {col}")
        };

        let mut problems = Vec::new();
        let defaults = file.defaults.unwrap_or_default().apply(
            StoreConfig::default(),
            "defaults",
            &at,
            &mut problems,
        );
        let mut stores = BTreeMap::new();
        for (name, settings) in file.stores {
            if let Err(e) = validate_store_name(name.get_ref()) {
                problems.push(format!(
                    "{}: [stores.{}]: {e}",
                    at(name.span()),
                    name.get_ref()
                ));
            }
            let section = format!("stores.{}", name.get_ref());
            let resolved = settings.apply(defaults.clone(), &section, &at, &mut problems);
            stores.insert(name.into_inner(), resolved);
        }
        if !problems.is_empty() {
            return Err(error(problems.join("\n")));
        }
        Ok(Self {
            data_dir: file.data_dir.unwrap_or_else(|| PathBuf::from(".kv")),
            block_cache_size: file.block_cache_size.unwrap_or(DEFAULT_BLOCK_CACHE_BYTES),
            read_cache_size: file.read_cache_size.unwrap_or(DEFAULT_READ_CACHE_BYTES),
            defaults,
            stores,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    data_dir: Option<PathBuf>,
    block_cache_size: Option<u64>,
    read_cache_size: Option<u64>,
    defaults: Option<StoreSection>,
    #[serde(default)]
    stores: BTreeMap<Spanned<String>, StoreSection>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StoreSection {
    backend: Option<BackendKind>,
    durability: Option<Durability>,
    min_ttl: Option<Spanned<u64>>,
    max_value_size: Option<Spanned<u64>>,
}

impl StoreSection {
    fn apply(
        self,
        base: StoreConfig,
        section: &str,
        at: &dyn Fn(std::ops::Range<usize>) -> String,
        problems: &mut Vec<String>,
    ) -> StoreConfig {
        let mut out = base;
        if let Some(backend) = self.backend {
            out.backend = backend;
        }
        if let Some(durability) = self.durability {
            out.durability = durability;
        }
        if let Some(min_ttl) = self.min_ttl {
            if *min_ttl.get_ref() == 0 {
                problems.push(format!(
                    "{}: [{section}] min_ttl = 0: the expiration floor must be at least 1 second",
                    at(min_ttl.span())
                ));
            }
            out.min_ttl = min_ttl.into_inner().max(1);
        }
        if let Some(max) = self.max_value_size {
            if *max.get_ref() == 0 {
                problems.push(format!(
                    "{}: [{section}] max_value_size = 0: the value size limit must be at least 1 byte",
                    at(max.span())
                ));
            }
            out.max_value_size = max.into_inner();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let config = Config::from_toml(
            "data_dir = \"data\"\n[defaults]\nmin_ttl = 1\n[stores.big]\nmax_value_size = 5\ndurability = \"sync\"\nbackend = \"memory\"\n",
            "kv.toml",
        )
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("data"));
        assert_eq!(config.store("other").min_ttl, 1);
        let big = config.store("big");
        assert_eq!((big.min_ttl, big.max_value_size), (1, 5));
        assert_eq!(big.durability, Durability::Sync);
        assert_eq!(big.backend, BackendKind::Memory);
    }

    #[test]
    fn unknown_key_names_key_file_and_line() {
        let err = Config::from_toml("[defaults]\nmin_ttl = 5\nmax_size = 3\n", "conf/kv.toml")
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("conf/kv.toml: "), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("max_size"), "{msg}");
    }

    #[test]
    fn impossible_values_name_line() {
        let err = Config::from_toml("[stores.a]\n\nmin_ttl = 0\n", "kv.toml").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("line 3, column 11") && msg.contains("min_ttl = 0"),
            "{msg}"
        );
        let err = Config::from_toml("[stores.Bad]\n", "kv.toml").unwrap_err();
        assert!(
            err.to_string().contains("invalid store name \"Bad\""),
            "{err}"
        );
        let err = Config::from_toml("[defaults]\nbackend = \"s3\"\n", "kv.toml").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = Config::from_toml("[defaults]\nmin_ttl = \"60\"\n", "kv.toml").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
