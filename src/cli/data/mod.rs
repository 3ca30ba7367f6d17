//! The data commands — `kv key`, `kv bulk`, `kv export`, `kv import` — on the local data
//! directory (opened as the application opens it) or on a `kv serve` (`--remote`).
//!
//! Every command is written once against [`target::Target`]; [`Session`] decides what
//! a store name resolves to and checks it against the manifest.

pub(crate) mod bulk;
pub(crate) mod export;
pub(crate) mod import;
pub(crate) mod key;

mod bulk_file;
mod encoding;
mod error;
mod lines;
mod output;
mod progress;
mod records;
mod remote;
mod suggest;
mod target;
mod wire;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use clap::Args;
use kv_build::Application;
use kv_runtime::{Config, Runtime};

use self::error::{DataError, Result};
use self::progress::Ui;
use self::remote::Remote;
use self::target::{Limits, Target};
use super::{Failure, fail, project, usage};

/// The fjall block cache of a data command's runtime, unless `kv.toml` sets one.
const CLI_BLOCK_CACHE_BYTES: i64 = 8 * 1024 * 1024;

/// The fjall memtable of stores a data command creates (an import into a new data
/// directory), unless `kv.toml` sets one: what an import holds in memory per store.
const CLI_MEMTABLE_BYTES: i64 = 8 * 1024 * 1024;

/// The options every data command takes.
#[derive(Debug, Args)]
pub(crate) struct Common {
    /// The runtime configuration (backends, data directory, limits). Default:
    /// `./kv.toml` if it exists, else every store in fjall under `./.kv`.
    #[arg(long, value_name = "PATH", conflicts_with = "remote")]
    config: Option<PathBuf>,
    /// The manifest naming the application and its stores (store names are checked
    /// against it). Default: `./raindrop.manifest` if it exists.
    #[arg(long, value_name = "PATH")]
    manifest: Option<PathBuf>,
    /// Work on a running `kv serve` at URL instead of the local data directory.
    /// Credentials: KV_API_KEY, KV_TOKEN, or KV_USERNAME and KV_PASSWORD.
    #[arg(long, value_name = "URL")]
    remote: Option<String>,
    /// No progress bar, no summary, no warnings: only errors.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// The configuration and manifest, read before the async runtime starts (so manifest
/// diagnostics print as `kv build` prints them).
#[derive(Debug)]
pub(crate) struct Prepared {
    config: Option<Config>,
    app: Option<Application>,
    remote: Option<String>,
    ui: Ui,
}

impl Prepared {
    pub(crate) fn load(common: &Common) -> std::result::Result<Self, Failure> {
        let app = project::load_manifest(common.manifest.as_deref())?;
        let config = match common.remote {
            Some(_) => None,
            None => Some(project::load_config(common.config.as_deref())?),
        };
        Ok(Self {
            config,
            app,
            remote: common.remote.clone(),
            ui: Ui::new(common.quiet),
        })
    }

