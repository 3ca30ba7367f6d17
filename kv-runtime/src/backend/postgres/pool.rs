//! Connections: one pool per distinct connection setting, TLS through rustls, every
//! statement bounded by the configured timeout, and transactions that roll back when
//! their future is dropped.

use std::error::Error as StdError;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod};
use tokio_postgres::Row;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::NAME;
use super::settings::PoolKey;
use super::watch::Listener;
use crate::error::{Error, Result};

/// Statement parameters, as tokio-postgres takes them.
pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// An error of the postgres backend: what failed, never a password. Its SQLSTATE code,
/// when the server sent one, lets callers retry deadlocks.
#[derive(Debug)]
pub(super) struct PgError {
    message: String,
    code: Option<SqlState>,
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for PgError {}

/// Whether `error` is a deadlock or serialization failure, which a retry may cure.
pub(super) fn is_retryable(error: &Error) -> bool {
    match error {
        Error::Backend { source, .. } => source.downcast_ref::<PgError>().is_some_and(|e| {
            e.code == Some(SqlState::T_R_DEADLOCK_DETECTED)
                || e.code == Some(SqlState::T_R_SERIALIZATION_FAILURE)
        }),
        _ => false,
    }
}

/// `error` and its sources, as one line: tokio-postgres puts the interesting part
/// (the server's message, the OS error) in the sources.
pub(crate) fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// What the stores on one connection setting share: the pool, what is needed to open
/// the listening connection, and that connection once a watcher asks for it.
pub(super) struct Shared {
    pool: Pool,
    pub(super) config: tokio_postgres::Config,
    pub(super) tls: MakeRustlsConnect,
    pub(super) timeout: Duration,
    /// `PostgreSQL at host:port, database "db" (user "u")`, for messages.
    pub(super) target: String,
    pub(super) listener: Mutex<Option<Listener>>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("target", &self.target)
            .field("timeout", &self.timeout)
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// A pool for `key`; connects lazily.
    pub(super) fn new(key: &PoolKey) -> Result<Arc<Self>> {
        let config = key.connection_config()?;
        let tls = tls_connector(config.get_ssl_mode())?;
        let target = key.describe();
        let timeout = key.timeout();
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(key.pool_size())
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .map_err(|e| Error::backend(NAME, format!("{target}: {}", chain(&e))))?;
        Ok(Arc::new(Self {
            pool,
            config,
            tls,
            timeout,
            target,
            listener: Mutex::new(None),
        }))
    }

    /// An error about the server, naming it.
    pub(super) fn error(&self, error: &(dyn StdError + 'static)) -> Error {
        let code = error
            .downcast_ref::<tokio_postgres::Error>()
            .and_then(tokio_postgres::Error::code)
            .cloned();
        Error::backend(
            NAME,
            PgError {
                message: format!("{}: {}", self.target, chain(error)),
                code,
            },
        )
    }

    /// An error about the server that is not one of the driver's.
    pub(super) fn fail(&self, message: impl fmt::Display) -> Error {
        Error::backend(
            NAME,
            PgError {
                message: format!("{}: {message}", self.target),
                code: None,
            },
        )
    }

    pub(super) fn timed_out(&self, what: &str) -> Error {
        self.fail(format_args!(
            "{what}: no answer within {} ms",
            self.timeout.as_millis()
        ))
    }

    /// A pooled connection, within the timeout.
    pub(super) async fn conn(self: &Arc<Self>) -> Result<Conn> {
        match self.pool.get().await {
            Ok(client) => Ok(Conn {
                client: Some(client),
                shared: Arc::clone(self),
                broken: AtomicBool::new(false),
            }),
            Err(PoolError::Backend(e)) => Err(self.error(&e)),
            Err(PoolError::Timeout(_)) => Err(self.fail(format_args!(
                "no connection within {} ms (the server is unreachable, or all {} pooled \
                 connections are busy)",
                self.timeout.as_millis(),
                self.pool.status().max_size
            ))),
            Err(e) => Err(self.error(&e)),
        }
    }

    /// A connection inside a transaction begun with `begin` (`BEGIN ...`).
    pub(super) async fn session(self: &Arc<Self>, begin: &str) -> Result<Session> {
        let conn = self.conn().await?;
        conn.batch(begin).await?;
        Ok(Session { conn: Some(conn) })
    }
}

/// rustls with ring and the system's root certificates, for `sslmode=prefer|require`
/// (which verify the server's certificate and host name).
fn tls_connector(mode: SslMode) -> Result<MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    if mode != SslMode::Disable {
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::backend(NAME, e))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// A pooled connection whose statements time out. One that timed out or lost its
/// server is not returned to the pool.
pub(super) struct Conn {
    client: Option<Object>,
    shared: Arc<Shared>,
    broken: AtomicBool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.broken.load(Ordering::Relaxed)
            && let Some(client) = self.client.take()
        {
            drop(Object::take(client));
        }
    }
}

impl Conn {
    fn client(&self) -> Result<&Object> {
        self.client
            .as_ref()
            .ok_or_else(|| self.shared.fail("the connection was already released"))
    }

