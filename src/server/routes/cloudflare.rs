//! The Workers KV routes of Cloudflare's API v4, under
//! `/client/v4/accounts/{account_id}/storage/kv/namespaces`, so that Cloudflare's own
//! clients work against this server unmodified. A namespace is a store of the manifest:
//! its id and title are the store's name. The account id is accepted and ignored.
//!
//! Shapes matched against cloudflare-python 5.9.0 (`resources/kv/namespaces/*.py`,
//! `pagination.py`, `types/kv/*`) and the API reference
//! (developers.cloudflare.com/api/resources/kv/subresources/namespaces): value reads are
//! raw bytes with an `expiration` header; writes take a raw body or `multipart/form-data`
//! with `value` and `metadata` parts, and `expiration`/`expiration_ttl` query parameters;
//! key listings page with `result_info.cursor`, empty on the last page (the client stops
//! on an empty cursor); namespace listings page with `page`/`per_page` (the client asks
//! for the next page until one comes back empty).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use crate::server::body::{SharedBody, content_length, drain};
use crate::server::envelope::{cloudflare, cloudflare_with_info, json_response};
use crate::server::error::{ApiError, Code};
use crate::server::extract::{ApiQuery, Precondition, Store, StoreKey, etag};
use crate::server::limits::{
    DEFAULT_NAMESPACES_PER_PAGE, ENVELOPE_OVERHEAD_BYTES, INLINE_RESPONSE_BYTES,
    MAX_NAMESPACES_PER_PAGE, MIN_NAMESPACES_PER_PAGE,
};
use crate::server::multipart;
use crate::server::openapi::{Empty, KeyEntry};
use crate::server::params::{self, ReadQuery};
use crate::server::state::SharedState;

/// A namespace: `{"id","title","supports_url_encoding"}` (cloudflare-python
/// `types/kv/namespace.py`). Keys in URLs are percent-decoded, so
/// `supports_url_encoding` is `true`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Namespace {
    id: String,
    title: String,
    supports_url_encoding: bool,
}

impl Namespace {
    fn new(name: &str) -> Self {
        Self {
            id: name.to_owned(),
            title: name.to_owned(),
            supports_url_encoding: true,
        }
    }
}

/// `result_info` of a namespace listing (Cloudflare's page pagination).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PageInfo {
    page: usize,
    per_page: usize,
    count: usize,
    total_count: usize,
}

/// `result_info` of a key listing: `cursor` is `""` on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CursorInfo {
    count: usize,
    cursor: String,
}

/// `?page=&per_page=&order=&direction=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NamespacesQuery {
    /// Page number, from 1.
    #[param(value_type = Option<u32>)]
    page: Option<String>,
    /// Namespaces per page, 5 to 100 (default 20).
    #[param(value_type = Option<u32>)]
    per_page: Option<String>,
    /// `id` or `title` (the same here).
    order: Option<String>,
    /// `asc` (default) or `desc`.
    direction: Option<String>,
}

/// `?prefix=&limit=&cursor=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct KeysQuery {
    /// Only keys that start with this.
    prefix: Option<String>,
    /// Keys per page, up to 1000 (default 1000).
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
    /// `result_info.cursor` of the previous page.
    cursor: Option<String>,
}

/// `?expiration=&expiration_ttl=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct WriteQuery {
    /// Unix time (seconds) at which the key expires.
    #[param(value_type = Option<u64>)]
    expiration: Option<String>,
    /// Seconds until the key expires (at least the store's `min_ttl`); wins over `expiration`.
    #[param(value_type = Option<u64>)]
    expiration_ttl: Option<String>,
}

