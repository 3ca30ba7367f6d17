//! One store on a `kv serve`: values, bulk writes and deletes, and listing pages,
//! through the Cloudflare-style routes under `.../namespaces/{store}`.

use bytes::Bytes;
use futures_util::StreamExt as _;
use kv_runtime::KeyInfo;
use reqwest::header::CONTENT_TYPE;

use super::{Envelope, Remote, chain, parse, refused};
use crate::cli::data::error::{DataError, Result};
use crate::cli::data::target::{Chunks, Found, Item, Page, Value};
use crate::cli::data::wire;

/// One store on a `kv serve`.
#[derive(Debug, Clone)]
pub(crate) struct RemoteStore {
    pub(super) remote: Remote,
    /// `.../namespaces/{store}`.
    pub(super) base: String,
}

impl RemoteStore {
    fn value_url(&self, key: &str) -> String {
        format!("{}/values/{}", self.base, wire::percent_encode(key))
    }

    /// The value (streamed) and expiration of `key`, or `None`.
    pub(crate) async fn get_value(&self, key: &str) -> Result<Option<(Chunks, Option<u64>)>> {
        let what = format!("reading key {key:?}");
        let request = self.remote.inner.http.get(self.value_url(key));
        let response = match self.remote.try_send(request, &what).await? {
            Ok(response) => response,
            Err(refusal) if refusal.code == Some(wire::KEY_NOT_FOUND) => return Ok(None),
            Err(refusal) => return Err(refused(&what, &refusal)),
        };
        let expiration = response
            .headers()
            .get("expiration")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let stream = response.bytes_stream().map(move |chunk| {
            chunk.map_err(|e| DataError::new(format!("{what}: the transfer failed: {}", chain(&e))))
        });
        Ok(Some((stream.boxed(), expiration)))
    }

    /// The value, metadata and expiration of `key` (two requests), or `None`.
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Found>> {
        let Some((chunks, expiration)) = self.get_value(key).await? else {
            return Ok(None);
        };
        let what = format!("reading the metadata of key {key:?}");
        let url = format!("{}/metadata/{}", self.base, wire::percent_encode(key));
        let request = self.remote.inner.http.get(url);
        let metadata = match self.remote.try_send(request, &what).await? {
            Ok(response) => parse::<Envelope<serde_json::Value>>(response, &what)
                .await?
                .result
                .filter(|m| !m.is_null()),
            Err(refusal) if refusal.code == Some(wire::KEY_NOT_FOUND) => return Ok(None),
            Err(refusal) => return Err(refused(&what, &refusal)),
        };
        Ok(Some(Found {
            chunks,
            metadata,
            expiration,
        }))
    }

    /// Writes one value: a raw body, or `multipart/form-data` when it has metadata.
    pub(crate) async fn put(&self, item: Item<Value>) -> Result<()> {
        let mut url = self.value_url(&item.key);
        let mut query = Vec::new();
        if let Some(at) = item.expiration {
            query.push(format!("expiration={at}"));
        }
        if let Some(ttl) = item.ttl {
            query.push(format!("expiration_ttl={ttl}"));
        }
        if !query.is_empty() {
            url = format!("{url}?{}", query.join("&"));
        }
        let request = self.remote.inner.http.put(url);
        let request = match item.metadata {
            None => match item.value {
                Value::Bytes(bytes) => request.body(bytes),
                Value::Stream(stream) => request.body(reqwest::Body::wrap_stream(stream)),
            },
            Some(metadata) => {
                let (content_type, body) = wire::multipart(&metadata, item.value);
                request
                    .header(CONTENT_TYPE, content_type)
                    .body(reqwest::Body::wrap_stream(body))
            }
        };
        self.remote
            .send(request, format!("writing key {:?}", item.key))
            .await
            .map(drop)
    }

    /// Writes up to 10,000 values in one request, all or none.
    pub(crate) async fn put_many(&self, items: Vec<Item<Bytes>>) -> Result<()> {
        let body = wire::bulk_body(&items)?;
        let request = self
            .remote
            .inner
            .http
            .put(format!("{}/bulk", self.base))
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        self.remote
            .send(request, format!("writing {} keys", items.len()))
            .await
            .map(drop)
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<()> {
        let request = self.remote.inner.http.delete(self.value_url(key));
        self.remote
            .send(request, format!("deleting key {key:?}"))
            .await
            .map(drop)
    }

    pub(crate) async fn delete_many(&self, keys: &[String]) -> Result<()> {
        let body = serde_json::to_vec(keys)
            .map_err(|e| DataError::new(format!("cannot encode the keys: {e}")))?;
        let request = self
            .remote
            .inner
            .http
            .post(format!("{}/bulk/delete", self.base))
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        self.remote
            .send(request, format!("deleting {} keys", keys.len()))
            .await
            .map(drop)
    }

    pub(crate) async fn list_page(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page> {
        let mut url = format!("{}/keys?limit={limit}", self.base);
        if !prefix.is_empty() {
            url.push_str(&format!("&prefix={}", wire::percent_encode(prefix)));
        }
        if let Some(cursor) = cursor {
            url.push_str(&format!("&cursor={}", wire::percent_encode(cursor)));
        }
        let envelope: Envelope<Vec<KeyInfo>> = self
            .remote
            .json(self.remote.inner.http.get(url), "listing keys")
            .await?;
        let cursor = envelope
            .result_info
            .map(|i| i.cursor)
            .filter(|c| !c.is_empty());
        Ok(Page {
            keys: envelope.result.unwrap_or_default(),
            cursor,
        })
    }
}
