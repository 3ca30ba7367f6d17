//! A JWKS server on 127.0.0.1 for the JWT tests, honest or hostile: it serves a key set
//! that can be swapped, and answers that are slow, huge, or redirect elsewhere. It
//! counts what it was asked and what it sent.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test crate uses part of this module"
)]
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "test helpers")]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// What a hostile document route sends: this many bytes of JSON-looking filler.
pub const HUGE_BYTES: u64 = 100 * 1024 * 1024;

/// How long `/slow` waits before answering.
pub const SLOW: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct Counters {
    /// Requests for `/jwks`.
    pub fetches: AtomicUsize,
    /// Requests for any route.
    pub requests: AtomicUsize,
    /// Bytes of filler the huge routes produced (the client read at most this much).
    pub huge_bytes_sent: AtomicU64,
}

pub struct JwksServer {
    pub base: String,
    pub keys: Arc<Mutex<JwkSet>>,
    pub counters: Arc<Counters>,
}

impl JwksServer {
    /// `{base}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn fetches(&self) -> usize {
        self.counters.fetches.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }

    pub fn huge_bytes_sent(&self) -> u64 {
        self.counters.huge_bytes_sent.load(Ordering::SeqCst)
    }
}

/// Filler streamed lazily in 64 KiB chunks, counted as it is produced.
fn huge_body(counters: &Arc<Counters>) -> Body {
    const CHUNK: usize = 64 * 1024;
    let chunk = bytes::Bytes::from(vec![b' '; CHUNK]);
    let counters = Arc::clone(counters);
    let chunks = (0..HUGE_BYTES / CHUNK as u64).map(move |_| {
        counters
            .huge_bytes_sent
            .fetch_add(CHUNK as u64, Ordering::SeqCst);
        Ok::<_, std::io::Error>(chunk.clone())
    });
    Body::from_stream(futures_util::stream::iter(chunks))
}

fn redirect(to: String) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

/// Routes: `/jwks` (the set), `/slow` (answers after [`SLOW`]), `/huge-chunked` and
/// `/huge-length` ([`HUGE_BYTES`] without and with `Content-Length`), `/to-same`
/// (redirects to `/jwks`), `/loop` (redirects to itself) and `/to-other` (redirects to
/// `other`, a URL of another server).
pub async fn start(keys: JwkSet, other: Option<String>) -> JwksServer {
    let keys = Arc::new(Mutex::new(keys));
    let counters = Arc::new(Counters::default());
    let (k, c) = (Arc::clone(&keys), Arc::clone(&counters));
    let jwks = move || {
        let (k, c) = (Arc::clone(&k), Arc::clone(&c));
        async move {
            c.fetches.fetch_add(1, Ordering::SeqCst);
            let set = k.lock().unwrap().clone();
            axum::Json(set).into_response()
        }
    };
    let c = Arc::clone(&counters);
    let huge_chunked = move || {
        let c = Arc::clone(&c);
        async move { Response::new(huge_body(&c)) }
    };
    let c = Arc::clone(&counters);
    let huge_length = move || {
        let c = Arc::clone(&c);
        async move {
            let mut response = Response::new(huge_body(&c));
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HUGE_BYTES.into());
            response
        }
    };
    let other = other.unwrap_or_else(|| "http://127.0.0.1:9/jwks".to_owned());
    let c = Arc::clone(&counters);
    let app = axum::Router::new()
        .route("/jwks", get(jwks))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(SLOW).await;
                "{\"keys\": []}"
            }),
        )
        .route("/huge-chunked", get(huge_chunked))
        .route("/huge-length", get(huge_length))
        .route("/to-same", get(|| async { redirect("/jwks".to_owned()) }))
        .route("/loop", get(|| async { redirect("/loop".to_owned()) }))
        .route("/to-other", get(move || async move { redirect(other) }))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                c.requests.fetch_add(1, Ordering::SeqCst);
                next.run(request)
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    JwksServer {
        base: format!("http://{addr}"),
        keys,
        counters,
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/server")
            .join(name),
    )
    .unwrap()
}

/// The ES256 key of the fixtures and its JWK, under `kid`.
pub fn es256(file: &str, kid: &str) -> (EncodingKey, Jwk) {
    let key = EncodingKey::from_ec_pem(&fixture(file)).unwrap();
    let jwk = jwk(&key, Algorithm::ES256, kid);
    (key, jwk)
}

/// The RS256 key of the fixtures and its JWK, under `kid`.
pub fn rs256(kid: &str) -> (EncodingKey, Jwk) {
    let key = EncodingKey::from_rsa_pem(&fixture("rs256.pem")).unwrap();
    let jwk = jwk(&key, Algorithm::RS256, kid);
    (key, jwk)
}

pub fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

pub fn signed(alg: Algorithm, kid: &str, key: &EncodingKey, claims: &serde_json::Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

pub fn hs256(claims: &serde_json::Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}
