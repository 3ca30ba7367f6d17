//! What `kv serve` is told: address, timeouts and authentication, read from the command
//! line and the environment in one place ([`AuthSettings::from_env`]) so that tests can
//! build settings without touching the process environment.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The address `kv serve` listens on unless told otherwise: loopback only.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8787);

/// How long a whole request (headers, body and handler) may take, by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a client may take to send a request's headers, by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long in-flight requests may run after a shutdown signal, by default.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Everything the server needs besides the runtime and the list of stores.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Settings {
    /// Where to listen. Default: `127.0.0.1:8787`.
    pub addr: SocketAddr,
    /// The authentication strategies; a request passes if any accepts it.
    pub auth: AuthSettings,
    /// Serve without authentication. Refused on a non-loopback address.
    pub no_auth: bool,
    /// Limit on a whole request, body included. Default: 60 s.
    pub request_timeout: Duration,
    /// Limit on receiving a request's headers, and so on how long an idle keep-alive
    /// connection stays open waiting for its next request. Default: 10 s.
    pub header_read_timeout: Duration,
    /// How long in-flight requests may finish after a shutdown signal. Default: 30 s.
    pub shutdown_grace: Duration,
    /// The application's name, shown by `/v1/admin/info`.
    pub application: Option<String>,
    /// Serve `/metrics` without authentication (`--public-metrics`), for a scraper
    /// that sends no credentials. Default: protected like the data routes.
    pub public_metrics: bool,
}

impl Settings {
    /// Default settings with the given authentication.
    pub fn new(auth: AuthSettings) -> Self {
        Self {
            addr: DEFAULT_ADDR,
            auth,
            no_auth: false,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            application: None,
            public_metrics: false,
        }
    }

    /// Sets the listening address.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Serves without authentication (`--no-auth`); only allowed on loopback.
    pub fn no_auth(mut self, no_auth: bool) -> Self {
        self.no_auth = no_auth;
        self
    }

    /// Sets the request timeout.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Serves `/metrics` without authentication (`--public-metrics`).
    pub fn public_metrics(mut self, public: bool) -> Self {
        self.public_metrics = public;
        self
    }

    /// Sets the header read timeout, which is also how long an idle keep-alive
    /// connection stays open.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets how long in-flight requests may finish after a shutdown signal.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets the application name shown by `/v1/admin/info`.
    pub fn application(mut self, name: impl Into<String>) -> Self {
        self.application = Some(name.into());
        self
    }
}

/// HTTP basic credentials (RFC 7617). The password may contain `:`; the user name may not.
#[derive(Clone)]
pub struct BasicCredentials {
    /// The user name (`KV_USERNAME`).
    pub username: String,
    /// The password (`KV_PASSWORD`).
    pub password: String,
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The authentication strategies, as @workertown/kv configures them from the environment.
///
/// | variable | strategy |
/// | --- | --- |
/// | `KV_API_KEY` | `Authorization: Bearer <key>` (what Cloudflare's clients send) |
/// | `KV_USERNAME`, `KV_PASSWORD` | HTTP basic |
/// | `KV_JWT_SECRET` | JWT signed with HS256 |
/// | `KV_JWKS_URL` | JWT signed with RS256 or ES256 by a key of this JWKS |
/// | `KV_JWT_ISSUER`, `KV_JWT_AUDIENCE` | checked on every JWT when set |
///
/// With none configured, every data route answers 401 (fail closed).
#[derive(Clone)]
pub struct AuthSettings {
    /// The API key.
    pub api_key: Option<String>,
    /// HTTP basic credentials.
    pub basic: Option<BasicCredentials>,
    /// The HS256 secret.
    pub jwt_secret: Option<String>,
    /// Where to fetch the JWKS for RS256/ES256 tokens.
    pub jwks_url: Option<String>,
    /// The required `iss` claim.
    pub jwt_issuer: Option<String>,
    /// The required `aud` claim.
    pub jwt_audience: Option<String>,
    /// The JWKS is fetched again when a token names an unknown `kid`, but not more often
    /// than this. Default: 10 s.
    pub jwks_refresh_interval: Duration,
}

/// The default [`AuthSettings::jwks_refresh_interval`].
pub const DEFAULT_JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            api_key: None,
            basic: None,
            jwt_secret: None,
            jwks_url: None,
            jwt_issuer: None,
            jwt_audience: None,
            jwks_refresh_interval: DEFAULT_JWKS_REFRESH_INTERVAL,
        }
    }
}

/// Secrets show as `<set>`; the JWKS URL without user info or query (they may carry
/// credentials).
impl fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("AuthSettings")
            .field("api_key", &set(&self.api_key))
            .field("basic", &self.basic)
            .field("jwt_secret", &set(&self.jwt_secret))
            .field(
                "jwks_url",
                &self.jwks_url.as_deref().map(super::redact::redacted_url),
            )
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("jwks_refresh_interval", &self.jwks_refresh_interval)
            .finish()
    }
}

impl AuthSettings {
    /// Reads the `KV_*` variables of the process environment. Empty values count as unset.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the `KV_*` variables through `lookup` (for tests and embedders).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let basic = match (get("KV_USERNAME"), get("KV_PASSWORD")) {
            (Some(username), Some(password)) => Some(BasicCredentials { username, password }),
            _ => None,
        };
        Self {
            api_key: get("KV_API_KEY"),
            basic,
            jwt_secret: get("KV_JWT_SECRET"),
            jwks_url: get("KV_JWKS_URL"),
            jwt_issuer: get("KV_JWT_ISSUER"),
            jwt_audience: get("KV_JWT_AUDIENCE"),
            jwks_refresh_interval: DEFAULT_JWKS_REFRESH_INTERVAL,
        }
    }

    /// Whether any strategy is configured.
    pub fn any(&self) -> bool {
        self.api_key.is_some()
            || self.basic.is_some()
            || self.jwt_secret.is_some()
            || self.jwks_url.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lookup_needs_both_basic_halves_and_ignores_empty_values() {
        let env = |name: &str| match name {
            "KV_API_KEY" => Some(String::new()),
            "KV_USERNAME" => Some("admin".to_owned()),
            "KV_JWT_SECRET" => Some("s".to_owned()),
            _ => None,
        };
        let auth = AuthSettings::from_lookup(env);
        assert!(auth.api_key.is_none());
        assert!(auth.basic.is_none());
        assert_eq!(auth.jwt_secret.as_deref(), Some("s"));
        assert!(auth.any());
        assert!(!format!("{auth:?}").contains("\"s\""));
    }
}
