//! What every handler shares: the manifest's stores, authentication, the OpenAPI
//! document, the metrics.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kv_runtime::KvStore;

use super::auth::Authenticator;
use super::error::ApiError;
use super::metrics::SharedMetrics;

pub(crate) type SharedState = Arc<AppState>;

pub(crate) struct AppState {
    /// The manifest's stores, opened at startup, by name.
    pub(crate) stores: BTreeMap<String, KvStore>,
    pub(crate) auth: Arc<Authenticator>,
    pub(crate) application: Option<String>,
    /// `/open-api.json`, rendered once.
    pub(crate) openapi: Bytes,
    /// What `/metrics` renders.
    pub(crate) metrics: SharedMetrics,
}

impl AppState {
    /// The store the path names, or Cloudflare's "namespace not found".
    pub(crate) fn store(&self, name: &str) -> Result<&KvStore, ApiError> {
        self.stores
            .get(name)
            .ok_or_else(|| ApiError::store_not_found(name))
    }
}
