//! The redis backend's settings, from a store's section of `kv.toml` or
//! `[backends.redis]`: where the server is, how to authenticate, the key namespace,
//! the number of shards and the timeout.

use std::fmt;
use std::time::Duration;

use redis::IntoConnectionInfo as _;

use super::NAME;
use crate::backend::Settings;
use crate::backend::settings::redact_url;
use crate::error::{Error, Result};

/// Every setting the backend knows.
pub(super) const KNOWN: [&str; 6] = [
    "url",
    "cluster",
    "password_env",
    "namespace",
    "shards",
    "timeout_ms",
];

/// The most shards a store may have: versions are `counter * MAX_SHARDS + shard`.
pub(super) const MAX_SHARDS: u64 = 1024;

/// The response and connect timeout, by default.
const DEFAULT_TIMEOUT_MS: u64 = 5000;

/// Where the server is: one URL, or a cluster's seed nodes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) enum Endpoint {
    /// A standalone server (`redis://` or `rediss://`).
    Url(String),
    /// Seed nodes of a Redis Cluster.
    Cluster(Vec<String>),
}

impl Endpoint {
    /// The URLs it names, as given (with any password).
    pub(super) fn urls(&self) -> &[String] {
        match self {
            Self::Url(url) => std::slice::from_ref(url),
            Self::Cluster(urls) => urls,
        }
    }
}

/// Shows the URLs without their passwords.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(url) => f.write_str(&redact_url(url)),
            Self::Cluster(urls) => {
                let shown: Vec<String> = urls.iter().map(|u| redact_url(u)).collect();
                write!(f, "cluster [{}]", shown.join(", "))
            }
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// What identifies one client, shared by every store that names the same server the
/// same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ServerKey {
    pub(super) endpoint: Endpoint,
    /// The name of the environment variable holding the password (never its value).
    pub(super) password_env: Option<String>,
    pub(super) timeout_ms: u64,
}

impl ServerKey {
    pub(super) fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The password from [`password_env`](Self::password_env), if set.
    pub(super) fn password(&self, settings: &Settings) -> Result<Option<String>> {
        let Some(var) = &self.password_env else {
            return Ok(None);
        };
        match std::env::var(var) {
            Ok(password) => Ok(Some(password)),
            Err(std::env::VarError::NotPresent) => Err(settings.error(
                "password_env",
                format_args!("environment variable {var} is not set"),
            )),
            Err(std::env::VarError::NotUnicode(_)) => Err(settings.error(
                "password_env",
                format_args!("environment variable {var} is not valid UTF-8"),
            )),
        }
    }
}

/// One store's settings, checked.
#[derive(Debug, Clone)]
pub(super) struct StoreSettings {
    pub(super) server: ServerKey,
    /// The namespace set in `kv.toml`; `None`: derived from application and store.
    pub(super) namespace: Option<String>,
    pub(super) shards: u16,
}

impl StoreSettings {
    /// Checks `settings`: known keys, types, a valid URL or cluster, a namespace
    /// without braces, 1 to 1024 shards, a timeout of at least 1 ms.
    pub(super) fn parse(settings: &Settings) -> Result<Self> {
        settings.check_known(NAME, &KNOWN)?;
        let url = settings.str("url")?;
        let cluster = settings.strings("cluster")?;
        let endpoint = match (url, cluster) {
            (Some(_), Some(_)) => {
                return Err(settings.error(
                    "cluster",
                    "set either url (one server) or cluster (seed nodes), not both",
                ));
            }
            (Some(url), None) => {
                check_url(settings, "url", url)?;
                Endpoint::Url(url.to_owned())
            }
            (None, Some(urls)) => {
                if urls.is_empty() {
                    return Err(settings.error("cluster", "list at least one seed node URL"));
                }
                for url in &urls {
                    check_url(settings, "cluster", url)?;
                }
                Endpoint::Cluster(urls.into_iter().map(str::to_owned).collect())
            }
            (None, None) => {
                return Err(settings.error(
                    "url",
                    "a store on redis needs url = \"redis://host:port\" or \
                     cluster = [\"redis://host:port\", ...], in its section or in [backends.redis]",
                ));
            }
        };
        let password_env = settings.str("password_env")?.map(str::to_owned);
        if password_env.as_deref() == Some("") {
            return Err(settings.error("password_env", "name an environment variable"));
        }
        let namespace = settings.str("namespace")?.map(str::to_owned);
        if let Some(namespace) = &namespace {
            check_namespace(namespace).map_err(|m| settings.error("namespace", m))?;
        }
        let shards = settings.u64("shards")?.unwrap_or(1);
        if !(1..=MAX_SHARDS).contains(&shards) {
            return Err(settings.error(
                "shards",
                format_args!("{shards} is out of range: 1 to {MAX_SHARDS}"),
            ));
        }
        let timeout_ms = settings.u64("timeout_ms")?.unwrap_or(DEFAULT_TIMEOUT_MS);
        if timeout_ms == 0 {
            return Err(settings.error("timeout_ms", "must be at least 1"));
        }
        Ok(Self {
            server: ServerKey {
                endpoint,
                password_env,
                timeout_ms,
            },
            namespace,
            shards: u16::try_from(shards).unwrap_or(1),
        })
    }

