//! The JSON routes in the style of @workertown/kv, one store per path segment:
//! `/v1/kv/{store}/{key...}` and `/v1/kv/{store}?prefix=&limit=&cursor=`, and
//! `/v1/admin/info`. Values are JSON: a PUT stores the JSON text of `value`, a GET
//! answers it as `data`.

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::{BufMut as _, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use crate::server::auth::AuthInfo;
use crate::server::body::{parse_json, read_limited};
use crate::server::envelope::{json_response, workertown};
use crate::server::error::{ApiError, Code};
use crate::server::limits::ENVELOPE_OVERHEAD_BYTES;
use crate::server::params::{self, path_error, query_error};
use crate::server::state::SharedState;

/// The body of `PUT /v1/kv/{store}/{key}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PutValue {
    /// The value: any JSON but `null`, stored as the JSON text sent.
    #[schema(value_type = Object)]
    value: Option<Box<serde_json::value::RawValue>>,
    /// Seconds until the key expires (at least the store's `min_ttl`, default 60).
    #[schema(value_type = Option<u64>)]
    ttl: Option<serde_json::Value>,
    /// Unix time (seconds) at which the key expires; `ttl` wins when both are given.
    #[schema(value_type = Option<u64>)]
    expiration: Option<serde_json::Value>,
    /// JSON metadata of at most 1024 bytes.
    metadata: Option<serde_json::Value>,
}

/// `?prefix=&limit=&cursor=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only keys that start with this.
    prefix: Option<String>,
    /// Keys per page, 1 to 1000 (default 1000).
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
    /// The `cursor` of the previous page.
    cursor: Option<String>,
}

/// One store, as `/v1/admin/info` shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StoreInfo {
    name: String,
    /// The backend's name: `fjall`, `memory`, `redis`, `postgres` or a registered one.
    backend: String,
    /// `buffered` or `sync`.
    durability: String,
    /// The expiration floor, in seconds.
    min_ttl: u64,
    /// The largest value, in bytes.
    max_value_size: u64,
}

/// `/v1/admin/info`: the server's configuration, without secrets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ServerInfo {
    /// The manifest's application.
    application: Option<String>,
    /// The `kv` version.
    version: &'static str,
    stores: Vec<StoreInfo>,
    auth: AuthInfo,
}

/// Reads a value. `data` is the stored JSON; a value that is not JSON (written through
/// the Cloudflare routes) is answered as a JSON string when it is UTF-8 text.
#[utoipa::path(
    get,
    path = "/v1/kv/{store}/{*key}",
    tag = "workertown",
    params(
        ("store" = String, Path, description = "A store of the manifest"),
        ("key" = String, Path, description = "The key, percent-encoded once (`/` may appear raw or as %2F)"),
    ),
    responses(
        (status = 200, description = "`{\"status\":200,\"success\":true,\"data\":<value>}`"),
        (status = 404, description = "No such key (`key_not_found`) or store (`store_not_found`)"),
    )
)]
pub(crate) async fn get_value(
    State(state): State<SharedState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((store, key)) = path.map_err(path_error)?;
    let store = state.store(&store)?;
    let bytes = store
        .get(key.as_str())
        .bytes()
        .await?
        .ok_or_else(|| ApiError::key_not_found(&key))?;
    Ok(data_response(bytes))
}

/// `{"status":200,"success":true,"data":<bytes>}` without parsing the value into a tree:
/// valid JSON is spliced in as it is stored.
fn data_response(bytes: Bytes) -> Response {
    let data = if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() {
        bytes
    } else {
        match std::str::from_utf8(&bytes) {
            Ok(text) => Bytes::from(serde_json::Value::from(text).to_string()),
            Err(_) => {
                return error_response(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Code::ValueNotJson,
                    "the value is binary, not JSON: read it from the Cloudflare route \
                     /client/v4/accounts/{account}/storage/kv/namespaces/{store}/values/{key}",
                ));
            }
        }
    };
    const HEAD: &[u8] = br#"{"status":200,"success":true,"data":"#;
    let mut body = BytesMut::with_capacity(HEAD.len() + data.len() + 1);
    body.put_slice(HEAD);
    body.put_slice(&data);
    body.put_u8(b'}');
    json_response(StatusCode::OK, body.freeze())
}

