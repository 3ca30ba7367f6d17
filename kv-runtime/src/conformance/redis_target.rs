//! The redis backend as a conformance target (features `conformance` and `redis`).

use std::hash::{BuildHasher as _, RandomState};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::{BoxFuture, FutureExt as _, ready};

use super::Target;
use crate::{Config, Runtime, RuntimeBuilder, StoreConfig};

/// The variable naming a standalone server: `redis://127.0.0.1:PORT`.
const URL_VAR: &str = "KV_TEST_REDIS_URL";
/// The variable naming a cluster's seed nodes, comma-separated.
const CLUSTER_VAR: &str = "KV_TEST_REDIS_CLUSTER";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Standalone,
    Cluster,
}

/// The redis backend, on the server that `KV_TEST_REDIS_URL` (standalone) or
/// `KV_TEST_REDIS_CLUSTER` (a Redis Cluster's seed URLs, comma-separated) names. Each
/// test gets a namespace of its own (its runtime's application is `kv-test-<random>`,
/// so store `s` lives in namespace `kv-test-<random>/s`); nothing is cleaned up
/// afterwards, so point it at a server for tests (`.ci/redis.sh start` runs them).
///
/// ```
/// # #[cfg(any())] mod example {
/// mod redis {
///     kv_runtime::conformance_suite!(kv_runtime::conformance::RedisTarget::standalone());
/// }
/// mod redis_cluster_sharded {
///     kv_runtime::conformance_suite!(kv_runtime::conformance::RedisTarget::cluster().shards(4));
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisTarget {
    server: Server,
    shards: u16,
}

impl RedisTarget {
    /// A standalone server, from `KV_TEST_REDIS_URL`.
    pub fn standalone() -> Self {
        Self {
            server: Server::Standalone,
            shards: 1,
        }
    }

    /// A Redis Cluster, from `KV_TEST_REDIS_CLUSTER`.
    pub fn cluster() -> Self {
        Self {
            server: Server::Cluster,
            shards: 1,
        }
    }

    /// Splits each store into `shards` shards (the `shards` setting).
    #[must_use]
    pub fn shards(mut self, shards: u16) -> Self {
        self.shards = shards;
        self
    }

    fn variable(&self) -> &'static str {
        match self.server {
            Server::Standalone => URL_VAR,
            Server::Cluster => CLUSTER_VAR,
        }
    }

    fn address(&self) -> Option<String> {
        std::env::var(self.variable())
            .ok()
            .filter(|v| !v.trim().is_empty())
    }
}

/// A test's place: the application its runtimes name, unique per test.
#[derive(Debug)]
pub struct RedisPlace {
    application: String,
}

impl RedisPlace {
    /// The application name, `kv-test-<random>`.
    pub fn application(&self) -> &str {
        &self.application
    }
}

fn random_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = (nanos, std::process::id());
    let a = RandomState::new().hash_one(seed);
    format!("kv-test-{a:016x}")
}

impl Target for RedisTarget {
    type Place = RedisPlace;

    fn unavailable(&self) -> Option<String> {
        match self.address() {
            Some(_) => None,
            None => Some(format!(
                "redis conformance: set {} to {} (`eval \"$(bash .ci/redis.sh start)\"` starts one)",
                self.variable(),
                match self.server {
                    Server::Standalone => "a standalone server's URL, redis://127.0.0.1:PORT",
                    Server::Cluster => "a Redis Cluster's seed URLs, comma-separated",
                }
            )),
        }
    }

    fn place(&self) -> BoxFuture<'static, RedisPlace> {
        ready(RedisPlace {
            application: random_name(),
        })
        .boxed()
    }

    fn runtime(&self, place: &RedisPlace, store: StoreConfig) -> RuntimeBuilder {
        let address = self.address().unwrap_or_default();
        let store = store
            .backend(crate::backend::redis::NAME)
            .setting("shards", i64::from(self.shards));
        let store = match self.server {
            Server::Standalone => store.setting("url", address),
            Server::Cluster => {
                let seeds: Vec<String> = address
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                store.setting("cluster", seeds)
            }
        };
        let mut config = Config::default();
        config.defaults = store;
        Runtime::builder()
            .config(config)
            .application(place.application.clone())
    }

    fn shared(&self) -> bool {
        true
    }

    /// With one shard (the default) a batch is one script: atomic, conditions
    /// included. With more, batches are atomic per shard only.
    fn atomic_batches(&self) -> bool {
        self.shards == 1
    }
}
