//! The JWKS fetch against a hostile key server on 127.0.0.1: bounded in size (with and
//! without `Content-Length`) and in time, redirects followed only within the URL's
//! origin, keys marked for encryption not used, unknown `kid`s not turned into a flood
//! of fetches, and a URL that is no http(s) URL refused at startup without printing
//! the credentials it carries.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step is a failed test"
)]

mod common;
mod jwks_support;

use std::time::{Duration, Instant};

use common::{API_KEY, TestServer, assert_v1_error, json, now};
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{JwkSet, PublicKeyUse};
use jwks_support::{es256, signed};
use kv::server::{AuthSettings, ServeError, Server, Settings};
use serde_json::json;

const ISSUER: &str = "https://idp.test";

fn claims() -> serde_json::Value {
    json!({"sub": "svc", "exp": now() + 600, "iss": ISSUER})
}

fn jwks_auth(url: String) -> AuthSettings {
    AuthSettings {
        jwks_url: Some(url),
        jwt_issuer: Some(ISSUER.into()),
        api_key: Some(API_KEY.into()),
        jwks_refresh_interval: Duration::ZERO,
        ..AuthSettings::default()
    }
}

async fn status(s: &TestServer, token: &str) -> (u16, serde_json::Value) {
    json(s.client.get(s.url("/v1/kv/demo-cache")).bearer_auth(token)).await
}

