//! The demo app's HTTP behaviour, in process, on a manual clock: login, welcome, 401,
//! logout, and the sliding 24-hour expiry without waiting a day.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use demo_app::{Env, LoggedIn, SESSION_TTL_SECS, router};
use kv_runtime::{ManualClock, Runtime};
use tower::ServiceExt as _;

async fn app() -> (axum::Router, Env, ManualClock) {
    let clock = ManualClock::new(1_700_000_000);
    let rt = Runtime::builder()
        .in_memory()
        .clock(clock.clone())
        .open()
        .await
        .unwrap();
    let env = Env::open(&rt).unwrap();
    (router(env.clone()), env, clock)
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, Option<String>, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, cookie, String::from_utf8(body.to_vec()).unwrap())
}

fn login(user_id: u64) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!("{{\"userId\": {user_id}}}")))
        .unwrap()
}

fn welcome(cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get("/");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn login_then_welcome_until_the_session_expires() {
    let (app, env, clock) = app().await;
    let (status, cookie, body) = send(&app, login(123)).await;
    assert_eq!(status, StatusCode::OK);
    let logged_in: LoggedIn = serde_json::from_str(&body).unwrap();
    assert_eq!(logged_in.expires_in, SESSION_TTL_SECS);
    let cookie = cookie.unwrap();
    assert!(
        cookie.starts_with(&format!("session={}; ", logged_in.session_id)),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Max-Age=86400"),
        "{cookie}"
    );

    let session_cookie = format!("theme=dark; session={}", logged_in.session_id);
    let (status, _, body) = send(&app, welcome(Some(&session_cookie))).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "Welcome user 123")
    );

    // The session lives in env.DEMO_CACHE under session:<id>, with a 24-hour expiration.
    let page = env.DEMO_CACHE.list().prefix("session:").await.unwrap();
    assert_eq!(page.keys.len(), 1);
    assert_eq!(
        page.keys[0].expiration,
        Some(1_700_000_000 + SESSION_TTL_SECS)
    );

    // Idle for 24 hours less a second: still valid, and the visit slides the expiry.
    clock.advance(Duration::from_secs(SESSION_TTL_SECS - 1));
    let (status, cookie, _) = send(&app, welcome(Some(&session_cookie))).await;
    assert_eq!(status, StatusCode::OK, "still valid one second before 24 h");
    assert!(
        cookie.unwrap().contains("Max-Age=86400"),
        "the cookie slides too"
    );
    let visit = 1_700_000_000 + SESSION_TTL_SECS - 1;
    let page = env.DEMO_CACHE.list().prefix("session:").await.unwrap();
    assert_eq!(page.keys[0].expiration, Some(visit + SESSION_TTL_SECS));
    // Past the original 24 hours, the session lives on ...
    clock.advance(Duration::from_secs(1));
    let (status, _, _) = send(&app, welcome(Some(&session_cookie))).await;
    assert_eq!(status, StatusCode::OK, "the visit extended it");
    // ... until it is left idle for 24 hours.
    clock.advance(Duration::from_secs(SESSION_TTL_SECS));
    let (status, _, body) = send(&app, welcome(Some(&session_cookie))).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, "Session not found")
    );
}

#[tokio::test]
async fn no_or_bad_session_is_401() {
    let (app, _, _) = app().await;
    for cookie in [
        None,
        Some("session=0123456789abcdef0123456789abcdef"),
        Some("session=../../etc"),
        Some("other=1"),
    ] {
        let (status, _, body) = send(&app, welcome(cookie)).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::UNAUTHORIZED, "Session not found"),
            "{cookie:?}"
        );
    }
}

#[tokio::test]
async fn logout_ends_the_session() {
    let (app, _, _) = app().await;
    let (_, _, body) = send(&app, login(7)).await;
    let id = serde_json::from_str::<LoggedIn>(&body).unwrap().session_id;
    let cookie = format!("session={id}");
    let logout = Request::post("/logout")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let (status, set_cookie, _) = send(&app, logout).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(set_cookie.unwrap().contains("Max-Age=0"));
    let (status, _, _) = send(&app, welcome(Some(&cookie))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_login_bodies_are_rejected() {
    let (app, env, _) = app().await;
    for body in [
        "",
        "{}",
        "{\"userId\": \"x\"}",
        "{\"userId\": 1, \"admin\": true}",
        "not json",
    ] {
        let request = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let (status, _, _) = send(&app, request).await;
        assert!(status.is_client_error(), "{body:?} gave {status}");
    }
    assert!(
        env.DEMO_CACHE.list().await.unwrap().keys.is_empty(),
        "nothing was written"
    );
}

#[test]
fn env_is_generated_from_the_manifest() {
    fn assert_env<T: Clone + Send + Sync + 'static>() {}
    assert_env::<Env>();
    assert_eq!(Env::APPLICATION, "demo-app");
    assert_eq!(Env::STORES, ["demo-cache"]);
}
