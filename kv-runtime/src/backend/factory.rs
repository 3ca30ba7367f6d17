//! [`BackendFactory`]: how a runtime opens the backend of each store.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use futures_util::future::{BoxFuture, FutureExt as _, ready};

use super::{Backend, Settings};
use crate::config::StoreConfig;
use crate::error::Result;

/// What a factory learns about the stores it will serve, once, as the runtime opens.
#[derive(Debug)]
#[non_exhaustive]
pub struct PrepareContext<'a> {
    /// The runtime's data directory (for embedded backends).
    pub data_dir: &'a Path,
    /// The `[backends.NAME]` section of `kv.toml`: settings for the whole backend.
    pub settings: &'a Settings,
    /// Every configuration that selects this backend: `[defaults]` (whose name is
    /// `None`) if it does, and each `[stores.NAME]` that does. Their
    /// [`StoreConfig::settings`] already include `[backends.NAME]`'s.
    pub stores: Vec<(Option<&'a str>, &'a StoreConfig)>,
}

/// The store a factory is asked to open.
#[derive(Debug)]
#[non_exhaustive]
pub struct StoreContext<'a> {
    /// The store's name, as the manifest declares it (a valid store name).
    pub name: &'a str,
    /// The application the store belongs to, when the runtime knows it (from the
    /// generated `Env`, `RuntimeBuilder::application` or `application` in `kv.toml`):
    /// shared backends use it to keep applications apart.
    pub application: Option<&'a str>,
    /// The store's settings, backend-specific ones in [`StoreConfig::settings`].
    pub config: &'a StoreConfig,
    /// The runtime's data directory.
    pub data_dir: &'a Path,
}

/// Opens backends for a runtime's stores. A runtime keeps one factory per backend
/// name: `memory` and `fjall` always, `redis` and `postgres` with their features, and
/// those registered with [`RuntimeBuilder::backend`](crate::RuntimeBuilder::backend).
///
/// The runtime calls [`prepare`](Self::prepare) once when it opens — the place to
/// check settings, connect and create schemas, so that a wrong URL or a server that is
/// down fails `Runtime::open` rather than the first request — then
/// [`open`](Self::open) once per store, synchronously, when the application first
/// asks for it; and [`flush`](Self::flush) when the runtime flushes.
pub trait BackendFactory: Send + Sync + fmt::Debug + 'static {
    /// Checks the settings of every store that will use this backend and gets ready
    /// to open them. Default: accepts no settings at all.
    fn prepare<'a>(&'a self, context: &'a PrepareContext<'a>) -> BoxFuture<'a, Result<()>> {
        let known = context
            .stores
            .iter()
            .try_for_each(|(_, store)| store.settings.check_known(&store.backend, &[]));
        ready(known).boxed()
    }

    /// The backend of one store. Called at most once per store per runtime.
    fn open(&self, store: &StoreContext<'_>) -> Result<Arc<dyn Backend>>;

    /// Makes every acknowledged write durable (fsync, for embedded backends). Default:
    /// nothing to do.
    fn flush(&self) -> BoxFuture<'_, Result<()>> {
        ready(Ok(())).boxed()
    }
}
