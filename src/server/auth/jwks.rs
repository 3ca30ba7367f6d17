//! `KV_JWKS_URL`: the public keys of RS256/ES256 tokens, fetched over HTTP, cached by
//! `kid`, and fetched again when a token names a `kid` the cache does not know (key
//! rotation), at most once per refresh interval.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};

/// How long a JWKS fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// A verification key and the one algorithm it verifies.
#[derive(Clone)]
pub(crate) struct VerifyingKey {
    pub(crate) key: DecodingKey,
    pub(crate) algorithm: Algorithm,
}

/// The cached key set of one JWKS URL.
pub(crate) struct Jwks {
    url: String,
    client: reqwest::Client,
    refresh_interval: Duration,
    keys: RwLock<Arc<HashMap<String, VerifyingKey>>>,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl Jwks {
    pub(crate) fn new(url: String, refresh_interval: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build()?;
        Ok(Self {
            url,
            client,
            refresh_interval,
            keys: RwLock::new(Arc::new(HashMap::new())),
            last_fetch: tokio::sync::Mutex::new(None),
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
        let mut last_fetch = self.last_fetch.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let recent = last_fetch.is_some_and(|t| t.elapsed() < self.refresh_interval);
        if !recent {
            *last_fetch = Some(Instant::now());
            let keys = self.fetch().await?;
            *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        }
        self.cached(kid).ok_or_else(|| match kid {
            Some(kid) => format!("no key with kid {kid:?} in the JWKS"),
            None => "the JWT has no kid and the JWKS has more than one key".to_owned(),
        })
    }

    async fn fetch(&self) -> Result<HashMap<String, VerifyingKey>, String> {
        let fail = |e: &dyn std::fmt::Display| {
            tracing::warn!(url = %self.url, error = %e, "fetching the JWKS failed");
            "the JWKS could not be fetched".to_owned()
        };
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| fail(&e))?;
        if response
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err(fail(&"the JWKS document is too large"));
        }
        let body = response.bytes().await.map_err(|e| fail(&e))?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(fail(&"the JWKS document is too large"));
        }
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| fail(&e))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (_, Some(alg)) => match alg.to_string().parse::<Algorithm>() {
                    Ok(a @ (Algorithm::RS256 | Algorithm::ES256)) => a,
                    _ => continue,
                },
                (AlgorithmParameters::RSA(_), None) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(ec), None)
                    if ec.curve == EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => continue,
            };
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            let kid = jwk.common.key_id.clone().unwrap_or_default();
            keys.insert(kid, VerifyingKey { key, algorithm });
        }
        tracing::info!(url = %self.url, keys = keys.len(), "fetched the JWKS");
        Ok(keys)
    }
}
