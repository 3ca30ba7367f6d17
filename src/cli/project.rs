//! The one place that opens a runtime the way the application would: the runtime
//! configuration (`--config`, else `./kv.toml` if it exists, else every store in fjall
//! under `./.kv`) and the manifest's application name, so that shared backends use the
//! application's key namespace. `kv serve` and the data commands both open through it.

use std::path::{Path, PathBuf};

use kv_build::Application;
use kv_runtime::{Config, Runtime};

use super::{Failure, fail};

/// The configuration file read when `--config` is not given, if it exists.
pub(crate) const DEFAULT_CONFIG: &str = "kv.toml";

/// The manifest read when `--manifest` is not given, if it exists (data commands).
pub(crate) const DEFAULT_MANIFEST: &str = "raindrop.manifest";

/// The configuration `--config` names; else `./kv.toml` if it exists; else the
/// embedded default (every store in fjall under `./.kv`).
pub(crate) fn load_config(explicit: Option<&Path>) -> Result<Config, Failure> {
    let path = match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_CONFIG)).filter(|p| p.is_file()),
    };
    match path {
        Some(path) => Config::from_file(&path).map_err(fail),
        None => Ok(Config::default()),
    }
}

/// The manifest `--manifest` names (which must exist), else `./raindrop.manifest` if
/// it exists, else none.
pub(crate) fn load_manifest(explicit: Option<&Path>) -> Result<Option<Application>, Failure> {
    match explicit {
        Some(path) => super::build::load(path).map(Some),
        None if Path::new(DEFAULT_MANIFEST).is_file() => {
            super::build::load(Path::new(DEFAULT_MANIFEST)).map(Some)
        }
        None => Ok(None),
    }
}

/// Opens the runtime `config` describes for `app`: the configuration's `application`
/// when it sets one (it wins in the generated `Env` too), else the manifest's.
///
/// # Errors
///
/// The runtime's: [`kv_runtime::Error::Locked`] when another process holds the data
/// directory, configuration and backend errors otherwise.
pub(crate) async fn open_runtime(
    config: Config,
    app: Option<&Application>,
) -> Result<Runtime, kv_runtime::Error> {
    let application = match (&config.application, app) {
        (None, Some(app)) => Some(app.name().to_owned()),
        _ => None,
    };
    let mut builder = Runtime::builder().config(config);
    if let Some(application) = application {
        builder = builder.application(application);
    }
    builder.open().await
}

/// The message for a runtime that could not be opened; for the data commands, a data
/// directory held by another process comes with the `--remote` hint.
pub(crate) fn open_error(error: &kv_runtime::Error, suggest_remote: bool) -> String {
    match error.root() {
        kv_runtime::Error::Locked { path } if suggest_remote => format!(
            "the data directory `{}` is in use by another process (a running `kv serve` or \
             your application); only one process at a time can open it\n\
             hint: talk to the running server instead: --remote http://127.0.0.1:8787",
            path.display()
        ),
        _ => error.to_string(),
    }
}
