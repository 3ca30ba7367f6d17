//! `multipart/form-data` value writes: a `value` part and an optional JSON `metadata`
//! part, as Cloudflare's API takes them (cloudflare-python `values.update` sends
//! `metadata` then `value`; cloudflare-typescript builds the form from `{value,
//! metadata}`, so `value` first). Since `metadata` may follow `value`, the value part is
//! read into memory, bounded by the store's `max_value_size`: a larger one is refused
//! with 413 as soon as it passes the limit.

use bytes::{Bytes, BytesMut};

use super::body::SharedBody;
use super::error::{ApiError, Code};

/// Largest `metadata` part read (the runtime then enforces Workers KV's 1024 bytes).
const MAX_METADATA_PART_BYTES: usize = 16 * 1024;

/// The parts of a multipart write.
pub(crate) struct Parts {
    pub(crate) value: Bytes,
    pub(crate) metadata: Option<serde_json::Value>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(Code::InvalidRequest, message)
}

/// Reads the form; `max` is the store's `max_value_size`.
pub(crate) async fn read(
    content_type: &str,
    body: SharedBody,
    max: u64,
) -> Result<Parts, ApiError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| bad(format!("invalid multipart/form-data content type: {e}")))?;
    let mut form = multer::Multipart::new(body, boundary);
    let mut value = None;
    let mut metadata = None;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| bad(format!("invalid multipart/form-data body: {e}")))?
    {
        match field.name() {
            Some("value") => {
                let mut buf = BytesMut::new();
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| bad(format!("invalid multipart value part: {e}")))?
                {
                    let size = (buf.len() + chunk.len()) as u64;
                    if size > max {
                        return Err(kv_runtime::Error::ValueTooLarge { size, max }.into());
                    }
                    buf.extend_from_slice(&chunk);
                }
                value = Some(buf.freeze());
            }
            Some("metadata") => {
                let mut buf = BytesMut::new();
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| bad(format!("invalid multipart metadata part: {e}")))?
                {
                    buf.extend_from_slice(&chunk);
                    if buf.len() > MAX_METADATA_PART_BYTES {
                        return Err(kv_runtime::Error::MetadataTooLarge {
                            size: buf.len(),
                            max: kv_runtime::limits::MAX_METADATA_BYTES,
                        }
                        .into());
                    }
                }
                let parsed: serde_json::Value = serde_json::from_slice(&buf).map_err(|e| {
                    ApiError::bad_request(
                        Code::InvalidJson,
                        format!("the metadata part is not valid JSON: {e}"),
                    )
                })?;
                metadata = Some(parsed);
            }
            // Other parts are skipped, as the next call to `next_field` does.
            _ => {}
        }
    }
    let value = value.ok_or_else(|| bad("the multipart/form-data body has no \"value\" part"))?;
    Ok(Parts { value, metadata })
}
