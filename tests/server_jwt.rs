//! JWTs as an attacker would shape them: claims a configured setting implies, clock
//! skew on `exp` and `nbf`, algorithms the server does not take (`none`, HS512, RS384,
//! PS256, EdDSA), HS256 signed with a public key (algorithm confusion) and RS256 where
//! only a secret is configured. Every refusal is a 401 whose message says why.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step is a failed test"
)]

mod common;
mod jwks_support;

use base64::Engine as _;
use common::{TestServer, assert_v1_error, json, now};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use jwks_support::{hs256, rs256, signed};
use kv::server::AuthSettings;
use serde_json::json;

const SECRET: &[u8] = b"a-32-byte-or-longer-hs256-secret!";
const ISSUER: &str = "https://issuer.test";

fn secret_settings() -> AuthSettings {
    AuthSettings {
        jwt_secret: Some(String::from_utf8(SECRET.to_vec()).unwrap()),
        ..AuthSettings::default()
    }
}

/// The status and error message of a data route for `token`.
async fn answer(s: &TestServer, token: &str) -> (u16, String) {
    let got = json(s.client.get(s.url("/v1/kv/demo-cache")).bearer_auth(token)).await;
    let message = got.1["error"].as_str().unwrap_or_default().to_owned();
    (got.0, message)
}

async fn refused(s: &TestServer, token: &str, needle: &str) {
    let got = json(s.client.get(s.url("/v1/kv/demo-cache")).bearer_auth(token)).await;
    assert_v1_error(&got, 401, "unauthorized", needle);
    assert!(
        got.1["error"].as_str().unwrap().starts_with("JWT refused"),
        "{}",
        got.1
    );
}