/// Lists the manifest's stores as namespaces.
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/storage/kv/namespaces",
    tag = "cloudflare",
    params(("account_id" = String, Path, description = "Any account id"), NamespacesQuery),
    responses((status = 200, description = "`result`: namespaces; `result_info`: `{page, per_page, count, total_count}`", body = [Namespace]))
)]
pub(crate) async fn list_namespaces(
    State(state): State<SharedState>,
    ApiQuery(query): ApiQuery<NamespacesQuery>,
) -> Result<Response, ApiError> {
    let page = params::whole_number("page", query.page.as_deref())?
        .unwrap_or(1)
        .max(1);
    let per_page = params::whole_number("per_page", query.per_page.as_deref())?
        .map_or(DEFAULT_NAMESPACES_PER_PAGE, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        })
        .clamp(MIN_NAMESPACES_PER_PAGE, MAX_NAMESPACES_PER_PAGE);
    match query.order.as_deref() {
        None | Some("id" | "title") => {}
        Some(other) => {
            return Err(ApiError::bad_request(
                Code::InvalidRequest,
                format!("Invalid order of {other:?}: use \"id\" or \"title\""),
            ));
        }
    }
    let mut names: Vec<&String> = state.stores.keys().collect();
    match query.direction.as_deref() {
        None | Some("asc") => {}
        Some("desc") => names.reverse(),
        Some(other) => {
            return Err(ApiError::bad_request(
                Code::InvalidRequest,
                format!("Invalid direction of {other:?}: use \"asc\" or \"desc\""),
            ));
        }
    }
    let total_count = names.len();
    let skip = usize::try_from(page - 1)
        .unwrap_or(usize::MAX)
        .saturating_mul(per_page);
    let result: Vec<Namespace> = names
        .into_iter()
        .skip(skip)
        .take(per_page)
        .map(|name| Namespace::new(name))
        .collect();
    let info = PageInfo {
        page: usize::try_from(page).unwrap_or(usize::MAX),
        per_page,
        count: result.len(),
        total_count,
    };
    Ok(cloudflare_with_info(result, Some(info)))
}

/// One namespace.
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}",
    tag = "cloudflare",
    params(
        ("account_id" = String, Path, description = "Any account id"),
        ("namespace_id" = String, Path, description = "A store of the manifest"),
    ),
    responses(
        (status = 200, description = "`result`: the namespace", body = Namespace),
        (status = 404, description = "10013: namespace not found"),
    )
)]
pub(crate) async fn get_namespace(Store(store): Store) -> Result<Response, ApiError> {
    Ok(cloudflare(Namespace::new(store.name())))
}

/// Lists keys: `result` is `[{"name","expiration"?,"metadata"?}]`, `result_info` is
/// `{"count", "cursor"}` with `cursor` empty on the last page.
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/keys",
    tag = "cloudflare",
    params(
        ("account_id" = String, Path, description = "Any account id"),
        ("namespace_id" = String, Path, description = "A store of the manifest"),
        KeysQuery,
    ),
    responses(
        (status = 200, description = "A page of keys", body = [KeyEntry]),
        (status = 400, description = "An invalid limit or cursor"),
        (status = 404, description = "10013: namespace not found"),
    )
)]
pub(crate) async fn list_keys(
    Store(store): Store,
    ApiQuery(query): ApiQuery<KeysQuery>,
) -> Result<Response, ApiError> {
    let request = params::list_request(&store, query.prefix, query.limit.as_deref(), query.cursor)?;
    let page = request.await?;
    let info = CursorInfo {
        count: page.keys.len(),
        cursor: page.cursor.unwrap_or_default(),
    };
    Ok(cloudflare_with_info(page.keys, Some(info)))
}

