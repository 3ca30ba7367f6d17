//! `GET /metrics`: the server's and the stores' metrics in Prometheus' text format.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};

use crate::server::error::{ApiError, Code};
use crate::server::state::SharedState;

/// Prometheus' text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Requests by method, route template and status, latency histograms by route, bytes
/// in and out, open connections, store operations by store and kind, backend errors
/// and read-cache hits and misses. Protected like the data routes unless the server
/// runs with `--public-metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "The metrics, in Prometheus' text format (version 0.0.4)", content_type = "text/plain", body = String),
        (status = 401, description = "Missing or wrong credentials (unless --public-metrics)"),
    )
)]
pub(crate) async fn metrics(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let text = state.metrics.render().map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::Internal,
            "rendering the metrics failed",
        )
    })?;
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(response)
}
