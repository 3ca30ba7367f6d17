//! axum integration (feature `axum`): a store error is a response.
//!
//! With it, a handler that takes `State(env): State<Env>` can use `?` on store calls:
//!
//! ```
//! use axum::{Router, extract::{Path, State}, routing::get};
//! use kv_runtime::KvStore;
//!
//! async fn show(State(cache): State<KvStore>, Path(key): Path<String>) -> kv_runtime::Result<String> {
//!     Ok(cache.get(key).text().await?.unwrap_or_default())
//! }
//!
//! let app: Router = Router::new()
//!     .route("/{key}", get(show))
//!     .with_state(KvStore::in_memory("demo-cache"));
//! # drop(app);
//! ```
//!
//! A failed store call answers with [`Error::status`] and a JSON body naming the
//! error's [`code`](Error::code): `{"error": {"code": "key_too_long", "message": "..."}}`.

use axum_core::response::{IntoResponse, Response};
use http::StatusCode;

use crate::error::Error;

impl Error {
    /// The HTTP status this error maps to (see [`Error::http_status`], the one mapping).
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// `{"error": {"code": "...", "message": "..."}}` with [`Error::status`]. Server-side
/// errors are logged and their message is not sent: it may name paths or internals.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, code = self.code(), "store operation failed");
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        let body = serde_json::json!({"error": {"code": self.code(), "message": message}});
        (
            status,
            [(http::header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn respond(error: Error) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn statuses_and_bodies() {
        let (status, body) = respond(Error::KeyTooLong { len: 513, max: 512 }).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "key_too_long", "message": "UTF-8 encoded length of 513 exceeds key length limit of 512"}})
        );
        let (status, _) = respond(Error::ValueTooLarge { size: 2, max: 1 }).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let conflict = Error::conflict("k", crate::backend::Condition::Absent, None);
        assert_eq!(respond(conflict).await.0, StatusCode::PRECONDITION_FAILED);
        let (status, body) = respond(Error::backend("fjall", "disk on fire at /secret/path")).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "a retry may succeed"
        );
        assert_eq!(
            body["error"]["message"], "internal error",
            "internals are not sent"
        );
        assert_eq!(body["error"]["code"], "backend");
    }
}
