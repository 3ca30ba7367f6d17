//! The router: every route, registered from its `#[utoipa::path]` definition, with
//! authentication on the data routes, and the layers every request goes through.

mod cloudflare;
mod cloudflare_bulk;
mod public;
mod stores;
mod workertown;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use bytes::Bytes;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Authenticator, require_auth};
use super::envelope::render_errors;
use super::openapi;
use super::state::{AppState, SharedState};

/// What the router needs beyond the state's contents.
pub(crate) struct RouterParts {
    pub(crate) request_timeout: Duration,
    /// The largest request body any route accepts (the bulk write's, or a store's
    /// largest value plus its envelope); a larger one gets 413 from the limit layer.
    pub(crate) max_body_bytes: usize,
}

/// Builds the router and its OpenAPI document; `make_state` receives the document.
pub(crate) fn build(
    auth: Arc<Authenticator>,
    parts: &RouterParts,
    make_state: impl FnOnce(Bytes) -> AppState,
) -> Router {
    let (data, data_doc) = OpenApiRouter::<SharedState>::with_openapi(openapi::base())
        .routes(routes!(
            workertown::get_value,
            workertown::put_value,
            workertown::delete_value,
            workertown::touch_value
        ))
        .routes(routes!(workertown::list_keys))
        .routes(routes!(stores::count))
        .routes(routes!(stores::delete_prefix))
        .routes(routes!(stores::watch))
        .routes(routes!(workertown::admin_info))
        .routes(routes!(cloudflare::list_namespaces))
        .routes(routes!(cloudflare::get_namespace))
        .routes(routes!(cloudflare::list_keys))
        .routes(routes!(
            cloudflare::get_value,
            cloudflare::put_value,
            cloudflare::delete_value
        ))
        .routes(routes!(cloudflare::get_metadata))
        .routes(routes!(
            cloudflare_bulk::bulk_write,
            cloudflare_bulk::bulk_delete
        ))
        .routes(routes!(cloudflare_bulk::bulk_delete_post))
        .routes(routes!(cloudflare_bulk::bulk_get))
        .split_for_parts();
    let data = data.route_layer(from_fn_with_state(auth, require_auth));

    let (public, public_doc) = OpenApiRouter::<SharedState>::new()
        .routes(routes!(public::health))
        .routes(routes!(public::open_api))
        .split_for_parts();

    let mut doc = data_doc;
    doc.merge(public_doc);
    let doc = openapi::finish(doc);
    let json = doc.to_json().unwrap_or_else(|error| {
        tracing::error!(%error, "rendering the OpenAPI document failed");
        "{}".to_owned()
    });
    let state: SharedState = Arc::new(make_state(Bytes::from(json)));

    Router::new()
        .merge(data)
        .merge(public)
        .layer(RequestBodyLimitLayer::new(parts.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            parts.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(from_fn(render_errors))
        .with_state(state)
}
