//! The postgres backend as a conformance target.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::{BoxFuture, FutureExt as _, ready};

use super::Target;
use crate::{Config, Runtime, RuntimeBuilder, StoreConfig};

/// The environment variable that names the test server:
/// `postgres://user:password@host:port/database` (`.ci/postgres.sh start` prints it).
const POSTGRES_URL_VAR: &str = "KV_TEST_POSTGRES_URL";

/// The postgres backend, on the server that `KV_TEST_POSTGRES_URL` names
/// (`postgres://user:password@host:port/database`): each test gets
/// a namespace of its own (through a unique application name) in the default tables.
/// Shared and persistent, as a database is. Without the variable every test skips,
/// saying so — or fails when `CI` is set.
#[derive(Debug, Clone, Default)]
pub struct PostgresTarget {
    url: Option<String>,
}

impl PostgresTarget {
    /// The target on the server `KV_TEST_POSTGRES_URL` names, if it is set.
    pub fn new() -> Self {
        Self {
            url: std::env::var(POSTGRES_URL_VAR)
                .ok()
                .filter(|url| !url.is_empty()),
        }
    }

    /// The server's URL, if configured.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }
}

/// A name no other test (in this or another process) uses.
fn unique_name(what: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{what}-{}-{nanos:x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Target for PostgresTarget {
    /// The application name the test's stores live under: their namespaces are
    /// `{application}/{store}`.
    type Place = String;

    fn unavailable(&self) -> Option<String> {
        match self.url {
            Some(_) => None,
            None => Some(format!(
                "{POSTGRES_URL_VAR} is not set: the postgres backend was not tested \
                 (eval \"$(bash .ci/postgres.sh start)\" starts a throw-away server)"
            )),
        }
    }

    fn place(&self) -> BoxFuture<'static, String> {
        ready(unique_name("kvtest")).boxed()
    }

    fn runtime(&self, place: &String, store: StoreConfig) -> RuntimeBuilder {
        let mut config = Config::default();
        config.defaults = store
            .backend(crate::backend::postgres::NAME)
            .setting("url", self.url.clone().unwrap_or_default());
        Runtime::builder().config(config).application(place.clone())
    }

    fn shared(&self) -> bool {
        true
    }

    fn persistent(&self) -> bool {
        true
    }

    /// Half the default: each operation is a round trip or more.
    fn model_cases(&self) -> u32 {
        64
    }
}