/// Reads a value: the raw bytes, `application/octet-stream`, with the key's expiration
/// (Unix seconds) in the `expiration` header when it has one, and its version in `ETag`.
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{*key_name}",
    tag = "cloudflare",
    params(
        ("account_id" = String, Path, description = "Any account id"),
        ("namespace_id" = String, Path, description = "A store of the manifest"),
        ("key_name" = String, Path, description = "The key, percent-encoded once"),
        ReadQuery,
    ),
    responses(
        (status = 200, description = "The value's bytes", content_type = "application/octet-stream",
            headers(("ETag" = String, description = "The key's version, quoted"),
                    ("expiration" = u64, description = "When the key expires, in Unix seconds, if it does"))),
        (status = 404, description = "10009: key not found; 10013: namespace not found"),
    )
)]
pub(crate) async fn get_value(
    StoreKey { store, key }: StoreKey,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<Response, ApiError> {
    // One read gives the value, its expiration and version together, so the headers
    // always match the bytes sent.
    let found = query.read(&store, &key)?.stream().await?;
    let (expiration, version) = (found.expiration, found.version);
    let stream = found.value.ok_or_else(|| ApiError::key_not_found(&key))?;
    let len = stream.len();
    // A value held whole goes out in one piece (one write); a chunked one streams.
    let body = match stream.into_whole() {
        Ok(bytes) => Body::from(bytes),
        Err(stream) => Body::from_stream(stream),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Some(at) = expiration {
        headers.insert("expiration", HeaderValue::from(at));
    }
    if let Some(version) = version {
        headers.insert(header::ETAG, etag(version));
    }
    Ok(response)
}

/// Writes a value: the raw body, streamed into the store (never buffered whole), or
/// `multipart/form-data` with a `value` part and an optional JSON `metadata` part.
/// `If-Match: "<version>"` / `If-None-Match: *` make it conditional (412 on conflict).
#[utoipa::path(
    put,
    path = "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{*key_name}",
    tag = "cloudflare",
    params(
        ("account_id" = String, Path, description = "Any account id"),
        ("namespace_id" = String, Path, description = "A store of the manifest"),
        ("key_name" = String, Path, description = "The key, percent-encoded once"),
        WriteQuery,
    ),
    request_body(content = Vec<u8>, description = "The value (raw), or multipart/form-data with `value` and `metadata`", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "`result`: `{}`; `ETag`: the new version",
            body = Empty, headers(("ETag" = String, description = "The key's new version, quoted"))),
        (status = 400, description = "An invalid key, expiration, metadata or If-Match"),
        (status = 412, description = "The If-Match or If-None-Match condition did not hold"),
        (status = 413, description = "The value is over the store's `max_value_size`"),
    )
)]
pub(crate) async fn put_value(
    target: Result<StoreKey, ApiError>,
    query: Result<ApiQuery<WriteQuery>, ApiError>,
    precondition: Result<Precondition, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let checked = (|| {
        let StoreKey { store, key } = target?;
        let ApiQuery(query) = query?;
        let ttl = params::whole_number("expiration_ttl", query.expiration_ttl.as_deref())?;
        let at = params::whole_number("expiration", query.expiration.as_deref())?;
        Ok::<_, ApiError>((store, key, ttl, at, precondition?))
    })();
    let (store, key, ttl, at, precondition) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            drain(body.into_data_stream()).await;
            return Err(error);
        }
    };
    let max = store.config().max_value_size;
    let declared = content_length(&headers);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_multipart = content_type
        .get(..19)
        .is_some_and(|t| t.eq_ignore_ascii_case("multipart/form-data"));
    let envelope = if is_multipart {
        ENVELOPE_OVERHEAD_BYTES
    } else {
        0
    };
    // The declared body is the value itself, or the value in its multipart envelope.
    if let Some(Err(error)) = declared.map(|n| store.check_value_size(n.saturating_sub(envelope))) {
        drain(body.into_data_stream()).await;
        return Err(error.into());
    }

    let result = if !is_multipart && declared.is_some_and(|n| n <= INLINE_RESPONSE_BYTES) {
        // Small and declared: read whole (bounded by its Content-Length, which the
        // store's limit already passed), without the streaming path's shared handle.
        match read_small(body, &store).await {
            Ok(bytes) => {
                let request = store.put(key, bytes).expiration_ttl(ttl).expiration(at);
                precondition.apply(request).await.map_err(ApiError::from)
            }
            Err(error) => Err(error),
        }
    } else {
        let shared = SharedBody::new(body);
        let result = async {
            let (value, metadata): (kv_runtime::Value, _) = if is_multipart {
                let parts = multipart::read(content_type, shared.clone(), max).await?;
                (parts.value.into(), parts.metadata)
            } else {
                (kv_runtime::Body::from_stream(shared.clone()).into(), None)
            };
            let mut request = store.put(key, value).expiration_ttl(ttl).expiration(at);
            if let Some(metadata) = metadata {
                request = request.metadata(metadata);
            }
            precondition.apply(request).await.map_err(ApiError::from)
        }
        .await;
        if result.is_err() {
            shared.drain().await;
        }
        result
    };
    let version = result?;
    let mut response = json_response(StatusCode::OK, EMPTY_RESULT);
    response.headers_mut().insert(header::ETAG, etag(version));
    Ok(response)
}

