//! The Raindrop KV doc's "Basic usage" example as an axum service: sessions in
//! `env.DEMO_CACHE`, created by `POST /login`, read by `GET /`. Each visit slides the
//! session's 24-hour expiry with `touch`, which rewrites only the expiration.
//!
//! `Env` is generated from `raindrop.manifest` by `build.rs` (`kv_build::compile`) and
//! included here with `kv_runtime::include_env!()`; the router takes it as state.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

kv_runtime::include_env!();

/// How long a session lasts after the last visit: 24 hours, as in the Raindrop example.
pub const SESSION_TTL_SECS: u64 = 24 * 60 * 60;

/// The cookie that carries the session id.
pub const SESSION_COOKIE: &str = "session";

/// What `session:<id>` holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Who logged in.
    pub user_id: u64,
    /// When, in Unix seconds.
    pub login_time: u64,
}

/// `POST /login` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Login {
    /// The user logging in.
    pub user_id: u64,
}

/// `POST /login` answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedIn {
    /// The new session's id, also set as the `session` cookie.
    pub session_id: String,
    /// Seconds until the session expires.
    pub expires_in: u64,
}

/// The service: `POST /login`, `GET /`, `POST /logout`.
pub fn router(env: Env) -> Router {
    Router::new()
        .route("/", get(welcome))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .with_state(env)
}

fn session_key(id: &str) -> String {
    format!("session:{id}")
}

/// A new session id: 128 random bits, as 32 hex digits.
fn new_session_id() -> Result<String, StatusCode> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The session id in the request's cookie, if it has the shape of one.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, id)| id)
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn login(State(env): State<Env>, Json(login): Json<Login>) -> Result<Response, Response> {
    let id = new_session_id().map_err(IntoResponse::into_response)?;
    let session = Session {
        user_id: login.user_id,
        login_time: unix_now(),
    };
    env.DEMO_CACHE
        .put(session_key(&id), kv_runtime::Json(&session))
        .expiration_ttl(SESSION_TTL_SECS)
        .await
        .map_err(IntoResponse::into_response)?;
    let cookie = session_cookie(&id);
    let body = LoggedIn {
        session_id: id,
        expires_in: SESSION_TTL_SECS,
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

async fn welcome(State(env): State<Env>, headers: HeaderMap) -> kv_runtime::Result<Response> {
    let Some(id) = session_id(&headers) else {
        return Ok(not_found());
    };
    let key = session_key(id);
    let Some(session) = env.DEMO_CACHE.get(key.as_str()).json::<Session>().await? else {
        return Ok(not_found());
    };
    // Slide the expiry: 24 hours from this visit. Only the expiration is written; if
    // the session expired or was logged out in between, the touch says so.
    if !env
        .DEMO_CACHE
        .touch(key)
        .expiration_ttl(SESSION_TTL_SECS)
        .await?
    {
        return Ok(not_found());
    }
    let cookie = session_cookie(id);
    Ok((
        [(header::SET_COOKIE, cookie)],
        format!("Welcome user {}", session.user_id),
    )
        .into_response())
}

fn not_found() -> Response {
    (StatusCode::UNAUTHORIZED, "Session not found").into_response()
}

/// The cookie that carries session `id`, for as long as the session lasts.
fn session_cookie(id: &str) -> String {
    format!("{SESSION_COOKIE}={id}; Path=/; Max-Age={SESSION_TTL_SECS}; HttpOnly; SameSite=Lax")
}

async fn logout(State(env): State<Env>, headers: HeaderMap) -> kv_runtime::Result<Response> {
    if let Some(id) = session_id(&headers) {
        env.DEMO_CACHE.delete(session_key(id)).await?;
    }
    let cookie = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    Ok(([(header::SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}