    /// Opens the local runtime or connects to the server. `restore` (import) lowers
    /// every store's expiration floor to 1 second locally, so that expirations are
    /// written back exactly as exported.
    pub(crate) async fn open(self, restore: bool) -> Result<Session> {
        let place = match (self.remote, self.config) {
            (Some(url), _) => {
                let remote = Remote::connect(&url)?;
                let stores = remote.stores().await?;
                let limits = remote.limits().await?;
                Place::Remote {
                    remote,
                    stores,
                    limits,
                }
            }
            (None, Some(mut config)) => {
                // A command is one short scan or write pass: fjall's default 64 MiB block
                // cache would only raise its peak memory.
                let fjall = config.backend_settings("fjall");
                if fjall.get("block_cache_size").is_none() {
                    fjall.set("block_cache_size", CLI_BLOCK_CACHE_BYTES);
                }
                if fjall.get("memtable_size").is_none() {
                    fjall.set("memtable_size", CLI_MEMTABLE_BYTES);
                }
                if restore {
                    config.defaults.min_ttl = 1;
                    for store in config.stores.values_mut() {
                        store.min_ttl = 1;
                    }
                }
                let runtime = project::open_runtime(config, self.app.as_ref())
                    .await
                    .map_err(|e| DataError::new(project::open_error(&e, true)))?;
                Place::Local(runtime)
            }
            (None, None) => return Err(DataError::new("no configuration and no --remote")),
        };
        Ok(Session {
            app: self.app,
            place,
            ui: self.ui,
        })
    }
}

/// Where the stores are.
enum Place {
    Local(Runtime),
    Remote {
        remote: Remote,
        stores: Vec<String>,
        limits: BTreeMap<String, Limits>,
    },
}

/// An open data directory or server connection, with the manifest.
pub(crate) struct Session {
    app: Option<Application>,
    place: Place,
    pub(crate) ui: Ui,
}

impl Session {
    /// The stores the manifest declares, in its order; remotely without a manifest,
    /// the server's.
    pub(crate) fn all_stores(&self) -> Result<Vec<String>> {
        if let Some(app) = &self.app {
            return Ok(app.stores().iter().map(|s| s.name().to_owned()).collect());
        }
        match &self.place {
            Place::Remote { stores, .. } => Ok(stores.clone()),
            Place::Local(_) => Err(DataError::usage(
                "name the stores: there is no raindrop.manifest here to list them (or pass --manifest PATH)",
            )),
        }
    }

    /// Store `name`, checked against the manifest (locally) or the server's stores.
    pub(crate) fn target(&self, name: &str) -> Result<Target> {
        match &self.place {
            Place::Local(runtime) => {
                if let Some(app) = &self.app {
                    let known: Vec<&str> = app.stores().iter().map(|s| s.name()).collect();
                    check_known(name, &known, "the manifest")?;
                }
                let store = runtime
                    .store(name)
                    .map_err(|e| DataError::runtime(format_args!("store {name:?}"), e))?;
                Ok(Target::Local(store))
            }
            Place::Remote {
                remote,
                stores,
                limits,
            } => {
                let known: Vec<&str> = stores.iter().map(String::as_str).collect();
                check_known(name, &known, "the server")?;
                let limits = limits.get(name).copied().unwrap_or(Limits {
                    min_ttl: kv_runtime::limits::MIN_EXPIRATION_TTL_SECS,
                    max_value_size: kv_runtime::limits::DEFAULT_MAX_VALUE_BYTES,
                });
                Ok(Target::Remote {
                    name: name.to_owned(),
                    store: remote.store(name),
                    limits,
                })
            }
        }
    }

    /// Makes the writes durable (locally: flushes the stores) and closes.
    pub(crate) async fn close(self) -> Result<()> {
        if let Place::Local(runtime) = self.place {
            runtime
                .flush()
                .await
                .map_err(|e| DataError::runtime("flushing the stores", e))?;
        }
        Ok(())
    }
}

/// An error unless `name` is one of `known`, with a "did you mean" for a near miss.
fn check_known(name: &str, known: &[&str], whose: &str) -> Result<()> {
    if known.contains(&name) {
        return Ok(());
    }
    let list = if known.is_empty() {
        "it has none".to_owned()
    } else {
        format!("its stores: {}", known.join(", "))
    };
    let hint = match suggest::closest(name, known.iter().copied()) {
        Some(near) => format!("\nhint: did you mean {near:?}?"),
        None => String::new(),
    };
    Err(DataError::new(format!(
        "no store {name:?} in {whose} ({list}){hint}"
    )))
}

/// Runs a data command on a multi-threaded tokio runtime and turns its error into the
/// exit status: 1, or 2 for a usage error.
pub(crate) fn block_on(work: impl Future<Output = Result<()>>) -> std::result::Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| fail(format_args!("cannot start the async runtime: {error}")))?;
    runtime.block_on(work).map_err(|error| {
        if error.is_usage() {
            usage(error)
        } else {
            fail(error)
        }
    })
}
