//! What Workers KV lacks, per store, under `/v1/stores/{store}`: counting keys,
//! deleting by prefix, and watching changes as Server-Sent Events.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse as _, Response};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use crate::server::envelope::workertown;
use crate::server::error::{ApiError, Code};
use crate::server::extract::{ApiQuery, Store};

/// `?prefix=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PrefixQuery {
    /// Only keys that start with this (matched literally).
    prefix: Option<String>,
}

/// `data` of a count.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Count {
    /// Live keys under the prefix.
    count: u64,
}

/// `data` of a delete by prefix.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Deleted {
    /// How many live keys were removed.
    deleted: u64,
}

/// Counts the live keys under `prefix` (all keys without one).
#[utoipa::path(
    get,
    path = "/v1/stores/{store}/count",
    tag = "beyond-workers-kv",
    params(("store" = String, Path, description = "A store of the manifest"), PrefixQuery),
    responses(
        (status = 200, description = "`data`: `{\"count\": n}`", body = Count),
        (status = 404, description = "`store_not_found`"),
    )
)]
pub(crate) async fn count(
    Store(store): Store,
    ApiQuery(query): ApiQuery<PrefixQuery>,
) -> Result<Response, ApiError> {
    let count = store
        .count()
        .prefix(query.prefix.unwrap_or_default())
        .await?;
    Ok(workertown(Count { count }))
}

/// Deletes every key under `prefix`, which is required (`prefix=` — empty — clears the
/// store, on purpose only). Keys written while it runs may survive.
#[utoipa::path(
    delete,
    path = "/v1/stores/{store}/keys",
    tag = "beyond-workers-kv",
    params(
        ("store" = String, Path, description = "A store of the manifest"),
        ("prefix" = String, Query, description = "Delete the keys that start with this (matched literally); empty clears the store"),
    ),
    responses(
        (status = 200, description = "`data`: `{\"deleted\": n}`", body = Deleted),
        (status = 400, description = "`invalid_request`: no `prefix` parameter"),
        (status = 404, description = "`store_not_found`"),
    )
)]
pub(crate) async fn delete_prefix(
    Store(store): Store,
    ApiQuery(query): ApiQuery<PrefixQuery>,
) -> Result<Response, ApiError> {
    let Some(prefix) = query.prefix else {
        return Err(ApiError::bad_request(
            Code::InvalidRequest,
            "give the prefix to delete: ?prefix=session: (an empty prefix= clears the whole store)",
        ));
    };
    let deleted = store.delete_prefix(prefix).await?;
    Ok(workertown(Deleted { deleted }))
}

/// How often an idle watch stream sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Watches changes to keys under `prefix` as Server-Sent Events: `event: put` with
/// `{"key","version","expiration"}`, `event: delete` with `{"key","expired"}`, and
/// `event: lagged` with `{"missed"}` when changes were lost (re-read what matters). A
/// comment is sent every 15 s while idle. Changes from every process sharing the store
/// arrive on Redis and PostgreSQL.
#[utoipa::path(
    get,
    path = "/v1/stores/{store}/watch",
    tag = "beyond-workers-kv",
    params(("store" = String, Path, description = "A store of the manifest"), PrefixQuery),
    responses(
        (status = 200, description = "A stream of events", content_type = "text/event-stream"),
        (status = 404, description = "`store_not_found`"),
    )
)]
pub(crate) async fn watch(
    Store(store): Store,
    ApiQuery(query): ApiQuery<PrefixQuery>,
) -> Result<Response, ApiError> {
    let changes = store
        .watch()
        .prefix(query.prefix.unwrap_or_default())
        .await?;
    let events = changes.map(|change| Ok::<_, Infallible>(event(change)));
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// The event for one change (or for the watch failing).
fn event(change: kv_runtime::Result<kv_runtime::Change>) -> Event {
    use kv_runtime::Change;
    let (name, data) = match change {
        Ok(Change::Put {
            key,
            version,
            expiration,
            ..
        }) => (
            "put",
            serde_json::json!({"key": key, "version": version.to_string(), "expiration": expiration}),
        ),
        Ok(Change::Delete { key, expired, .. }) => (
            "delete",
            serde_json::json!({"key": key, "expired": expired}),
        ),
        Ok(Change::Lagged { missed, .. }) => ("lagged", serde_json::json!({"missed": missed})),
        // A kind of change this server does not know yet: say something was missed.
        Ok(_) => ("lagged", serde_json::json!({"missed": null})),
        Err(error) => {
            tracing::warn!(%error, "a watch stream failed");
            (
                "error",
                serde_json::json!({"code": error.code(), "message": "the watch failed; reconnect"}),
            )
        }
    };
    Event::default().event(name).data(data.to_string())
}
