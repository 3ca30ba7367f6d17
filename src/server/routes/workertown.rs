//! The JSON routes in the style of @workertown/kv, one store per path segment:
//! `/v1/kv/{store}/{key...}` and `/v1/kv/{store}?prefix=&limit=&cursor=`, and
//! `/v1/admin/info`. Values are JSON: a PUT stores the JSON text of `value`, a GET
//! answers it as `data`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use bytes::{BufMut as _, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use crate::server::auth::AuthInfo;
use crate::server::body::{parse_json, read_limited};
use crate::server::envelope::{json_response, workertown};
use crate::server::error::{ApiError, Code};
use crate::server::extract::{ApiQuery, Precondition, Store, StoreKey, etag};
use crate::server::limits::ENVELOPE_OVERHEAD_BYTES;
use crate::server::openapi::{ListPage, Touched};
use crate::server::params::{self, ReadQuery};
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
/// the Cloudflare routes) is answered as a JSON string when it is UTF-8 text. The
/// `ETag` header is the key's version, for a conditional write.
#[utoipa::path(
    get,
    path = "/v1/kv/{store}/{*key}",
    tag = "workertown",
    params(
        ("store" = String, Path, description = "A store of the manifest"),
        ("key" = String, Path, description = "The key, percent-encoded once (`/` may appear raw or as %2F)"),
        ReadQuery,
    ),
    responses(
        (status = 200, description = "`{\"status\":200,\"success\":true,\"data\":<value>}`, with the version in `ETag`",
            body = serde_json::Value, headers(("ETag" = String, description = "The key's version, quoted"))),
        (status = 404, description = "No such key (`key_not_found`) or store (`store_not_found`)"),
        (status = 422, description = "The value is binary, not JSON (`invalid_utf8`)"),
    )
)]
pub(crate) async fn get_value(
    StoreKey { store, key }: StoreKey,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<Response, ApiError> {
    let found = query.read(&store, &key)?.bytes().await?;
    let (Some(bytes), Some(version)) = (found.value, found.version) else {
        return Err(ApiError::key_not_found(&key));
    };
    let mut response = data_response(bytes)?;
    response.headers_mut().insert(header::ETAG, etag(version));
    Ok(response)
}

/// `{"status":200,"success":true,"data":<bytes>}` without parsing the value into a tree:
/// valid JSON is spliced in as it is stored.
fn data_response(bytes: Bytes) -> Result<Response, ApiError> {
    let data = if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() {
        bytes
    } else {
        match std::str::from_utf8(&bytes) {
            Ok(text) => Bytes::from(serde_json::Value::from(text).to_string()),
            Err(_) => {
                return Err(ApiError::from(kv_runtime::Error::InvalidUtf8).with_message(
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
    Ok(json_response(StatusCode::OK, body.freeze()))
}

/// Writes a value: `{"value": <any JSON but null>, "ttl"?: secs, "metadata"?: json}`.
/// `If-Match: "<version>"` writes only at that version, `If-None-Match: *` only if the
/// key does not exist; otherwise 412 `conflict`, and nothing is written.
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
        (status = 200, description = "`data` is the value written; `ETag` its new version",
            body = serde_json::Value, headers(("ETag" = String, description = "The key's new version, quoted"))),
        (status = 400, description = "Malformed JSON, a null value, an invalid key, TTL or If-Match"),
        (status = 412, description = "`conflict`: the If-Match or If-None-Match condition did not hold"),
        (status = 413, description = "The value is over the store's `max_value_size`"),
    )
)]
pub(crate) async fn put_value(
    StoreKey { store, key }: StoreKey,
    precondition: Precondition,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
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
    let request = store
        .put(key, value.get())
        .expiration_ttl(params::whole_number_json("ttl", put.ttl.as_ref())?)
        .expiration(params::whole_number_json(
            "expiration",
            put.expiration.as_ref(),
        )?)
        .metadata(put.metadata);
    let version = precondition.apply(request).await?;
    let mut response = workertown(value);
    response.headers_mut().insert(header::ETAG, etag(version));
    Ok(response)
}

/// Deletes a key; deleting a missing key succeeds. `data` is `true`. With
/// `If-Match: "<version>"`, only at that version (412 `conflict` otherwise).
#[utoipa::path(
    delete,
    path = "/v1/kv/{store}/{*key}",
    tag = "workertown",
    params(
        ("store" = String, Path, description = "A store of the manifest"),
        ("key" = String, Path, description = "The key, percent-encoded once"),
    ),
    responses(
        (status = 200, description = "`{\"status\":200,\"success\":true,\"data\":true}`", body = bool, content_type = "application/json"),
        (status = 412, description = "`conflict`: the key is not at the If-Match version"),
    )
)]
pub(crate) async fn delete_value(
    StoreKey { store, key }: StoreKey,
    precondition: Precondition,
) -> Result<Response, ApiError> {
    if precondition == Precondition::Absent {
        return Err(ApiError::bad_request(
            Code::InvalidRequest,
            "If-None-Match: * makes no sense on a delete",
        ));
    }
    let mut request = store.delete(key);
    if let Some(version) = precondition.version() {
        request = request.if_version(version);
    }
    request.await?;
    Ok(workertown(true))
}

/// The body of `PATCH /v1/kv/{store}/{key}`: exactly one of `ttl`, `expiration` or
/// `persist: true`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Touch {
    /// Seconds until the key expires (at least the store's `min_ttl`).
    #[schema(value_type = Option<u64>)]
    ttl: Option<serde_json::Value>,
    /// Unix time (seconds) at which the key expires.
    #[schema(value_type = Option<u64>)]
    expiration: Option<serde_json::Value>,
    /// `true`: the key never expires.
    persist: Option<bool>,
}