fn b64(value: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A token with any header, and a signature that is not one.
fn with_header(header: &serde_json::Value, claims: &serde_json::Value) -> String {
    format!("{}.{}.c2lnbmF0dXJl", b64(header), b64(claims))
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused_when_no_audience_is_configured() {
    let s = TestServer::with_auth(secret_settings()).await;
    assert_eq!(
        answer(&s, &hs256(&json!({"exp": now() + 600}), SECRET))
            .await
            .0,
        200
    );
    for aud in [
        json!("another-app"),
        json!(["another-app", "a-third"]),
        json!([]),
    ] {
        let token = hs256(&json!({"exp": now() + 600, "aud": aud}), SECRET);
        refused(&s, &token, "set KV_JWT_AUDIENCE").await;
    }
    s.stop().await;
}

#[tokio::test]
async fn a_configured_audience_is_required_and_may_be_one_of_several() {
    let s = TestServer::with_auth(AuthSettings {
        jwt_audience: Some("kv".into()),
        ..secret_settings()
    })
    .await;
    for aud in [json!("kv"), json!(["other", "kv"])] {
        let token = hs256(&json!({"exp": now() + 600, "aud": aud}), SECRET);
        assert_eq!(answer(&s, &token).await.0, 200, "{aud}");
    }
    for (aud, needle) in [
        (json!("other"), "wrong audience"),
        (json!(["other"]), "wrong audience"),
        (json!("KV"), "wrong audience"),
        (json!(5), "missing claim \"aud\""),
        (json!(null), "missing claim \"aud\""),
    ] {
        let token = hs256(&json!({"exp": now() + 600, "aud": aud}), SECRET);
        refused(&s, &token, needle).await;
    }
    refused(
        &s,
        &hs256(&json!({"exp": now() + 600}), SECRET),
        "missing claim \"aud\"",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn a_configured_issuer_is_required_as_exactly_that_string() {
    let s = TestServer::with_auth(AuthSettings {
        jwt_issuer: Some(ISSUER.into()),
        ..secret_settings()
    })
    .await;
    let token = hs256(&json!({"exp": now() + 600, "iss": ISSUER}), SECRET);
    assert_eq!(answer(&s, &token).await.0, 200);
    for (iss, needle) in [
        // jsonwebtoken alone accepts an array that contains the issuer.
        (json!([ISSUER, "https://evil.test"]), "wrong issuer"),
        (json!([ISSUER]), "wrong issuer"),
        (json!("https://evil.test"), "wrong issuer"),
        (json!("https://issuer.test/"), "wrong issuer"),
        (json!(7), "missing claim \"iss\""),
    ] {
        let token = hs256(&json!({"exp": now() + 600, "iss": iss}), SECRET);
        refused(&s, &token, needle).await;
    }
    refused(
        &s,
        &hs256(&json!({"exp": now() + 600}), SECRET),
        "missing claim \"iss\"",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn exp_is_required_and_exp_and_nbf_allow_30_seconds_of_clock_skew() {
    let s = TestServer::with_auth(secret_settings()).await;
    // Within the leeway (with 20 s to spare for a slow test machine).
    for claims in [
        json!({"exp": now() - 10}),
        json!({"exp": now() + 600, "nbf": now() + 10}),
        json!({"exp": (now() + 600) as f64 + 0.5}),
    ] {
        assert_eq!(answer(&s, &hs256(&claims, SECRET)).await.0, 200, "{claims}");
    }
    for (claims, needle) in [
        (json!({"exp": now() - 120}), "expired"),
        (
            json!({"exp": now() + 600, "nbf": now() + 120}),
            "not valid yet",
        ),
        (json!({}), "missing claim \"exp\""),
        (json!({"exp": null}), "missing claim \"exp\""),
        (json!({"exp": "9999999999"}), "missing claim \"exp\""),
        (json!({"exp": -1}), "missing claim \"exp\""),
        (json!({"exp": 1e300}), "missing claim \"exp\""),
        (
            json!({"exp": now() + 600, "nbf": "later"}),
            "claim \"nbf\" is not a number",
        ),
    ] {
        refused(&s, &hs256(&claims, SECRET), needle).await;
    }
    s.stop().await;
}

#[tokio::test]
async fn algorithms_other_than_the_configured_ones_are_refused() {
    let (rsa, rsa_jwk) = rs256("rsa-1");
    let jwks = jwks_support::start(
        JwkSet {
            keys: vec![rsa_jwk.clone()],
        },
        None,
    )
    .await;
    let s = TestServer::with_auth(AuthSettings {
        jwks_url: Some(jwks.url("/jwks")),
        jwt_issuer: Some(ISSUER.into()),
        ..secret_settings()
    })
    .await;
    let claims = json!({"exp": now() + 600, "iss": ISSUER});
    assert_eq!(answer(&s, &hs256(&claims, SECRET)).await.0, 200);
    assert_eq!(
        answer(&s, &signed(Algorithm::RS256, "rsa-1", &rsa, &claims))
            .await
            .0,
        200
    );

    // `alg: none` in every spelling, with and without a signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": "rsa-1"});
        refused(&s, &with_header(&header, &claims), "unsupported alg").await;
        let unsigned = format!("{}.{}.", b64(&header), b64(&claims));
        refused(&s, &unsigned, "unsupported alg").await;
    }
    // Algorithms jsonwebtoken knows but this server does not take.
    for alg in [
        "HS384", "HS512", "RS384", "RS512", "PS256", "ES384", "EdDSA",
    ] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": "rsa-1"});
        refused(&s, &with_header(&header, &claims), "is not accepted").await;
    }
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    refused(&s, &hs512, "algorithm HS512 is not accepted").await;

    // Algorithm confusion: HS256 "signed" with what is public about the RSA key, naming
    // its kid. HS256 is only ever verified with KV_JWT_SECRET.
    let public_forms = [
        serde_json::to_vec(&rsa_jwk).unwrap(),
        match &rsa_jwk.algorithm {
            jsonwebtoken::jwk::AlgorithmParameters::RSA(p) => p.n.clone().into_bytes(),
            other => panic!("not an RSA key: {other:?}"),
        },
    ];
    for public in public_forms {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa-1".into());
        let forged =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&public)).unwrap();
        refused(&s, &forged, "bad signature").await;
    }
    // An RS256 header on an HS256 signature made with the secret.
    let hs = hs256(&claims, SECRET);
    let swapped = format!(
        "{}.{}",
        b64(&json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-1"})),
        hs.split_once('.').unwrap().1
    );
    refused(&s, &swapped, "bad signature").await;
    s.stop().await;
}

#[tokio::test]
async fn rs256_is_refused_where_only_a_secret_is_configured() {
    let (rsa, _) = rs256("rsa-1");
    let s = TestServer::with_auth(secret_settings()).await;
    let token = signed(
        Algorithm::RS256,
        "rsa-1",
        &rsa,
        &json!({"exp": now() + 600}),
    );
    refused(&s, &token, "RS256 tokens are not accepted (no KV_JWKS_URL)").await;
    s.stop().await;
}