    /// The store's namespace: the configured one, or `application/store` (`store`
    /// without an application).
    pub(super) fn namespace_for(&self, application: Option<&str>, store: &str) -> Result<String> {
        let namespace = match (&self.namespace, application) {
            (Some(namespace), _) => namespace.clone(),
            (None, Some(application)) => format!("{application}/{store}"),
            (None, None) => store.to_owned(),
        };
        check_namespace(&namespace).map_err(|message| Error::Config {
            path: Default::default(),
            message: format!("redis namespace {namespace:?} of store {store:?}: {message}"),
        })?;
        Ok(namespace)
    }
}

fn check_url(settings: &Settings, key: &str, url: &str) -> Result<()> {
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err(settings.error(
            key,
            format_args!("{:?} is not a redis:// or rediss:// URL", redact_url(url)),
        ));
    }
    url.into_connection_info().map(|_| ()).map_err(|err| {
        settings.error(
            key,
            format_args!("{:?} is not a valid Redis URL: {err}", redact_url(url)),
        )
    })
}

/// A namespace is part of a Redis Cluster hash tag: it may not hold braces.
fn check_namespace(namespace: &str) -> std::result::Result<(), &'static str> {
    if namespace.is_empty() {
        Err("a namespace may not be empty")
    } else if namespace.contains(['{', '}']) {
        Err("a namespace may not contain { or } (it becomes part of a Redis Cluster hash tag)")
    } else {
        Ok(())
    }
}

/// A [`Error::Backend`] for a failure talking to `endpoint` (shown without password).
pub(super) fn unreachable(endpoint: &Endpoint, err: impl fmt::Display) -> Error {
    Error::backend(NAME, format!("cannot reach Redis at {endpoint}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(settings: Settings) -> Result<StoreSettings> {
        StoreSettings::parse(&settings)
    }

    #[test]
    fn defaults_and_limits() {
        let s = parse(Settings::new("stores.s").with("url", "redis://127.0.0.1:1/0")).unwrap();
        assert_eq!(s.shards, 1);
        assert_eq!(s.server.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert_eq!(s.namespace_for(Some("app"), "s").unwrap(), "app/s");
        assert_eq!(s.namespace_for(None, "s").unwrap(), "s");
        let err = |settings: Settings| parse(settings).unwrap_err().to_string();
        assert!(err(Settings::new("stores.s")).contains("needs url"));
        assert!(
            err(Settings::new("stores.s")
                .with("url", "redis://h:1")
                .with("shards", 0))
            .contains("shards: 0 is out of range: 1 to 1024")
        );
        assert!(
            err(Settings::new("stores.s")
                .with("url", "redis://h:1")
                .with("namespace", "a{b"))
            .contains("may not contain {")
        );
        assert!(err(Settings::new("stores.s").with("url", "http://h")).contains("not a redis://"));
        assert!(
            err(Settings::new("stores.s")
                .with("url", "redis://h:1")
                .with("cluster", vec!["redis://h:2"]))
            .contains("not both")
        );
    }

    #[test]
    fn passwords_never_show() {
        let url = "redis://:hunter2@127.0.0.1:1/0";
        let s = parse(Settings::new("stores.s").with("url", url)).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!s.server.endpoint.to_string().contains("hunter2"));
        let err = parse(
            Settings::new("stores.s")
                .with("url", "rediss://:hunter2@h:1")
                .with("shards", 2000),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        let cluster = Endpoint::Cluster(vec![url.to_owned(), url.to_owned()]);
        assert!(!format!("{cluster:?} {cluster}").contains("hunter2"));
    }
}
