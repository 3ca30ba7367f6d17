//! The postgres backend's settings: what a store section or `[backends.postgres]` may
//! say, checked and turned into a connection configuration.

use std::fmt;
use std::str::FromStr as _;
use std::time::Duration;

use tokio_postgres::config::Host;

use super::NAME;
use crate::backend::Settings;
use crate::backend::settings::redact_url;
use crate::config::Durability;
use crate::error::{Error, Result};

/// The settings the backend knows.
pub(super) const KNOWN: [&str; 7] = [
    "url",
    "password_env",
    "schema",
    "table",
    "namespace",
    "pool_size",
    "timeout_ms",
];

/// Default `pool_size`: connections per pool.
pub(super) const DEFAULT_POOL_SIZE: u64 = 16;
/// Default `timeout_ms`: connecting, waiting for a pooled connection, and each statement.
pub(super) const DEFAULT_TIMEOUT_MS: u64 = 5000;
/// The longest table prefix: the longest name derived from it (`{table}_records_expiration`)
/// must fit PostgreSQL's 63-byte identifiers.
const MAX_TABLE_PREFIX: usize = 40;

/// Which pool a store uses: stores whose connection settings agree share one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct PoolKey {
    url: String,
    password_env: Option<String>,
    pool_size: u64,
    timeout_ms: u64,
    /// Durability `sync`: connections set `synchronous_commit = on`.
    sync: bool,
}

impl fmt::Debug for PoolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolKey")
            .field("url", &redact_url(&self.url))
            .field("password_env", &self.password_env)
            .field("pool_size", &self.pool_size)
            .field("timeout_ms", &self.timeout_ms)
            .field("sync", &self.sync)
            .finish()
    }
}

/// Where a store's tables are: a schema and the prefix of the table names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct TableNames {
    pub(super) schema: String,
    pub(super) table: String,
}

/// One store section's settings, checked.
#[derive(Debug, Clone)]
pub(super) struct PgSettings {
    pub(super) pool: PoolKey,
    pub(super) tables: TableNames,
    pub(super) namespace: Option<String>,
}

impl PgSettings {
    /// Reads and checks `settings` (a store's section over `[backends.postgres]`).
    pub(super) fn parse(settings: &Settings, durability: Durability) -> Result<Self> {
        settings.check_known(NAME, &KNOWN)?;
        let url = settings.str("url")?.ok_or_else(|| {
            settings.error(
                "url",
                "missing: a store on postgres needs `url = \"postgres://user@host:port/database\"`",
            )
        })?;
        tokio_postgres::Config::from_str(url).map_err(|e| {
            settings.error(
                "url",
                format_args!("not a PostgreSQL URL: {}", super::pool::chain(&e)),
            )
        })?;
        let password_env = settings.str("password_env")?.map(str::to_owned);
        if let Some(var) = &password_env
            && std::env::var_os(var).is_none()
        {
            return Err(settings.error(
                "password_env",
                format_args!("environment variable {var} is not set"),
            ));
        }
        let schema = identifier(settings, "schema", "public", 63)?;
        let table = identifier(settings, "table", "kv", MAX_TABLE_PREFIX)?;
        let namespace = settings.str("namespace")?.map(str::to_owned);
        if namespace.as_deref() == Some("") {
            return Err(settings.error("namespace", "must not be empty"));
        }
        let pool_size = settings.u64("pool_size")?.unwrap_or(DEFAULT_POOL_SIZE);
        if !(1..=1000).contains(&pool_size) {
            return Err(settings.error(
                "pool_size",
                format_args!("{pool_size} is out of range: use 1 to 1000 connections"),
            ));
        }
        let timeout_ms = settings.u64("timeout_ms")?.unwrap_or(DEFAULT_TIMEOUT_MS);
        if !(1..=3_600_000).contains(&timeout_ms) {
            return Err(settings.error(
                "timeout_ms",
                format_args!("{timeout_ms} is out of range: use 1 to 3600000 milliseconds"),
            ));
        }
        Ok(Self {
            pool: PoolKey {
                url: url.to_owned(),
                password_env,
                pool_size,
                timeout_ms,
                sync: durability == Durability::Sync,
            },
            tables: TableNames { schema, table },
            namespace,
        })
    }
}

fn identifier(settings: &Settings, key: &str, default: &str, max: usize) -> Result<String> {
    let Some(name) = settings.str(key)? else {
        return Ok(default.to_owned());
    };
    let valid = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.len() <= max;
    if valid {
        Ok(name.to_owned())
    } else {
        Err(settings.error(
            key,
            format_args!(
                "{name:?} is not a plain identifier: use lowercase letters, digits and `_`, \
                 starting with a letter or `_`, at most {max} bytes"
            ),
        ))
    }
}

