//! Response payloads that handlers build from runtime types or `serde_json`, declared
//! here for the document only (the attributes' `body = ...`).

#![allow(dead_code, reason = "declared for the OpenAPI document, never built")]

use std::collections::BTreeMap;

/// A listed key (Workers KV's `list()` key): `expiration` and `metadata` only when set.
#[derive(utoipa::ToSchema)]
pub(crate) struct KeyEntry {
    /// The key.
    name: String,
    /// When it expires, in Unix seconds; absent if it does not.
    expiration: Option<u64>,
    /// Its JSON metadata (any JSON value); absent if it has none.
    metadata: Option<serde_json::Value>,
}

/// A page of keys on `/v1`: `cursor` only when `list_complete` is false.
#[derive(utoipa::ToSchema)]
pub(crate) struct ListPage {
    /// Keys in byte order.
    keys: Vec<KeyEntry>,
    /// `true` on the last page.
    list_complete: bool,
    /// Where the next page starts; absent on the last page.
    cursor: Option<String>,
}

/// `data` of a touch.
#[derive(utoipa::ToSchema)]
pub(crate) struct Touched {
    /// The new expiration, in Unix seconds, or `null` for none.
    #[schema(required)]
    expiration: Option<u64>,
}

/// `result` of a bulk get: per key, its value (or `{"value","metadata"}` with
/// `withMetadata`), `null` when missing.
#[derive(utoipa::ToSchema)]
pub(crate) struct Values {
    #[schema(value_type = Object)]
    values: BTreeMap<String, serde_json::Value>,
}

/// `{}`: the `result` of a Cloudflare value write or delete.
#[derive(utoipa::ToSchema)]
pub(crate) struct Empty {}