/// `{"success":true,...,"result":{}}`: the answer of a value write or delete, as bytes.
const EMPTY_RESULT: &[u8] = br#"{"success":true,"errors":[],"messages":[],"result":{}}"#;

/// Reads a small body whole: one chunk without copying, several into one buffer, each
/// checked against the store's limit. What is left is drained after an error.
async fn read_small(body: Body, store: &kv_runtime::KvStore) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let unreadable = |e: axum::Error| {
        ApiError::bad_request(Code::InvalidRequest, format!("cannot read the body: {e}"))
    };
    let Some(first) = stream.next().await.transpose().map_err(unreadable)? else {
        return Ok(Bytes::new());
    };
    let Some(second) = stream.next().await.transpose().map_err(unreadable)? else {
        return Ok(first);
    };
    let mut buf = BytesMut::with_capacity(first.len() + second.len());
    buf.extend_from_slice(&first);
    buf.extend_from_slice(&second);
    while let Some(chunk) = stream.next().await {
        buf.extend_from_slice(&chunk.map_err(unreadable)?);
        if let Err(error) = store.check_value_size(buf.len() as u64) {
            drain(stream).await;
            return Err(error.into());
        }
    }
    store.check_value_size(buf.len() as u64)?;
    Ok(buf.freeze())
}

/// Deletes a key; deleting a missing key succeeds. With `If-Match: "<version>"`, only
/// at that version (412 otherwise).
#[utoipa::path(
    delete,
    path = "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{*key_name}",
    tag = "cloudflare",
    params(
        ("account_id" = String, Path, description = "Any account id"),
        ("namespace_id" = String, Path, description = "A store of the manifest"),
        ("key_name" = String, Path, description = "The key, percent-encoded once"),
    ),
    responses(
        (status = 200, description = "`result`: `{}`", body = Empty),
        (status = 412, description = "The key is not at the If-Match version"),
    )
)]
pub(crate) async fn delete_value(
    StoreKey { store, key }: StoreKey,
    precondition: Precondition,
) -> Result<Response, ApiError> {
    let mut request = store.delete(key);
    if let Some(version) = precondition.version() {
        request = request.if_version(version);
    }
    request.await?;
    Ok(json_response(StatusCode::OK, EMPTY_RESULT))
}

/// A key's metadata: `result` is the JSON stored with the value, or `null`.
#[utoipa::path(
    get,
    path = "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/metadata/{*key_name}",
    tag = "cloudflare",
    params(
        ("account_id" = String, Path, description = "Any account id"),
        ("namespace_id" = String, Path, description = "A store of the manifest"),
        ("key_name" = String, Path, description = "The key, percent-encoded once"),
    ),
    responses(
        (status = 200, description = "`result`: the metadata", body = serde_json::Value),
        (status = 404, description = "10009: key not found"),
    )
)]
pub(crate) async fn get_metadata(StoreKey { store, key }: StoreKey) -> Result<Response, ApiError> {
    let found = store.get_with_metadata(key.as_str()).head().await?;
    if found.value.is_none() {
        return Err(ApiError::key_not_found(&key));
    }
    Ok(cloudflare(found.metadata))
}
