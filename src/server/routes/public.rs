//! The routes anyone may call: `/health` and `/open-api.json`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::server::envelope::{json_response, workertown};
use crate::server::state::SharedState;

/// Whether the server is up. Public.
#[utoipa::path(
    get,
    path = "/health",
    tag = "public",
    security(()),
    responses((status = 200, description = "The server is up: `{\"status\":200,\"success\":true,\"data\":true}`", body = bool, content_type = "application/json"))
)]
pub(crate) async fn health() -> Response {
    workertown(true)
}

/// This OpenAPI 3.1 document. Public.
#[utoipa::path(
    get,
    path = "/open-api.json",
    tag = "public",
    security(()),
    responses((status = 200, description = "The OpenAPI document, generated from the route definitions"))
)]
pub(crate) async fn open_api(State(state): State<SharedState>) -> Response {
    json_response(StatusCode::OK, state.openapi.clone())
}
