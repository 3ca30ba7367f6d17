//! Cloudflare's bulk routes: `PUT .../bulk` (write up to 10,000 pairs), both forms of
//! bulk delete (`DELETE .../bulk` and `POST .../bulk/delete`, a JSON array of keys), and
//! `POST .../bulk/get` (up to 100 keys). Writes and deletes are all-or-nothing (the
//! runtime validates every item first); the result reports `successful_key_count` and
//! `unsuccessful_keys` (cloudflare-python `types/kv/namespace_bulk_update_response.py`).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::server::body::{parse_json, read_limited};
use crate::server::envelope::cloudflare;
use crate::server::error::{ApiError, Code};
use crate::server::limits::{
    MAX_BULK_DELETE_BODY_BYTES, MAX_BULK_GET_BODY_BYTES, MAX_BULK_WRITE_BODY_BYTES,
};
use crate::server::openapi::Values;
use crate::server::params;
use crate::server::state::SharedState;

/// One pair of a bulk write (cloudflare-python `namespace_bulk_update_params.Body`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct BulkWriteItem {
    /// The key.
    key: String,
    /// The value: UTF-8 text, or base64 when `base64` is true.
    value: String,
    /// Whether `value` is base64 to decode before storing.
    #[serde(default)]
    base64: bool,
    /// Unix time (seconds) at which the key expires.
    #[schema(value_type = Option<u64>)]
    expiration: Option<serde_json::Value>,
    /// Seconds until the key expires; wins over `expiration`.
    #[schema(value_type = Option<u64>)]
    expiration_ttl: Option<serde_json::Value>,
    /// JSON metadata of at most 1024 bytes.
    metadata: Option<serde_json::Value>,
}

/// The result of a bulk write or delete.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct BulkResult {
    successful_key_count: usize,
    unsuccessful_keys: Vec<String>,
}

/// The body of a bulk get.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct BulkGet {
    /// Up to 100 keys.
    keys: Vec<String>,
    /// `text` (default) or `json`.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Whether to answer `{"value","metadata"}` per key.
    #[serde(rename = "withMetadata", alias = "with_metadata", default)]
    with_metadata: bool,
}

/// What is wrong with item `index`, in the runtime's words for a bulk item.
fn item_error(index: usize, key: &str, source: kv_runtime::Error) -> ApiError {
    kv_runtime::Error::BulkItem {
        index,
        key: key.to_owned(),
        source: Box::new(source),
    }
    .into()
}

/// Writes up to 10,000 pairs, all or none.
#[utoipa::path(
    put,
    path = "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk",
    tag = "cloudflare",
    params(
        ("account_id" = String, Path, description = "Any account id"),
        ("namespace_id" = String, Path, description = "A store of the manifest"),
    ),
    request_body = [BulkWriteItem],
    responses(
        (status = 200, description = "`result`: `{successful_key_count, unsuccessful_keys}`", body = BulkResult),
        (status = 400, description = "An invalid item; the message names it, nothing is written"),
        (status = 413, description = "Over 10,000 items or 100 MB"),
    )
)]
pub(crate) async fn bulk_write(
    State(state): State<SharedState>,
    Path((_account, namespace)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let store = state.store(&namespace)?;
    let bytes = read_limited(
        &headers,
        body,
        MAX_BULK_WRITE_BODY_BYTES,
        "the bulk write body",
    )
    .await?;
    let items: Vec<BulkWriteItem> = parse_json(
        &bytes,
        "the bulk write body (a JSON array of {key, value, ...})",
    )?;
    let count = items.len();
    let mut puts = Vec::with_capacity(count);
    for (index, item) in items.into_iter().enumerate() {
        let value = if item.base64 {
            base64::engine::general_purpose::STANDARD
                .decode(item.value.as_bytes())
                .map_err(|e| {
                    let source = kv_runtime::Error::InvalidParameter {
                        name: "value".to_owned(),
                        given: None,
                        expected: format!("it is not valid base64 ({e})"),
                    };
                    item_error(index, &item.key, source)
                })?
        } else {
            item.value.into_bytes()
        };
        let ttl = params::whole_number_json("expiration_ttl", item.expiration_ttl.as_ref())
            .map_err(|e| item_error(index, &item.key, e))?;
        let at = params::whole_number_json("expiration", item.expiration.as_ref())
            .map_err(|e| item_error(index, &item.key, e))?;
        let put = kv_runtime::BulkPut::new(item.key, value)
            .expiration_ttl(ttl)
            .expiration(at)
            .metadata(item.metadata);
        puts.push(put);
    }
    store.put_many(puts).await?;
    Ok(cloudflare(BulkResult {
        successful_key_count: count,
        unsuccessful_keys: Vec::new(),
    }))
}

/// Deletes up to 10,000 keys, all or none: `DELETE .../bulk` with a JSON array of keys.
#[utoipa::path(
    delete,
    path = "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk",
    tag = "cloudflare",
    params(
        ("account_id" = String, Path, description = "Any account id"),
        ("namespace_id" = String, Path, description = "A store of the manifest"),
    ),
    request_body = Vec<String>,
    responses(
        (status = 200, description = "`result`: `{successful_key_count, unsuccessful_keys}`", body = BulkResult),
        (status = 400, description = "A body that is not a JSON array of valid keys, or over 10,000 of them; nothing is deleted"),
    )
)]
pub(crate) async fn bulk_delete(
    state: State<SharedState>,
    path: Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    delete_keys(state, path, headers, body).await
}