    /// Marks the connection unusable: it is closed instead of returned to the pool.
    pub(super) fn discard(&self) {
        self.broken.store(true, Ordering::Relaxed);
    }

    async fn timed<T>(
        &self,
        what: &str,
        future: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.shared.timeout, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                if error.is_closed() || error.code().is_none() {
                    self.discard();
                }
                Err(self.shared.error(&error))
            }
            Err(_) => {
                self.discard();
                Err(self.shared.timed_out(what))
            }
        }
    }

    /// Runs `sql` (prepared once per connection) and returns its rows.
    pub(super) async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let client = self.client()?;
        self.timed("a statement", async {
            let statement = client.prepare_cached(sql).await?;
            client.query(&statement, params).await
        })
        .await
    }

    /// Runs `sql` and returns its only row, if any.
    pub(super) async fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let client = self.client()?;
        self.timed("a statement", async {
            let statement = client.prepare_cached(sql).await?;
            client.query_opt(&statement, params).await
        })
        .await
    }

    /// Runs `sql` and returns how many rows it changed.
    pub(super) async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        let client = self.client()?;
        self.timed("a statement", async {
            let statement = client.prepare_cached(sql).await?;
            client.execute(&statement, params).await
        })
        .await
    }

    /// Runs statements without parameters (`BEGIN`, `COMMIT`, DDL).
    pub(super) async fn batch(&self, sql: &str) -> Result<()> {
        let client = self.client()?;
        self.timed("a statement", client.batch_execute(sql)).await
    }
}

/// A connection inside a transaction. Dropped before [`commit`](Session::commit) (an
/// error, a refused condition, a cancelled future), it rolls back: at once on a task of
/// its own, or by closing the connection where there is no tokio runtime.
pub(super) struct Session {
    conn: Option<Conn>,
}

impl Session {
    pub(super) fn conn(&self) -> Result<&Conn> {
        self.conn
            .as_ref()
            .ok_or_else(|| Error::backend(NAME, "the transaction was already finished"))
    }

    /// Commits; the connection goes back to the pool.
    pub(super) async fn commit(mut self) -> Result<()> {
        let conn = self.conn.take();
        match conn {
            Some(conn) => {
                let committed = conn.batch("COMMIT").await;
                if committed.is_err() {
                    conn.discard();
                }
                committed
            }
            None => Err(Error::backend(NAME, "the transaction was already finished")),
        }
    }

    /// Rolls back now; the connection goes back to the pool.
    pub(super) async fn rollback(mut self) {
        if let Some(conn) = self.conn.take()
            && conn.batch("ROLLBACK").await.is_err()
        {
            conn.discard();
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    if conn.batch("ROLLBACK").await.is_err() {
                        conn.discard();
                    }
                });
            }
            Err(_) => conn.discard(),
        }
    }
}
