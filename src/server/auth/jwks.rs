//! `KV_JWKS_URL`: the public keys of RS256/ES256 tokens, fetched over HTTP
//! ([`Fetcher`]), cached by `kid`, and fetched again when a token names a `kid` the
//! cache does not know (key rotation), at most once per refresh interval.
//!
//! Cancel-safe: the server polls authentication once and, if it must wait, drops that
//! future and awaits a new one. So a fetch runs in a task of its own, holding the fetch
//! lock until it has stored its result; a request that gave up on it leaves it running,
//! and the next one waits for it instead of starting another (or, worse, finding the
//! refresh interval spent on a fetch that never happened).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::Mutex;

use super::jwks_fetch::Fetcher;
use crate::server::error::ServeError;

/// A verification key and the one algorithm it verifies.
#[derive(Clone)]
pub(crate) struct VerifyingKey {
    pub(crate) key: DecodingKey,
    pub(crate) algorithm: Algorithm,
}

type Keys = RwLock<Arc<HashMap<String, VerifyingKey>>>;

/// How the last fetch ended.
struct LastFetch {
    finished: Instant,
    /// What to tell a client while no new fetch may start, if it failed.
    error: Option<String>,
}

/// The cached key set of one JWKS URL.
pub(crate) struct Jwks {
    fetcher: Arc<Fetcher>,
    refresh_interval: Duration,
    keys: Arc<Keys>,
    /// Held by the fetch in flight, if any.
    last_fetch: Arc<Mutex<Option<LastFetch>>>,
}

impl Jwks {
    /// A key set for `url`, which must be an `http` or `https` URL.
    pub(crate) fn new(url: &str, refresh_interval: Duration) -> Result<Self, ServeError> {
        Ok(Self {
            fetcher: Arc::new(Fetcher::new(url)?),
            refresh_interval,
            keys: Arc::new(RwLock::new(Arc::new(HashMap::new()))),
            last_fetch: Arc::new(Mutex::new(None)),
        })
    }

    fn cached(&self, kid: Option<&str>) -> Option<VerifyingKey> {
        let keys = Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner));
        match kid {
            Some(kid) => keys.get(kid).cloned(),
            // A token without `kid` is accepted only when the set has exactly one key.
            None if keys.len() == 1 => keys.values().next().cloned(),
            None => None,
        }
    }

    /// The key for a token's `kid`, fetching the set when it is not cached.
    pub(crate) async fn key(&self, kid: Option<&str>) -> Result<VerifyingKey, String> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let asked = Instant::now();
        let last_fetch = Arc::clone(&self.last_fetch).lock_owned().await;
        // Another request may have fetched while this one waited.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let error = match last_fetch.as_ref() {
            // A fetch that finished after this request asked answers it too.
            Some(last)
                if last.finished >= asked || last.finished.elapsed() < self.refresh_interval =>
            {
                last.error.clone()
            }
            _ => self.spawn_fetch(last_fetch).await,
        };
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        Err(error.unwrap_or_else(|| match kid {
            Some(kid) => format!("no key with kid {kid:?} in the JWKS"),
            None => "the JWT has no kid and the JWKS has more than one key".to_owned(),
        }))
    }

    /// Fetches in a task that holds the lock until it has stored the keys; returns the
    /// fetch's error, if any.
    async fn spawn_fetch(
        &self,
        mut last_fetch: tokio::sync::OwnedMutexGuard<Option<LastFetch>>,
    ) -> Option<String> {
        let (fetcher, keys) = (Arc::clone(&self.fetcher), Arc::clone(&self.keys));
        let task = tokio::spawn(async move {
            let error = match fetcher.fetch().await {
                Ok(fetched) => {
                    *keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fetched);
                    None
                }
                Err(error) => Some(error),
            };
            *last_fetch = Some(LastFetch {
                finished: Instant::now(),
                error: error.clone(),
            });
            error
        });
        task.await
            .unwrap_or_else(|_| Some("the JWKS could not be fetched".to_owned()))
    }
}