/// Deletes up to 10,000 keys, all or none: `POST .../bulk/delete` with a JSON array of keys.
#[utoipa::path(
    post,
    path = "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/delete",
    tag = "cloudflare",
    params(
        ("account_id" = String, Path, description = "Any account id"),
        ("namespace_id" = String, Path, description = "A store of the manifest"),
    ),
    request_body = Vec<String>,
    responses(
        (status = 200, description = "`result`: `{successful_key_count, unsuccessful_keys}`", body = BulkResult),
        (status = 400, description = "A body that is not a JSON array of valid keys, or over 10,000 of them; nothing is deleted"),
    )
)]
pub(crate) async fn bulk_delete_post(
    state: State<SharedState>,
    path: Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    delete_keys(state, path, headers, body).await
}

async fn delete_keys(
    State(state): State<SharedState>,
    Path((_account, namespace)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let store = state.store(&namespace)?;
    let bytes = read_limited(
        &headers,
        body,
        MAX_BULK_DELETE_BODY_BYTES,
        "the bulk delete body",
    )
    .await?;
    let keys: Vec<String> = parse_json(&bytes, "the bulk delete body (a JSON array of keys)")?;
    let count = keys.len();
    store.delete_many(keys).await?;
    Ok(cloudflare(BulkResult {
        successful_key_count: count,
        unsuccessful_keys: Vec::new(),
    }))
}

/// Reads up to 100 keys: `result` is `{"values": {key: value-or-null}}`, or with
/// `withMetadata`, `{"values": {key: {"value","metadata"} or null}}`.
#[utoipa::path(
    post,
    path = "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/get",
    tag = "cloudflare",
    params(
        ("account_id" = String, Path, description = "Any account id"),
        ("namespace_id" = String, Path, description = "A store of the manifest"),
    ),
    request_body = BulkGet,
    responses(
        (status = 200, description = "`result`: `{values}`", body = Values),
        (status = 400, description = "No keys, more than 100, or an invalid key"),
    )
)]
pub(crate) async fn bulk_get(
    State(state): State<SharedState>,
    Path((_account, namespace)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let store = state.store(&namespace)?;
    let bytes = read_limited(&headers, body, MAX_BULK_GET_BODY_BYTES, "the bulk get body").await?;
    let request: BulkGet = parse_json(&bytes, "the bulk get body ({\"keys\": [...]})")?;
    let json = match request.kind.as_deref() {
        None | Some("text") => false,
        Some("json") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                Code::InvalidRequest,
                format!("Invalid type of {other:?}: use \"text\" or \"json\""),
            ));
        }
    };
    let mut values = serde_json::Map::new();
    if request.with_metadata {
        let many = store.get_many_with_metadata(request.keys.iter().cloned());
        let mut found: std::collections::HashMap<
            String,
            (serde_json::Value, Option<serde_json::Value>),
        > = if json {
            many.json::<serde_json::Value>()
                .await?
                .into_iter()
                .filter_map(|(k, v)| v.value.map(|value| (k, (value, v.metadata))))
                .collect()
        } else {
            many.text()
                .await?
                .into_iter()
                .filter_map(|(k, v)| v.value.map(|value| (k, (value.into(), v.metadata))))
                .collect()
        };
        for key in request.keys {
            let entry = match found.remove(&key) {
                Some((value, metadata)) => {
                    serde_json::json!({"value": value, "metadata": metadata})
                }
                None => serde_json::Value::Null,
            };
            values.entry(key).or_insert(entry);
        }
    } else {
        let many = store.get_many(request.keys.iter().cloned());
        let mut found: std::collections::HashMap<String, Option<serde_json::Value>> = if json {
            many.json::<serde_json::Value>().await?
        } else {
            many.text()
                .await?
                .into_iter()
                .map(|(k, v)| (k, v.map(serde_json::Value::from)))
                .collect()
        };
        for key in request.keys {
            let value = found
                .remove(&key)
                .flatten()
                .unwrap_or(serde_json::Value::Null);
            values.entry(key).or_insert(value);
        }
    }
    Ok(cloudflare(serde_json::json!({ "values": values })))
}
