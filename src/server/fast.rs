//! The hot routes, matched without the router: a value read or write on the Cloudflare
//! route, and a value read on `/v1`. Matching by hand what the router would match
//! costs a few comparisons; the router's matching, parameter decoding and extractors
//! cost a fifth of such a request (measured with `bench/instructions.sh`).
//!
//! Only the ordinary shape of each request is taken — the method, a path with every
//! capture non-empty, no query string — and it is answered by the very handler the
//! router would call, so the two paths cannot disagree. Anything else (a query, an odd
//! path, a store that does not exist) goes to the router, which owns the edge cases.

use axum::body::Body;
use axum::http::{Method, Request};
use axum::response::{IntoResponse as _, Response};
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use percent_encoding::percent_decode_str;

use super::extract::{ApiQuery, Precondition, StoreKey};
use super::metrics::endpoints::Endpoint;
use super::params::ReadQuery;
use super::routes::{cloudflare, workertown};
use super::state::AppState;

const CLOUDFLARE_PREFIX: &str = "/client/v4/accounts/";
const V1_PREFIX: &str = "/v1/kv/";

/// The handler's future for `request` and its endpoint, if it is one of the hot routes
/// in its ordinary shape; otherwise the request back, for the router.
#[allow(
    clippy::result_large_err,
    reason = "the request is handed back by value, to the router: boxing it would cost the allocation this path saves"
)]
pub(crate) fn route(
    state: &AppState,
    request: Request<Body>,
) -> Result<(BoxFuture<'static, Response>, Endpoint), Request<Body>> {
    let method = request.method();
    if request.uri().query().is_some() || !(method == Method::GET || method == Method::PUT) {
        return Err(request);
    }
    let path = request.uri().path();
    let (target, cloudflare) = if let Some(rest) = path.strip_prefix(CLOUDFLARE_PREFIX) {
        match cloudflare_value(state, rest) {
            Some(target) => (target, true),
            None => return Err(request),
        }
    } else if let Some(rest) = path.strip_prefix(V1_PREFIX) {
        match store_and_key(state, rest) {
            Some(target) if method == Method::GET => (target, false),
            _ => return Err(request),
        }
    } else {
        return Err(request);
    };
    Ok(match (method == Method::GET, cloudflare) {
        (true, true) => (
            cloudflare::get_value(target, no_query())
                .map(into_response)
                .boxed(),
            Endpoint::CLOUDFLARE_GET_VALUE,
        ),
        (true, false) => (
            workertown::get_value(target, no_query())
                .map(into_response)
                .boxed(),
            Endpoint::V1_GET_VALUE,
        ),
        (false, _) => {
            let (parts, body) = request.into_parts();
            let precondition = Precondition::from_headers(&parts.headers);
            let future = cloudflare::put_value(
                Ok(target),
                Ok(ApiQuery(cloudflare::WriteQuery::default())),
                precondition,
                parts.headers,
                body,
            )
            .map(into_response)
            .boxed();
            (future, Endpoint::CLOUDFLARE_PUT_VALUE)
        }
    })
}

/// The query of a request without a query string.
fn no_query() -> ApiQuery<ReadQuery> {
    ApiQuery(ReadQuery::default())
}

fn into_response(result: Result<Response, super::error::ApiError>) -> Response {
    match result {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// `{account}/storage/kv/namespaces/{store}/values/{key}`.
fn cloudflare_value(state: &AppState, rest: &str) -> Option<StoreKey> {
    let (account, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("storage/kv/namespaces/")?;
    let (store, rest) = rest.split_once('/')?;
    let key = rest.strip_prefix("values/")?;
    if account.is_empty() {
        return None;
    }
    store_key(state, store, key)
}

/// `{store}/{key}`.
fn store_and_key(state: &AppState, rest: &str) -> Option<StoreKey> {
    let (store, key) = rest.split_once('/')?;
    store_key(state, store, key)
}

/// The store and the decoded key, when both are ordinary: a store the manifest has and
/// a non-empty key that does not start with `/` and decodes to UTF-8.
fn store_key(state: &AppState, store: &str, key: &str) -> Option<StoreKey> {
    if store.is_empty() || key.is_empty() || key.starts_with('/') || store.contains('%') {
        return None;
    }
    let store = state.stores.get(store)?.clone();
    let key = percent_decode_str(key).decode_utf8().ok()?.into_owned();
    Some(StoreKey { store, key })
}
