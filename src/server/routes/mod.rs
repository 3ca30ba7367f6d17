//! The router: every route, registered from its `#[utoipa::path]` definition.

pub(crate) mod cloudflare;
mod cloudflare_bulk;
mod public;
mod stores;
mod ui;
pub(crate) mod workertown;

use axum::Router;
use bytes::Bytes;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi;
use super::state::SharedState;

/// Builds the router (without layers: [`Front`](super::front::Front) does what every
/// route needs) and its OpenAPI document; `make_state` receives the document, and the
/// state is returned beside the router.
pub(crate) fn build(
    served: &openapi::Served,
    make_state: impl FnOnce(Bytes) -> SharedState,
) -> (Router, SharedState) {
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

    let (public, public_doc) = OpenApiRouter::<SharedState>::new()
        .routes(routes!(public::health))
        .routes(routes!(public::open_api))
        .routes(routes!(ui::index))
        .routes(routes!(ui::index_slash))
        .routes(routes!(ui::file))
        .split_for_parts();

    let mut doc = data_doc;
    doc.merge(public_doc);
    let json = openapi::render(doc, served);
    let state: SharedState = make_state(Bytes::from(json));

    let router = Router::new()
        .merge(data)
        .merge(public)
        .with_state(std::sync::Arc::clone(&state));
    (router, state)
}