impl PoolKey {
    /// The configured timeout.
    pub(super) fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub(super) fn pool_size(&self) -> usize {
        usize::try_from(self.pool_size).unwrap_or(usize::MAX)
    }

    /// The connection configuration: the URL, the password from `password_env`, and the
    /// session settings every connection starts with (statement timeout, durability).
    pub(super) fn connection_config(&self) -> Result<tokio_postgres::Config> {
        let mut config = tokio_postgres::Config::from_str(&self.url)
            .map_err(|e| Error::backend(NAME, super::pool::chain(&e)))?;
        if let Some(var) = &self.password_env {
            let password = std::env::var(var).map_err(|_| {
                Error::backend(NAME, format!("environment variable {var} is not set"))
            })?;
            config.password(password);
        }
        let mut options = config.get_options().unwrap_or_default().to_owned();
        options.push_str(&format!(" -c statement_timeout={}", self.timeout_ms));
        if self.sync {
            options.push_str(" -c synchronous_commit=on");
        }
        config.options(options.trim_start());
        if config.get_application_name().is_none() {
            config.application_name("kv-runtime");
        }
        config.connect_timeout(self.timeout());
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        Ok(config)
    }

    /// What errors call the server: `PostgreSQL at host:port, database "db" (user "u")`.
    /// Never the password.
    pub(super) fn describe(&self) -> String {
        match tokio_postgres::Config::from_str(&self.url) {
            Ok(config) => describe_config(&config),
            Err(_) => format!("PostgreSQL at {}", redact_url(&self.url)),
        }
    }
}

fn describe_config(config: &tokio_postgres::Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "localhost:5432".to_owned()
    } else {
        hosts.join(",")
    };
    let user = config.get_user().unwrap_or("");
    let database = config.get_dbname().unwrap_or(user);
    format!("PostgreSQL at {hosts}, database {database:?} (user {user:?})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(settings: Settings) -> Result<PgSettings> {
        PgSettings::parse(&settings, Durability::Buffered)
    }

    #[test]
    fn defaults_and_description() {
        let s = parse(
            Settings::new("stores.s").with("url", "postgres://kv:hunter2@db.internal:6543/app"),
        )
        .unwrap();
        assert_eq!(s.tables.schema, "public");
        assert_eq!(s.tables.table, "kv");
        assert_eq!(s.pool.pool_size, DEFAULT_POOL_SIZE);
        assert_eq!(s.pool.timeout_ms, DEFAULT_TIMEOUT_MS);
        let shown = s.pool.describe();
        assert_eq!(
            shown,
            "PostgreSQL at db.internal:6543, database \"app\" (user \"kv\")"
        );
        assert!(!format!("{s:?}").contains("hunter2"), "{s:?}");
        let config = s.pool.connection_config().unwrap();
        assert_eq!(
            config.get_options(),
            Some("-c statement_timeout=5000"),
            "buffered stores keep the server's synchronous_commit"
        );
    }

    #[test]
    fn errors_name_the_key_and_never_the_password() {
        let err = parse(Settings::new("stores.s")).unwrap_err().to_string();
        assert!(err.starts_with("[stores.s] url: missing"), "{err}");
        let err = parse(
            Settings::new("stores.s")
                .with("url", "postgres://kv:hunter2@h/db")
                .with("table", "Bad-Name"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("[stores.s] table: \"Bad-Name\""), "{err}");
        let err = parse(Settings::new("stores.s").with("url", "postgres://kv:hunter2@h/db?x=1"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a PostgreSQL URL"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = parse(
            Settings::new("stores.s")
                .with("url", "postgres://h/db")
                .with("password_env", "KV_SURELY_UNSET_VARIABLE"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("KV_SURELY_UNSET_VARIABLE is not set"), "{err}");
        let err = parse(
            Settings::new("stores.s")
                .with("url", "postgres://h/db")
                .with("pool", 3),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("[stores.s] pool: unknown key"), "{err}");
        let err = parse(
            Settings::new("stores.s")
                .with("url", "postgres://h/db")
                .with("pool_size", 0),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("pool_size: 0 is out of range"), "{err}");
    }

    #[test]
    fn sync_stores_ask_for_synchronous_commit() {
        let s = PgSettings::parse(
            &Settings::new("stores.s")
                .with("url", "postgres://h/db?options=-c%20work_mem%3D8MB")
                .with("timeout_ms", 250),
            Durability::Sync,
        )
        .unwrap();
        let config = s.pool.connection_config().unwrap();
        assert_eq!(
            config.get_options(),
            Some("-c work_mem=8MB -c statement_timeout=250 -c synchronous_commit=on")
        );
        assert_eq!(
            config.get_connect_timeout(),
            Some(&Duration::from_millis(250))
        );
    }
}
