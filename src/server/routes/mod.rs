//! The router: every route, registered from its `#[utoipa::path]` definition.

pub(crate) mod cloudflare;
mod cloudflare_bulk;
mod metrics;
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
    let (routes, doc) = parts();
    let json = openapi::render(doc, served);
    let state: SharedState = make_state(Bytes::from(json));
    let router = routes.with_state(std::sync::Arc::clone(&state));
    (router, state)
}

/// Every route, and the OpenAPI document made from their definitions (before
/// [`openapi::render`] completes it for the stores served).
fn parts() -> (Router<SharedState>, utoipa::openapi::OpenApi) {
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
        .routes(routes!(metrics::metrics))
        .routes(routes!(ui::index))
        .routes(routes!(ui::index_slash))
        .routes(routes!(ui::file))
        .split_for_parts();

    let mut doc = data_doc;
    doc.merge(public_doc);
    (Router::new().merge(data).merge(public), doc)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crate::server::metrics::endpoints::{ENDPOINTS, label};

    /// The metrics' endpoint table is the router's: every operation of the OpenAPI
    /// document (which the router is built from) is in it, and nothing else.
    #[test]
    fn the_endpoint_table_is_the_routers() {
        let doc = crate::server::openapi::finish(super::parts().1);
        let documented: BTreeSet<(String, String)> = doc
            .paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ];
                methods
                    .into_iter()
                    .filter(|(_, present)| *present)
                    .map(|(method, _)| (method.to_owned(), path.clone()))
            })
            .collect();
        let table: BTreeSet<(String, String)> = ENDPOINTS
            .iter()
            .map(|(method, route)| (method.to_string(), label(route)))
            .collect();
        assert_eq!(table.len(), ENDPOINTS.len(), "no endpoint twice");
        assert_eq!(table, documented);
    }
}
