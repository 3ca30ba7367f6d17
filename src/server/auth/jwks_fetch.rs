//! One JWKS fetch, bounded: [`FETCH_TIMEOUT`] for the whole exchange, [`MAX_JWKS_BYTES`]
//! read at most (whether or not the server sends a `Content-Length`), and redirects
//! followed only within the URL's own origin, [`MAX_REDIRECTS`] at most: a redirect to
//! another host would let whoever controls that host choose the keys. The URL is
//! printed only redacted (it may carry credentials); errors never carry it.

use std::collections::HashMap;
use std::error::Error as _;
use std::net::IpAddr;
use std::time::Duration;

use bytes::BytesMut;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::Url;
use reqwest::redirect::{Action, Attempt, Policy};

use super::jwks::VerifyingKey;
use crate::server::error::ServeError;
use crate::server::redact::redacted_url;

/// How long a JWKS fetch may take, connection to last byte.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// Most redirects followed, each within the JWKS URL's origin.
const MAX_REDIRECTS: usize = 3;

/// The URL and HTTP client of one key set.
pub(crate) struct Fetcher {
    url: Url,
    /// `url` as logs may show it.
    pub(crate) shown: String,
    client: reqwest::Client,
}

impl Fetcher {
    /// A fetcher for `url`, which must be an `http` or `https` URL.
    pub(crate) fn new(url: &str) -> Result<Self, ServeError> {
        let shown = redacted_url(url);
        let invalid = |reason: String| ServeError::InvalidJwksUrl {
            url: shown.clone(),
            reason,
        };
        let url = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be https (or http)".to_owned()));
        }
        let host = url.host_str().unwrap_or_default();
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if url.scheme() == "http" && !loopback {
            tracing::warn!(
                url = %shown,
                "KV_JWKS_URL is plain http: whoever can change the traffic to it can choose \
                 the keys that sign tokens; use https"
            );
        }
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(Policy::custom(same_origin_only))
            .build()
            .map_err(|e| ServeError::HttpClient(e.without_url()))?;
        Ok(Self { url, shown, client })
    }

    /// The usable keys of the set, by `kid`; the error is what a client may be told.
    pub(crate) async fn fetch(&self) -> Result<HashMap<String, VerifyingKey>, String> {
        let body = self.download().await.map_err(|e| {
            tracing::warn!(url = %self.shown, error = %e, "fetching the JWKS failed");
            "the JWKS could not be fetched".to_owned()
        })?;
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| {
            tracing::warn!(url = %self.shown, error = %e, "the JWKS is not a JWK set");
            "the JWKS could not be fetched".to_owned()
        })?;
        let keys: HashMap<_, _> = set.keys.iter().filter_map(verifying_key).collect();
        tracing::info!(url = %self.shown, keys = keys.len(), "fetched the JWKS");
        Ok(keys)
    }

    /// The document, read up to [`MAX_JWKS_BYTES`].
    async fn download(&self) -> Result<BytesMut, String> {
        let mut response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(describe)?;
        let too_large = || format!("the JWKS document is larger than {MAX_JWKS_BYTES} bytes");
        if response
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// A JWK's `kid` and key, if it is an RS256 or ES256 signature key.
fn verifying_key(jwk: &Jwk) -> Option<(String, VerifyingKey)> {
    if !for_signatures(jwk) {
        return None;
    }
    let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
        (_, Some(alg)) => match alg.to_string().parse::<Algorithm>() {
            Ok(a @ (Algorithm::RS256 | Algorithm::ES256)) => a,
            _ => return None,
        },
        (AlgorithmParameters::RSA(_), None) => Algorithm::RS256,
        (AlgorithmParameters::EllipticCurve(ec), None) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    let kid = jwk.common.key_id.clone().unwrap_or_default();
    Some((kid, VerifyingKey { key, algorithm }))
}

/// Whether a JWK may verify signatures: not one marked for another use (`use`,
/// `key_ops`, RFC 7517 §4.2 and §4.3).
fn for_signatures(jwk: &Jwk) -> bool {
    let usable_use = !matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    );
    let usable_ops = jwk
        .common
        .key_operations
        .as_ref()
        .is_none_or(|ops| ops.contains(&KeyOperations::Verify));
    usable_use && usable_ops
}

/// A fetch error with its causes, without the URL.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Follows a redirect only within the origin (scheme, host and port) of the first URL.
fn same_origin_only(attempt: Attempt<'_>) -> Action {
    let Some(first) = attempt.previous().first() else {
        return attempt.stop();
    };
    if attempt.previous().len() > MAX_REDIRECTS {
        let why = format!("the JWKS URL redirected more than {MAX_REDIRECTS} times");
        attempt.error(why)
    } else if attempt.url().origin() == first.origin() {
        attempt.follow()
    } else {
        let why = format!(
            "the JWKS URL redirected to another origin ({}); only redirects within {} are \
             followed",
            redacted_url(attempt.url().as_str()),
            redacted_url(&first.origin().ascii_serialization()),
        );
        attempt.error(why)
    }
}