#[tokio::test]
async fn a_huge_jwks_is_refused_after_reading_at_most_a_little_of_it() {
    let (key, _) = es256("es256.pem", "ec-1");
    let token = signed(Algorithm::ES256, "ec-1", &key, &claims());
    for path in ["/huge-chunked", "/huge-length"] {
        let jwks = jwks_support::start(JwkSet { keys: vec![] }, None).await;
        let s = TestServer::with_auth(jwks_auth(jwks.url(path))).await;
        let got = status(&s, &token).await;
        assert_v1_error(&got, 401, "unauthorized", "the JWKS could not be fetched");
        // The fetch stops at 1 MiB; what the server produced beyond it sits in socket
        // buffers. Reading the whole 100 MiB would show here.
        let sent = jwks.huge_bytes_sent();
        assert!(
            sent < 16 * 1024 * 1024,
            "{path}: the key server produced {sent} bytes for a JWKS fetch"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn a_slow_jwks_fails_the_token_within_the_fetch_timeout_and_blocks_nothing_else() {
    let (key, _) = es256("es256.pem", "ec-1");
    let token = signed(Algorithm::ES256, "ec-1", &key, &claims());
    let jwks = jwks_support::start(JwkSet { keys: vec![] }, None).await;
    let s = TestServer::with_auth(jwks_auth(jwks.url("/slow"))).await;
    let started = Instant::now();
    let (jwt, api_key) = tokio::join!(status(&s, &token), async {
        // While the fetch hangs, an API key is answered at once.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let got = json(s.get("/v1/kv/demo-cache")).await;
        (got.0, started.elapsed())
    });
    assert_v1_error(&jwt, 401, "unauthorized", "the JWKS could not be fetched");
    let waited = started.elapsed();
    // The fetch gives up after 5 s; the key server would answer after 60 s. The bound
    // is loose on purpose: it tells a bounded fetch from an unbounded one, no more.
    assert!(waited < jwks_support::SLOW / 2, "a JWT waited {waited:?}");
    assert_eq!(api_key.0, 200);
    assert!(
        api_key.1 < Duration::from_secs(4),
        "the API key waited {:?}",
        api_key.1
    );
    s.stop().await;
}

#[tokio::test]
async fn redirects_are_followed_only_within_the_jwks_origin() {
    let (key, jwk) = es256("es256.pem", "ec-1");
    let (evil_key, evil_jwk) = es256("es256-rotated.pem", "evil");
    // The attacker's key server, on another port: another origin.
    let evil = jwks_support::start(
        JwkSet {
            keys: vec![evil_jwk],
        },
        None,
    )
    .await;
    let jwks = jwks_support::start(JwkSet { keys: vec![jwk] }, Some(evil.url("/jwks"))).await;

    let s = TestServer::with_auth(jwks_auth(jwks.url("/to-other"))).await;
    let forged = signed(Algorithm::ES256, "evil", &evil_key, &claims());
    let got = status(&s, &forged).await;
    assert_v1_error(&got, 401, "unauthorized", "the JWKS could not be fetched");
    assert_eq!(
        evil.requests(),
        0,
        "the redirect to another origin was followed"
    );
    s.stop().await;

    let s = TestServer::with_auth(jwks_auth(jwks.url("/to-same"))).await;
    let token = signed(Algorithm::ES256, "ec-1", &key, &claims());
    assert_eq!(status(&s, &token).await.0, 200, "same-origin redirect");
    assert_eq!(jwks.fetches(), 1);
    s.stop().await;

    let s = TestServer::with_auth(jwks_auth(jwks.url("/loop"))).await;
    let before = jwks.requests();
    let got = status(&s, &token).await;
    assert_v1_error(&got, 401, "unauthorized", "the JWKS could not be fetched");
    let followed = jwks.requests() - before;
    assert!(followed <= 4, "{followed} requests for a redirect loop");
    s.stop().await;
}

#[tokio::test]
async fn keys_marked_for_encryption_do_not_verify_signatures() {
    let (key, mut jwk) = es256("es256.pem", "ec-enc");
    jwk.common.public_key_use = Some(PublicKeyUse::Encryption);
    let (ops_key, mut ops_jwk) = es256("es256-rotated.pem", "ec-ops");
    ops_jwk.common.key_operations = Some(vec![jsonwebtoken::jwk::KeyOperations::Encrypt]);
    let jwks = jwks_support::start(
        JwkSet {
            keys: vec![jwk, ops_jwk],
        },
        None,
    )
    .await;
    let s = TestServer::with_auth(jwks_auth(jwks.url("/jwks"))).await;
    for (kid, key) in [("ec-enc", &key), ("ec-ops", &ops_key)] {
        let got = status(&s, &signed(Algorithm::ES256, kid, key, &claims())).await;
        assert_v1_error(&got, 401, "unauthorized", "no key with kid");
    }
    s.stop().await;
}

#[tokio::test]
async fn tokens_are_accepted_with_the_default_refresh_interval() {
    // The server polls authentication once and drops that future when it must wait:
    // a fetch that counted as done when it started was never done at all.
    let (key, jwk) = es256("es256.pem", "ec-1");
    let jwks = jwks_support::start(JwkSet { keys: vec![jwk] }, None).await;
    let s = TestServer::with_auth(AuthSettings {
        jwks_refresh_interval: kv::server::DEFAULT_JWKS_REFRESH_INTERVAL,
        ..jwks_auth(jwks.url("/jwks"))
    })
    .await;
    let token = signed(Algorithm::ES256, "ec-1", &key, &claims());
    let got = status(&s, &token).await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(status(&s, &token).await.0, 200);
    assert_eq!(jwks.fetches(), 1);
    s.stop().await;
}

#[tokio::test]
async fn unknown_kids_fetch_the_jwks_at_most_once_per_refresh_interval() {
    let (key, jwk) = es256("es256.pem", "ec-1");
    let jwks = jwks_support::start(JwkSet { keys: vec![jwk] }, None).await;
    let s = TestServer::with_auth(AuthSettings {
        jwks_refresh_interval: Duration::from_secs(3600),
        ..jwks_auth(jwks.url("/jwks"))
    })
    .await;
    for i in 0..50 {
        let token = signed(Algorithm::ES256, &format!("made-up-{i}"), &key, &claims());
        let got = status(&s, &token).await;
        assert_v1_error(&got, 401, "unauthorized", "no key with kid");
    }
    assert_eq!(jwks.fetches(), 1, "unknown kids refetched the JWKS");
    let token = signed(Algorithm::ES256, "ec-1", &key, &claims());
    assert_eq!(status(&s, &token).await.0, 200);
    s.stop().await;
}

#[tokio::test]
async fn a_jwks_url_that_is_not_http_is_refused_at_startup_without_its_secrets() {
    for url in [
        "ftp://user:pw-hunter2@idp.test/jwks",
        "file:///etc/jwks.json?token=tok-hunter2",
        "idp.test/jwks?token=tok-hunter2",
    ] {
        let settings = Settings::new(AuthSettings {
            jwks_url: Some(url.into()),
            ..AuthSettings::default()
        })
        .addr(([127, 0, 0, 1], 0).into());
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        let err = Server::bind(settings, kv_runtime::Runtime::in_memory(), ["demo-cache"])
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServeError::InvalidJwksUrl { .. }),
            "{url}: {err}"
        );
        let text = format!("{err} {err:?}");
        assert!(text.contains("KV_JWKS_URL"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}

#[test]
fn debug_output_redacts_the_jwks_url_and_every_secret() {
    let auth = AuthSettings::from_lookup(|name| {
        Some(match name {
            "KV_API_KEY" => "key-hunter2".into(),
            "KV_USERNAME" => "admin".into(),
            "KV_PASSWORD" => "pw-hunter2".into(),
            "KV_JWT_SECRET" => "jwt-hunter2".into(),
            "KV_JWKS_URL" => "https://u:p-hunter2@idp.test/jwks?k=q-hunter2#f-hunter2".into(),
            "KV_JWT_ISSUER" => ISSUER.into(),
            _ => return None,
        })
    });
    let debug = format!("{auth:?} {:?}", Settings::new(auth.clone()));
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("idp.test/jwks"), "{debug}");
    assert!(debug.contains(ISSUER), "{debug}");
}