fn error_response(error: ApiError) -> Response {
    axum::response::IntoResponse::into_response(error)
}

/// Writes a value: `{"value": <any JSON but null>, "ttl"?: secs, "metadata"?: json}`.
#[utoipa::path(
    put,
    path = "/v1/kv/{store}/{*key}",
    tag = "workertown",
    params(
        ("store" = String, Path, description = "A store of the manifest"),
        ("key" = String, Path, description = "The key, percent-encoded once"),
    ),
    request_body = PutValue,
    responses(
        (status = 200, description = "`data` is the value written"),
        (status = 400, description = "Malformed JSON, a null value, an invalid key or TTL"),
        (status = 413, description = "The value is over the store's `max_value_size`"),
    )
)]
pub(crate) async fn put_value(
    State(state): State<SharedState>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Path((store, key)) = path.map_err(path_error)?;
    let store = state.store(&store)?;
    let limit = store
        .config()
        .max_value_size
        .saturating_add(ENVELOPE_OVERHEAD_BYTES);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let bytes = read_limited(&headers, body, limit, "the JSON body").await?;
    let put: PutValue = parse_json(&bytes, "the JSON body")?;
    let value = match put.value {
        Some(value) if value.get() != "null" => value,
        _ => {
            return Err(ApiError::bad_request(
                Code::InvalidRequest,
                "the body needs a \"value\" that is not null",
            ));
        }
    };
    let mut request = store.put(key, value.get());
    if let Some(ttl) = params::whole_number_json("ttl", put.ttl.as_ref())? {
        request = request.expiration_ttl(ttl);
    }
    if let Some(at) = params::whole_number_json("expiration", put.expiration.as_ref())? {
        request = request.expiration(at);
    }
    if let Some(metadata) = put.metadata {
        request = request.metadata(metadata);
    }
    request.await?;
    Ok(workertown(value))
}

/// Deletes a key; deleting a missing key succeeds. `data` is `true`.
#[utoipa::path(
    delete,
    path = "/v1/kv/{store}/{*key}",
    tag = "workertown",
    params(
        ("store" = String, Path, description = "A store of the manifest"),
        ("key" = String, Path, description = "The key, percent-encoded once"),
    ),
    responses((status = 200, description = "`{\"status\":200,\"success\":true,\"data\":true}`"))
)]
pub(crate) async fn delete_value(
    State(state): State<SharedState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((store, key)) = path.map_err(path_error)?;
    state.store(&store)?.delete(key).await?;
    Ok(workertown(true))
}

/// Lists keys in byte order: `data` is `{"keys":[{"name","expiration"?,"metadata"?}],
/// "list_complete":bool,"cursor"?:string}` (Workers KV's `list()` result).
#[utoipa::path(
    get,
    path = "/v1/kv/{store}",
    tag = "workertown",
    params(("store" = String, Path, description = "A store of the manifest"), ListQuery),
    responses(
        (status = 200, description = "A page of keys"),
        (status = 400, description = "An invalid limit or cursor"),
    )
)]
pub(crate) async fn list_keys(
    State(state): State<SharedState>,
    Path(store): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(query_error)?;
    let store = state.store(&store)?;
    let request = params::list_request(store, query.prefix, query.limit.as_deref(), query.cursor)?;
    Ok(workertown(request.await?))
}

/// The server's configuration: application, stores with their backends and limits,
/// and the authentication strategies enabled. Never a secret.
#[utoipa::path(
    get,
    path = "/v1/admin/info",
    tag = "workertown",
    responses((status = 200, description = "`data` is the configuration", body = ServerInfo))
)]
pub(crate) async fn admin_info(State(state): State<SharedState>) -> Response {
    let stores = state
        .stores
        .values()
        .map(|store| {
            let config = store.config();
            StoreInfo {
                name: store.name().to_owned(),
                backend: store.backend_name().to_owned(),
                durability: config.durability.as_str().to_owned(),
                min_ttl: config.min_ttl,
                max_value_size: config.max_value_size,
            }
        })
        .collect();
    workertown(ServerInfo {
        application: state.application.clone(),
        version: env!("CARGO_PKG_VERSION"),
        stores,
        auth: state.auth.info(),
    })
}