/// Touches a key: changes only its expiration, keeping value and metadata (the
/// version changes, as after any write). `data` is `{"expiration": <unix>|null}`,
/// `ETag` the new version; 404 when the key does not exist.
#[utoipa::path(
    patch,
    path = "/v1/kv/{store}/{*key}",
    tag = "workertown",
    params(
        ("store" = String, Path, description = "A store of the manifest"),
        ("key" = String, Path, description = "The key, percent-encoded once"),
    ),
    request_body = Touch,
    responses(
        (status = 200, description = "`data`: `{\"expiration\": <unix>|null}`",
            body = Touched, headers(("ETag" = String, description = "The key's new version, quoted"))),
        (status = 400, description = "Not exactly one of ttl, expiration, persist; a TTL under the floor"),
        (status = 404, description = "`key_not_found`: no live key to touch"),
    )
)]
pub(crate) async fn touch_value(
    StoreKey { store, key }: StoreKey,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_limited(&headers, body, 4096, "the touch body").await?;
    let touch: Touch = parse_json(&bytes, "the touch body")?;
    let ttl = params::whole_number_json("ttl", touch.ttl.as_ref())?;
    let at = params::whole_number_json("expiration", touch.expiration.as_ref())?;
    let request = match (ttl, at, touch.persist) {
        (Some(ttl), None, None | Some(false)) => store.touch(key.as_str()).expiration_ttl(ttl),
        (None, Some(at), None | Some(false)) => store.touch(key.as_str()).expiration(at),
        (None, None, Some(true)) => store.touch(key.as_str()).persist(),
        _ => {
            return Err(ApiError::bad_request(
                Code::InvalidRequest,
                "the touch body needs exactly one of \"ttl\", \"expiration\" or \"persist\": true",
            ));
        }
    };
    if !request.await? {
        return Err(ApiError::key_not_found(&key));
    }
    let head = store.get_with_metadata(key.as_str()).head().await?;
    let mut response = workertown(serde_json::json!({ "expiration": head.expiration }));
    if let Some(version) = head.version {
        response.headers_mut().insert(header::ETAG, etag(version));
    }
    Ok(response)
}

/// Lists keys in byte order: `data` is `{"keys":[{"name","expiration"?,"metadata"?}],
/// "list_complete":bool,"cursor"?:string}` (Workers KV's `list()` result).
#[utoipa::path(
    get,
    path = "/v1/kv/{store}",
    tag = "workertown",
    params(("store" = String, Path, description = "A store of the manifest"), ListQuery),
    responses(
        (status = 200, description = "A page of keys", body = ListPage),
        (status = 400, description = "An invalid limit or cursor"),
    )
)]
pub(crate) async fn list_keys(
    Store(store): Store,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let request = params::list_request(&store, query.prefix, query.limit.as_deref(), query.cursor)?;
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
