//! The REST server of `kv serve`: the manifest's stores over HTTP.
//!
//! - JSON routes in the style of @workertown/kv: `GET|PUT|DELETE /v1/kv/{store}/{key...}`,
//!   `GET /v1/kv/{store}?prefix=&limit=&cursor=`, `GET /v1/admin/info`;
//! - Cloudflare's Workers KV API v4 under
//!   `/client/v4/accounts/{account_id}/storage/kv/namespaces`, so that Cloudflare's own
//!   clients work against it;
//! - `GET /health` and `GET /open-api.json`, public;
//! - `GET /metrics` in Prometheus' text format (protected unless `public_metrics`);
//! - a data browser at `GET /ui` (static files embedded in the binary, public; the page
//!   asks for credentials and sends them with its API calls).
//!
//! It is a thin HTTP layer over [`kv_runtime`]: every rule (key and value limits,
//! expiration, cursors, bulk atomicity) and every error message is the runtime's.
//! Authentication is configured by [`AuthSettings`] and fails closed.

mod auth;
mod body;
mod envelope;
mod error;
mod extract;
mod fast;
mod front;
mod limits;
mod listener;
mod meter;
mod metrics;
mod multipart;
mod openapi;
mod params;
mod redact;
mod routes;
mod settings;
mod shutdown;
mod state;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use kv_runtime::Runtime;
use tokio::net::TcpListener;

pub use self::error::ServeError;
pub use self::meter::ACCESS_LOG;
pub use self::settings::{
    AuthSettings, BasicCredentials, DEFAULT_ADDR, DEFAULT_HEADER_READ_TIMEOUT,
    DEFAULT_JWKS_REFRESH_INTERVAL, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SHUTDOWN_GRACE, Settings,
};
pub use self::shutdown::shutdown_signal;

use self::auth::Authenticator;
use self::front::{Front, FrontLimits};
use self::limits::{ENVELOPE_OVERHEAD_BYTES, MAX_BULK_WRITE_BODY_BYTES};
use self::metrics::HttpMetrics;
use self::state::AppState;

/// A bound server, ready to [`run`](Server::run).
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    front: Front,
    runtime: Runtime,
    settings: Settings,
}

impl Server {
    /// Opens `stores` from `runtime` and binds `settings.addr` (port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// [`ServeError::NoAuthOnPublicAddress`] for `no_auth` on a non-loopback address;
    /// [`ServeError::Store`] if a store cannot be opened; [`ServeError::Bind`] if the
    /// address cannot be bound; [`ServeError::EmptySecret`] if a configured secret is
    /// empty; [`ServeError::InvalidJwksUrl`] if `KV_JWKS_URL` is not an
    /// http(s) URL; [`ServeError::HttpClient`] if the JWKS client fails.
    pub async fn bind<S: Into<String>>(
        settings: Settings,
        runtime: Runtime,
        stores: impl IntoIterator<Item = S>,
    ) -> Result<Self, ServeError> {
        if settings.no_auth && !settings.addr.ip().is_loopback() {
            return Err(ServeError::NoAuthOnPublicAddress {
                addr: settings.addr,
            });
        }
        let front = front(&settings, &runtime, stores)?;
        let listener = listener::bind(settings.addr).map_err(|source| ServeError::Bind {
            addr: settings.addr,
            source,
        })?;
        Ok(Self {
            listener,
            front,
            runtime,
            settings,
        })
    }

    /// The address the server listens on (with the port chosen for port 0).
    ///
    /// # Errors
    ///
    /// The operating system's, if the socket's address cannot be read.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The server as an axum router, for embedding in another axum application: every
    /// request goes through its authentication and limits, as when it serves itself.
    pub fn router(&self) -> axum::Router {
        axum::Router::new().fallback_service(self.front.clone())
    }

    /// Serves until `shutdown` resolves (e.g. [`shutdown_signal`]), lets in-flight
    /// requests finish within the grace period, then flushes the stores.
    ///
    /// # Errors
    ///
    /// [`ServeError::Runtime`] if flushing the stores fails.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
        let Self {
            listener,
            front,
            runtime,
            settings,
        } = self;
        listener::serve(
            listener,
            front,
            settings.header_read_timeout,
            settings.shutdown_grace,
            shutdown,
        )
        .await;
        runtime.flush().await?;
        tracing::info!("stores flushed; stopped");
        Ok(())
    }
}

/// Opens `stores` and builds the service that answers every request: authentication,
/// limits and the router, exactly as [`Server::bind`] serves them.
fn front<S: Into<String>>(
    settings: &Settings,
    runtime: &Runtime,
    stores: impl IntoIterator<Item = S>,
) -> Result<Front, ServeError> {
    let mut opened = BTreeMap::new();
    for name in stores {
        let name = name.into();
        let store = runtime.store(&name).map_err(|source| ServeError::Store {
            name: name.clone(),
            source,
        })?;
        opened.insert(name, store);
    }
    let largest_value = opened
        .values()
        .map(|s| s.config().max_value_size)
        .max()
        .unwrap_or(0)
        .saturating_add(ENVELOPE_OVERHEAD_BYTES);
    let max_body_bytes = largest_value.max(MAX_BULK_WRITE_BODY_BYTES as u64);
    let auth = Arc::new(Authenticator::new(&settings.auth, settings.no_auth)?);
    if !settings.no_auth && !settings.auth.any() {
        tracing::warn!(
            "no authentication configured: every data route answers 401 (set KV_API_KEY, \
             KV_USERNAME/KV_PASSWORD, KV_JWT_SECRET or KV_JWKS_URL, or pass --no-auth)"
        );
    }
    let application = settings.application.clone();
    let served = openapi::Served {
        stores: opened.keys().cloned().collect(),
        min_ttl: opened
            .values()
            .map(|s| s.config().min_ttl)
            .max()
            .unwrap_or(kv_runtime::limits::MIN_EXPIRATION_TTL_SECS),
    };
    let metrics = Arc::new(HttpMetrics::new(opened.values().cloned().collect()));
    let (router, state) = routes::build(&served, |openapi| {
        Arc::new(AppState {
            stores: opened,
            auth: Arc::clone(&auth),
            application,
            openapi,
            metrics,
        })
    });
    let limits = FrontLimits {
        request_timeout: settings.request_timeout,
        max_body_bytes,
        public_metrics: settings.public_metrics,
    };
    Ok(Front::new(router, state, auth, limits))
}

/// The service [`Server::run`] answers connections with, without a listener: for driving
/// requests in-process (the fuzz targets in `fuzz/`). `settings.addr` is not used.
///
/// # Errors
///
/// As [`Server::bind`], but for binding.
#[doc(hidden)]
pub fn in_process_service<S: Into<String>>(
    settings: &Settings,
    runtime: &Runtime,
    stores: impl IntoIterator<Item = S>,
) -> Result<
    impl tower::Service<
        axum::http::Request<axum::body::Body>,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static,
    ServeError,
> {
    front(settings, runtime, stores)
}
