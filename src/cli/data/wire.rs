//! What goes over HTTP to a `kv serve`: keys in paths, multipart bodies for a value with
//! metadata, bulk write bodies.

use std::hash::{BuildHasher as _, RandomState};

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use serde::Serialize;

use super::encoding;
use super::error::{DataError, Result};
use super::target::{Item, Value};

/// Cloudflare's code for "key not found".
pub(crate) const KEY_NOT_FOUND: u32 = 10009;

/// Percent-encodes everything but RFC 3986's unreserved characters, so the server
/// decodes exactly the key (`/` becomes `%2F`).
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A `multipart/form-data` body with a `metadata` part and a `value` part (streamed),
/// and its content type.
pub(crate) fn multipart(
    metadata: &serde_json::Value,
    value: Value,
) -> (String, BoxStream<'static, Result<Bytes>>) {
    let state = RandomState::new();
    let boundary = format!(
        "kv-{:016x}{:016x}",
        state.hash_one(1u8),
        state.hash_one(std::time::SystemTime::now())
    );
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\
         Content-Type: application/json\r\n\r\n{metadata}\r\n--{boundary}\r\n\
         Content-Disposition: form-data; name=\"value\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let value = match value {
        Value::Bytes(bytes) => futures_util::stream::once(async move { Ok(bytes) }).boxed(),
        Value::Stream(stream) => stream,
    };
    let body = futures_util::stream::once(async move { Ok(Bytes::from(head)) })
        .chain(value)
        .chain(futures_util::stream::once(
            async move { Ok(Bytes::from(tail)) },
        ))
        .boxed();
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// One item of Cloudflare's bulk write body.
#[derive(Serialize)]
struct BulkItem<'a> {
    key: &'a str,
    value: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    base64: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_ttl: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a serde_json::Value>,
}

/// The JSON body of `PUT .../bulk`.
pub(crate) fn bulk_body(items: &[Item<Bytes>]) -> Result<Vec<u8>> {
    let items: Vec<BulkItem<'_>> = items
        .iter()
        .map(|item| {
            let (value, base64) = encoding::encode(&item.value);
            BulkItem {
                key: &item.key,
                value,
                base64,
                expiration: item.expiration,
                expiration_ttl: item.ttl,
                metadata: item.metadata.as_ref(),
            }
        })
        .collect();
    serde_json::to_vec(&items).map_err(|e| DataError::new(format!("cannot encode the batch: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_once() {
        assert_eq!(percent_encode("a/b c%"), "a%2Fb%20c%25");
        assert_eq!(percent_encode("user:1"), "user%3A1");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }
}
