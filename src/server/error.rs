//! [`ApiError`]: every error a route answers, with its HTTP status and a stable code, and
//! [`ServeError`]: why the server could not start or stop cleanly.
//!
//! A handler returns `ApiError`; it becomes a response with no body that carries the
//! error as an extension, and [`envelope::render_errors`](super::envelope::render_errors)
//! renders it in the envelope of the route family (@workertown/kv on `/v1`, Cloudflare
//! on `/client/v4`). So there is one error type, and one place that decides its shape.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What went wrong, as a stable code: the runtime's (its one mapping, in
/// `kv_runtime::Error::code`, `http_status` and `cloudflare_code`), or one of the
/// server's own, for what only HTTP has (authentication, routing, request bodies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    Unauthorized,
    RouteNotFound,
    MethodNotAllowed,
    KeyNotFound,
    StoreNotFound,
    InvalidJson,
    InvalidRequest,
    PayloadTooLarge,
    Timeout,
    Internal,
    /// A runtime error's code.
    Runtime {
        code: &'static str,
        cloudflare: u32,
    },
}

impl Code {
    /// The string code of a `/v1` error.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Code::Unauthorized => "unauthorized",
            Code::RouteNotFound => "not_found",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::KeyNotFound => "key_not_found",
            Code::StoreNotFound => "store_not_found",
            Code::InvalidJson => "invalid_json",
            Code::InvalidRequest => "invalid_request",
            Code::PayloadTooLarge => "payload_too_large",
            Code::Timeout => "timeout",
            Code::Internal => "internal",
            Code::Runtime { code, .. } => code,
        }
    }

    /// The numeric code of a Cloudflare error.
    ///
    /// 10000 ("Authentication error"), 10009 (key not found), 10013 (namespace not found)
    /// and 7000 (no route for that URI) are Cloudflare's own: wrangler's KV error help
    /// (cloudflare/wrangler-legacy `src/commands/kv/mod.rs`) and the API's answers name
    /// them. The others are ours, in 10900..=10999 (the runtime's table has the rest).
    pub(crate) fn cloudflare(self) -> u32 {
        match self {
            Code::Unauthorized => 10000,
            Code::RouteNotFound => 7000,
            Code::KeyNotFound => 10009,
            Code::StoreNotFound => 10013,
            Code::InvalidJson => 10907,
            Code::InvalidRequest => 10908,
            Code::PayloadTooLarge => 10912,
            Code::Timeout => 10913,
            Code::MethodNotAllowed => 10914,
            Code::Internal => 10999,
            Code::Runtime { cloudflare, .. } => cloudflare,
        }
    }

    /// The code a bare status maps to, for responses that no handler produced
    /// (router fallbacks, the timeout and body-limit layers).
    pub(crate) fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => Code::Unauthorized,
            StatusCode::NOT_FOUND => Code::RouteNotFound,
            StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Code::PayloadTooLarge,
            StatusCode::REQUEST_TIMEOUT => Code::Timeout,
            s if s.is_client_error() => Code::InvalidRequest,
            _ => Code::Internal,
        }
    }
}

/// An error answered to a client: status, stable code and a message naming the problem.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: Code,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: Code, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(code: Code, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn key_not_found(key: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Code::KeyNotFound,
            format!("key not found: {key:?}"),
        )
    }

    pub(crate) fn store_not_found(store: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Code::StoreNotFound,
            format!("namespace not found: no store {store:?} in the manifest"),
        )
    }

    pub(crate) fn too_large(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::PayloadTooLarge,
            message,
        )
    }

    /// The same error with another message (the status and code stay).
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// The error for a runtime failure, as the runtime maps it. Server-side failures
    /// (5xx) are logged in full and answered without their details.
    pub(crate) fn from_runtime(error: &kv_runtime::Error) -> Self {
        if let kv_runtime::Error::InvalidStoreName { name, .. } = error.root() {
            return Self::store_not_found(name);
        }
        let status =
            StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = Code::Runtime {
            code: error.root().code(),
            cloudflare: error.cloudflare_code(),
        };
        if status.is_server_error() {
            tracing::error!(%error, code = error.code(), "store operation failed");
            return Self::new(
                status,
                code,
                "the store failed; the server log has the details",
            );
        }
        Self::new(status, code, error.to_string())
    }
}

impl From<kv_runtime::Error> for ApiError {
    fn from(error: kv_runtime::Error) -> Self {
        Self::from_runtime(&error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut response = status.into_response();
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

/// Why the server did not start, or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// `--no-auth` was asked for on an address other clients can reach.
    #[error(
        "refusing to serve without authentication on {addr}: --no-auth is only allowed on a loopback address (127.0.0.1 or ::1)"
    )]
    NoAuthOnPublicAddress {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A store could not be opened.
    #[error("cannot open store {name:?}: {source}")]
    Store {
        /// The store.
        name: String,
        /// The cause.
        #[source]
        source: kv_runtime::Error,
    },
    /// The runtime (data directory or configuration) could not be opened or flushed.
    #[error(transparent)]
    Runtime(#[from] kv_runtime::Error),
    /// A secret of the authentication settings is the empty string, which would accept
    /// an empty credential (or, for `KV_JWT_SECRET`, a token anyone can sign).
    #[error("{0} is empty: an empty secret would let anyone in (unset it, or set a secret)")]
    EmptySecret(&'static str),
    /// `KV_JWKS_URL` is not an `http` or `https` URL.
    #[error("KV_JWKS_URL {url} is not usable: {reason}")]
    InvalidJwksUrl {
        /// The URL, redacted (no user info, query or fragment).
        url: String,
        /// Why.
        reason: String,
    },
    /// The JWKS HTTP client could not be built.
    #[error("cannot build the HTTP client for KV_JWKS_URL: {0}")]
    HttpClient(#[source] reqwest::Error),
}
