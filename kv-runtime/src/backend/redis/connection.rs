//! [`Redis`]: one client to a standalone server (a reconnecting `ConnectionManager`) or
//! to a Redis Cluster (redis-rs's cluster connection, which follows `MOVED`/`ASK` and
//! reconnects to nodes by itself), with every command bounded by the timeout.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, PubSub};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{
    Client, Cmd, ConnectionInfo, FromRedisValue, IntoConnectionInfo as _, RedisError, RedisFuture,
    RedisResult, ScriptInvocation, Value,
};

use super::NAME;
use super::settings::Endpoint;
use crate::error::{Error, Result};

/// How often a lost connection is retried before a request gives up (it is retried
/// again by the next request): redis-rs's exponential backoff from 50 ms.
const RECONNECT_RETRIES: usize = 2;

#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A shared client: cheap to clone, each clone multiplexing on the same connection(s).
#[derive(Clone)]
pub(super) struct Redis {
    conn: Conn,
    timeout: Duration,
    /// Where it connects, without passwords: for errors and `Debug`.
    endpoint: Arc<str>,
    /// A client per node address known at start, for the pub/sub connection of watch.
    nodes: Arc<[Client]>,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// `url` as connection info, with `password` (from `password_env`) if given.
fn connection_info(url: &str, password: Option<&str>) -> RedisResult<ConnectionInfo> {
    let info = url.into_connection_info()?;
    Ok(match password {
        Some(password) => {
            let redis = info.redis_settings().clone().set_password(password);
            info.set_redis_settings(redis)
        }
        None => info,
    })
}

/// rustls needs a process-wide crypto provider for `rediss://`; install ring's unless
/// the application installed one.
fn ensure_tls_provider(endpoint: &Endpoint) {
    let tls = endpoint.urls().iter().any(|u| u.starts_with("rediss://"));
    if tls && rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: a provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn timed_out(timeout: Duration) -> RedisError {
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no answer within {} ms", timeout.as_millis()),
    ))
}

/// `future`, failing with a timeout error after `timeout`.
pub(super) async fn within<T>(
    timeout: Duration,
    future: impl Future<Output = RedisResult<T>>,
) -> RedisResult<T> {
    tokio::time::timeout(timeout, future)
        .await
        .unwrap_or_else(|_| Err(timed_out(timeout)))
}

impl Redis {
    /// Connects to `endpoint` and checks that every node answers `PING`.
    pub(super) async fn connect(
        endpoint: &Endpoint,
        password: Option<&str>,
        timeout: Duration,
    ) -> Result<Self> {
        ensure_tls_provider(endpoint);
        let shown = endpoint.to_string();
        let fail = |err: RedisError| super::settings::unreachable(endpoint, err);
        let nodes: Vec<Client> = endpoint
            .urls()
            .iter()
            .map(|url| connection_info(url, password).and_then(Client::open))
            .collect::<RedisResult<_>>()
            .map_err(fail)?;
        let conn = match endpoint {
            Endpoint::Url(_) => {
                let client = nodes
                    .first()
                    .cloned()
                    .ok_or_else(|| Error::backend(NAME, "no URL to connect to".to_owned()))?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(RECONNECT_RETRIES)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(500));
                let manager = within(timeout, ConnectionManager::new_with_config(client, config))
                    .await
                    .map_err(fail)?;
                Conn::Single(manager)
            }
            Endpoint::Cluster(urls) => {
                let infos: Vec<ConnectionInfo> = urls
                    .iter()
                    .map(|url| connection_info(url, password))
                    .collect::<RedisResult<_>>()
                    .map_err(fail)?;
                let mut builder = ClusterClientBuilder::new(infos)
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .overall_response_timeout(Some(timeout))
                    .retries(RECONNECT_RETRIES as u32);
                if let Some(password) = password {
                    builder = builder.password(password);
                }
                let client = builder.build().map_err(fail)?;
                let connection = within(timeout, client.get_async_connection())
                    .await
                    .map_err(fail)?;
                Conn::Cluster(connection)
            }
        };
        let mut redis = Self {
            conn,
            timeout,
            endpoint: Arc::from(shown),
            nodes: Arc::from(nodes),
        };
        let pong: String = redis::cmd("PING")
            .query_async(&mut redis)
            .await
            .map_err(fail)?;
        if pong != "PONG" {
            return Err(fail(RedisError::from((
                redis::ErrorKind::Client,
                "unexpected answer to PING",
                pong,
            ))));
        }
        Ok(redis)
    }

    /// Where the client connects, without passwords.
    pub(super) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The timeout every command is bounded by.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A runtime error for `err`, naming the server.
    pub(super) fn error(&self, err: RedisError) -> Error {
        Error::backend(NAME, format!("{}: {err}", self.endpoint))
    }

    /// Runs `cmd`.
    pub(super) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        cmd.query_async(&mut self.clone())
            .await
            .map_err(|e| self.error(e))
    }

    /// Runs a script (`EVALSHA`, loading it first if the server lacks it).
    pub(super) async fn run(&self, script: &ScriptInvocation<'_>) -> Result<Value> {
        script
            .invoke_async(&mut self.clone())
            .await
            .map_err(|e| self.error(e))
    }

    /// A new pub/sub connection to the first node that accepts one. A `PUBLISH` reaches
    /// every node of a cluster, so one node is enough.
    pub(super) async fn pubsub(&self) -> RedisResult<PubSub> {
        let mut last = None;
        for node in self.nodes.iter() {
            match within(self.timeout, node.get_async_pubsub()).await {
                Ok(pubsub) => return Ok(pubsub),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| {
            RedisError::from((redis::ErrorKind::Client, "no node to subscribe on"))
        }))
    }
}

impl ConnectionLike for Redis {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let timeout = self.timeout;
        Box::pin(async move {
            match &mut self.conn {
                Conn::Single(c) => within(timeout, c.req_packed_command(cmd)).await,
                Conn::Cluster(c) => within(timeout, c.req_packed_command(cmd)).await,
            }
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let timeout = self.timeout;
        Box::pin(async move {
            match &mut self.conn {
                Conn::Single(c) => {
                    within(timeout, c.req_packed_commands(pipeline, offset, count)).await
                }
                Conn::Cluster(c) => {
                    within(timeout, c.req_packed_commands(pipeline, offset, count)).await
                }
            }
        })
    }

    fn get_db(&self) -> i64 {
        match &self.conn {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}
