//! Authentication: every strategy accepted and refused, fail-closed with none
//! configured, `--no-auth` only on loopback, and JWKS keys fetched from a local server
//! and fetched again on an unknown `kid`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use common::{TestServer, assert_cf_error, assert_v1_error, json, now};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kv::server::{AuthSettings, BasicCredentials, ServeError, Server, Settings};
use serde_json::json;

const SECRET: &str = "hs256-test-secret";

#[allow(clippy::unwrap_used, reason = "test helper")]
fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[allow(clippy::unwrap_used, reason = "test helper")]
fn hs256(claims: &serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[allow(clippy::unwrap_used, reason = "test helper")]
fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/server")
            .join(name),
    )
    .unwrap()
}

#[allow(clippy::unwrap_used, reason = "test helper")]
fn signed(alg: Algorithm, kid: &str, key: &EncodingKey, claims: &serde_json::Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// A data route and a status, for each Authorization header.
#[allow(clippy::unwrap_used, reason = "test helper")]
async fn status_of(s: &TestServer, authorization: Option<&str>) -> u16 {
    let mut request = s.client.get(s.url("/v1/kv/demo-cache"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn api_key_as_bearer_or_x_auth_key() {
    let s = TestServer::start().await;
    assert_eq!(
        status_of(&s, Some(&format!("Bearer {}", common::API_KEY))).await,
        200
    );
    assert_eq!(
        status_of(&s, Some(&format!("bearer  {} ", common::API_KEY))).await,
        200,
        "scheme is case-insensitive"
    );
    let response = s
        .client
        .get(s.url("/v1/kv/demo-cache"))
        .header("x-auth-key", common::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let got = json(
        s.client
            .get(s.url("/v1/kv/demo-cache"))
            .bearer_auth("wrong"),
    )
    .await;
    assert_v1_error(&got, 401, "unauthorized", "wrong API key");
    let response = s
        .client
        .get(s.url("/v1/kv/demo-cache"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"kv\""
    );
    assert_eq!(
        status_of(&s, Some(&format!("Bearer {}x", common::API_KEY))).await,
        401
    );
    assert_eq!(status_of(&s, Some("Bearer")).await, 401);
    assert_eq!(
        status_of(&s, Some(&basic("a", common::API_KEY))).await,
        401,
        "basic is not configured"
    );
    assert_eq!(status_of(&s, Some("Digest x")).await, 401);
    let got = json(s.client.get(s.cf("/demo-cache/keys"))).await;
    assert_cf_error(&got, 401, 10000, "missing credentials");
    s.stop().await;
}

#[tokio::test]
async fn basic_with_colons_in_the_password() {
    let s = TestServer::with_auth(AuthSettings {
        basic: Some(BasicCredentials {
            username: "admin".into(),
            password: "pa:ss:word".into(),
        }),
        ..AuthSettings::default()
    })
    .await;
    assert_eq!(
        status_of(&s, Some(&basic("admin", "pa:ss:word"))).await,
        200
    );
    assert_eq!(status_of(&s, Some(&basic("admin", "pa:ss"))).await, 401);
    assert_eq!(
        status_of(&s, Some(&basic("admin", "pa:ss:word:"))).await,
        401
    );
    assert_eq!(
        status_of(&s, Some(&basic("Admin", "pa:ss:word"))).await,
        401
    );
    assert_eq!(status_of(&s, Some("Basic %%%")).await, 401);
    assert_eq!(status_of(&s, Some("Bearer pa:ss:word")).await, 401);
    let response = s
        .client
        .get(s.url("/v1/kv/demo-cache"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Basic realm=\"kv\"");
    s.stop().await;
}

#[tokio::test]
async fn hs256_jwt_checks_signature_expiry_issuer_and_audience() {
    let s = TestServer::with_auth(AuthSettings {
        jwt_secret: Some(SECRET.into()),
        jwt_issuer: Some("https://issuer.test".into()),
        jwt_audience: Some("kv".into()),
        ..AuthSettings::default()
    })
    .await;
    let good = json!({"sub": "u1", "exp": now() + 600, "iss": "https://issuer.test", "aud": "kv"});
    assert_eq!(
        status_of(&s, Some(&format!("Bearer {}", hs256(&good, SECRET)))).await,
        200
    );

    let cases = [
        (
            "expired",
            hs256(
                &json!({"exp": now() - 3600, "iss": "https://issuer.test", "aud": "kv"}),
                SECRET,
            ),
            "expired",
        ),
        (
            "not yet valid",
            hs256(
                &json!({"exp": now() + 600, "nbf": now() + 3600, "iss": "https://issuer.test", "aud": "kv"}),
                SECRET,
            ),
            "not valid yet",
        ),
        (
            "wrong issuer",
            hs256(
                &json!({"exp": now() + 600, "iss": "https://evil.test", "aud": "kv"}),
                SECRET,
            ),
            "wrong issuer",
        ),
        (
            "wrong audience",
            hs256(
                &json!({"exp": now() + 600, "iss": "https://issuer.test", "aud": "other"}),
                SECRET,
            ),
            "wrong audience",
        ),
        (
            "no exp",
            hs256(&json!({"iss": "https://issuer.test", "aud": "kv"}), SECRET),
            "missing claim \"exp\"",
        ),
        // A configured audience or issuer makes the claim required: a token without it
        // (signed with the right secret, as a new user would make one) is refused.
        (
            "no aud",
            hs256(
                &json!({"exp": now() + 600, "iss": "https://issuer.test"}),
                SECRET,
            ),
            "missing claim \"aud\"",
        ),
        (
            "no iss",
            hs256(&json!({"exp": now() + 600, "aud": "kv"}), SECRET),
            "missing claim \"iss\"",
        ),
        (
            "bad signature",
            hs256(&good, "another-secret"),
            "bad signature",
        ),
    ];
    for (what, token, needle) in cases {
        let got = json(s.client.get(s.url("/v1/kv/demo-cache")).bearer_auth(&token)).await;
        assert_v1_error(&got, 401, "unauthorized", needle);
        assert!(
            got.1["error"].as_str().unwrap().contains("JWT refused"),
            "{what}"
        );
    }
    // alg: none, with a valid-looking payload and no signature.
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(good.clone())
    );
    let got = json(s.client.get(s.url("/v1/kv/demo-cache")).bearer_auth(&none)).await;
    assert_v1_error(&got, 401, "unauthorized", "JWT refused");
    // A signature swapped onto another payload.
    let token = hs256(&good, SECRET);
    let forged_payload =
        b64(json!({"sub": "admin", "exp": now() + 600, "iss": "https://issuer.test", "aud": "kv"}));
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    assert_eq!(status_of(&s, Some(&format!("Bearer {forged}"))).await, 401);
    s.stop().await;
}

/// Serves a JWKS on 127.0.0.1 and counts the fetches; `keys` can be swapped (rotation).
struct JwksServer {
    url: String,
    keys: Arc<std::sync::Mutex<JwkSet>>,
    fetches: Arc<AtomicUsize>,
}

#[allow(clippy::unwrap_used, reason = "test helper")]
async fn jwks_server(keys: JwkSet) -> JwksServer {
    let keys = Arc::new(std::sync::Mutex::new(keys));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (k, f) = (Arc::clone(&keys), Arc::clone(&fetches));
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let (k, f) = (Arc::clone(&k), Arc::clone(&f));
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                let set = k.lock().unwrap().clone();
                axum::Json(set)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    JwksServer {
        url: format!("http://{addr}/.well-known/jwks.json"),
        keys,
        fetches,
    }
}

#[allow(clippy::unwrap_used, reason = "test helper")]
fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

#[tokio::test]
async fn jwks_rs256_and_es256_with_refetch_on_unknown_kid() {
    let es = EncodingKey::from_ec_pem(&fixture("es256.pem")).unwrap();
    let rotated = EncodingKey::from_ec_pem(&fixture("es256-rotated.pem")).unwrap();
    let rs = EncodingKey::from_rsa_pem(&fixture("rs256.pem")).unwrap();
    let jwks = jwks_server(JwkSet {
        keys: vec![
            jwk(&es, Algorithm::ES256, "ec-1"),
            jwk(&rs, Algorithm::RS256, "rsa-1"),
        ],
    })
    .await;
    let s = TestServer::with_auth(AuthSettings {
        jwks_url: Some(jwks.url.clone()),
        jwt_issuer: Some("https://idp.test".into()),
        jwks_refresh_interval: Duration::ZERO,
        ..AuthSettings::default()
    })
    .await;
    let claims = json!({"sub": "svc", "exp": now() + 600, "iss": "https://idp.test"});
    let bearer = |t: String| format!("Bearer {t}");

    assert_eq!(
        status_of(
            &s,
            Some(&bearer(signed(Algorithm::ES256, "ec-1", &es, &claims)))
        )
        .await,
        200
    );
    assert_eq!(
        status_of(
            &s,
            Some(&bearer(signed(Algorithm::RS256, "rsa-1", &rs, &claims)))
        )
        .await,
        200
    );
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1, "keys are cached");

    // Rotation: a new kid is fetched when a token names it.
    let rotated_token = signed(Algorithm::ES256, "ec-2", &rotated, &claims);
    assert_eq!(
        status_of(&s, Some(&bearer(rotated_token.clone()))).await,
        401,
        "not published yet"
    );
    jwks.keys
        .lock()
        .unwrap()
        .keys
        .push(jwk(&rotated, Algorithm::ES256, "ec-2"));
    assert_eq!(status_of(&s, Some(&bearer(rotated_token))).await, 200);
    let fetches = jwks.fetches.load(Ordering::SeqCst);
    assert_eq!(fetches, 3);

    // Refused: unknown kid, a key's kid on another key's signature, wrong issuer,
    // expired, and HS256 (no secret configured: no algorithm confusion with a public key).
    let got = json(s.client.get(s.url("/v1/kv/demo-cache")).bearer_auth(signed(
        Algorithm::ES256,
        "nope",
        &es,
        &claims,
    )))
    .await;
    assert_v1_error(&got, 401, "unauthorized", "no key with kid \"nope\"");
    let got = json(s.client.get(s.url("/v1/kv/demo-cache")).bearer_auth(signed(
        Algorithm::ES256,
        "ec-1",
        &rotated,
        &claims,
    )))
    .await;
    assert_v1_error(&got, 401, "unauthorized", "bad signature");
    let got = json(s.client.get(s.url("/v1/kv/demo-cache")).bearer_auth(signed(
        Algorithm::RS256,
        "ec-1",
        &rs,
        &claims,
    )))
    .await;
    assert_v1_error(&got, 401, "unauthorized", "JWT refused");
    let got = json(s.client.get(s.url("/v1/kv/demo-cache")).bearer_auth(signed(
        Algorithm::ES256,
        "ec-1",
        &es,
        &json!({"exp": now() + 600, "iss": "https://other.test"}),
    )))
    .await;
    assert_v1_error(&got, 401, "unauthorized", "wrong issuer");
    let got = json(s.client.get(s.url("/v1/kv/demo-cache")).bearer_auth(signed(
        Algorithm::ES256,
        "ec-1",
        &es,
        &json!({"exp": now() - 600, "iss": "https://idp.test"}),
    )))
    .await;
    assert_v1_error(&got, 401, "unauthorized", "expired");
    let got = json(
        s.client
            .get(s.url("/v1/kv/demo-cache"))
            .bearer_auth(hs256(&claims, SECRET)),
    )
    .await;
    assert_v1_error(&got, 401, "unauthorized", "HS256 tokens are not accepted");
    s.stop().await;
}

#[tokio::test]
async fn any_configured_strategy_accepts() {
    let s = TestServer::with_auth(AuthSettings {
        api_key: Some("key-1".into()),
        basic: Some(BasicCredentials {
            username: "u".into(),
            password: "p".into(),
        }),
        jwt_secret: Some(SECRET.into()),
        ..AuthSettings::default()
    })
    .await;
    assert_eq!(status_of(&s, Some("Bearer key-1")).await, 200);
    assert_eq!(status_of(&s, Some(&basic("u", "p"))).await, 200);
    let token = hs256(&json!({"exp": now() + 60}), SECRET);
    assert_eq!(status_of(&s, Some(&format!("Bearer {token}"))).await, 200);
    assert_eq!(status_of(&s, Some("Bearer key-2")).await, 401);
    let (_, info) = json(s.client.get(s.url("/v1/admin/info")).bearer_auth("key-1")).await;
    assert_eq!(
        info["data"]["auth"]["strategies"],
        json!(["api_key", "basic", "jwt_hs256"])
    );
    let text = info.to_string();
    for secret in ["key-1", SECRET, "\"p\""] {
        assert!(!text.contains(secret), "{secret} leaked in {text}");
    }
    s.stop().await;
}

#[tokio::test]
async fn no_strategy_configured_fails_closed() {
    let s = TestServer::with_auth(AuthSettings::default()).await;
    for path in ["/v1/kv/demo-cache/k", "/v1/kv/demo-cache", "/v1/admin/info"] {
        let got = json(s.client.get(s.url(path))).await;
        assert_v1_error(&got, 401, "unauthorized", "no authentication is configured");
        let got = json(s.client.get(s.url(path)).bearer_auth("anything")).await;
        assert_eq!(got.0, 401);
    }
    let got = json(s.client.put(s.cf("/demo-cache/values/k")).body("v")).await;
    assert_cf_error(&got, 401, 10000, "no authentication is configured");
    assert_eq!(s.store("demo-cache").get("k").bytes().await.unwrap(), None);
    // Public routes stay public.
    assert_eq!(
        s.client
            .get(s.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        s.client
            .get(s.url("/open-api.json"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn no_auth_only_on_loopback() {
    let settings = Settings::new(AuthSettings::default())
        .addr(([127, 0, 0, 1], 0).into())
        .no_auth(true);
    let s = TestServer::with_settings(settings).await;
    assert_eq!(status_of(&s, None).await, 200);
    let (_, info) = json(s.client.get(s.url("/v1/admin/info"))).await;
    assert_eq!(info["data"]["auth"]["no_auth"], true);
    s.stop().await;

    for addr in ["0.0.0.0:0", "[::]:0"] {
        let settings = Settings::new(AuthSettings::default())
            .addr(addr.parse().unwrap())
            .no_auth(true);
        let err = Server::bind(settings, kv_runtime::Runtime::in_memory(), ["demo-cache"])
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServeError::NoAuthOnPublicAddress { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("loopback"), "{err}");
    }
}

#[tokio::test]
async fn no_auth_binds_every_loopback_address() {
    for addr in ["127.0.0.1:0", "127.0.0.2:0", "127.255.255.254:0", "[::1]:0"] {
        let settings = Settings::new(AuthSettings::default())
            .addr(addr.parse().unwrap())
            .no_auth(true);
        match Server::bind(settings, kv_runtime::Runtime::in_memory(), ["demo-cache"]).await {
            Ok(server) => assert!(server.local_addr().unwrap().ip().is_loopback()),
            // A machine without IPv6 cannot bind [::1]; the no-auth check passed.
            Err(ServeError::Bind { .. }) if addr.starts_with('[') => {
                eprintln!("NOTE: {addr} cannot be bound here (no IPv6 loopback)");
            }
            Err(err) => panic!("{addr}: {err}"),
        }
    }
}

#[tokio::test]
async fn an_empty_secret_is_refused_at_startup() {
    // `AuthSettings::from_env` drops empty variables; settings built in code may not.
    // An empty API key would accept `X-Auth-Key: ` and an empty HS256 secret lets
    // anyone sign tokens.
    let empty_basic = |username: &str, password: &str| AuthSettings {
        basic: Some(BasicCredentials {
            username: username.into(),
            password: password.into(),
        }),
        ..AuthSettings::default()
    };
    let cases = [
        (
            AuthSettings {
                api_key: Some(String::new()),
                ..AuthSettings::default()
            },
            "KV_API_KEY",
        ),
        (
            AuthSettings {
                jwt_secret: Some(String::new()),
                ..AuthSettings::default()
            },
            "KV_JWT_SECRET",
        ),
        (empty_basic("admin", ""), "KV_USERNAME or KV_PASSWORD"),
        (empty_basic("", "pw"), "KV_USERNAME or KV_PASSWORD"),
    ];
    for (auth, variable) in cases {
        let settings = Settings::new(auth).addr(([127, 0, 0, 1], 0).into());
        let err = Server::bind(settings, kv_runtime::Runtime::in_memory(), ["demo-cache"])
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServeError::EmptySecret(v) if v == variable),
            "{variable}: {err}"
        );
        assert!(err.to_string().contains(variable), "{err}");
    }
}
