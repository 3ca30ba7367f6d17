//! The on-disk encoding of records, blob keys and expiry-index keys.
//!
//! Record: `kind (1) | version (8, big endian) | expiration (8, big endian, 0 = none) |
//! metadata length (4, big endian, 0 = none) | metadata JSON | payload`, where the
//! payload is the value itself (kind 3, inline) or `blob id (8) | length (8) | chunk
//! count (4)` (kind 4, chunked). Kinds 1 and 2 are the same without the version, as
//! written before versions existed; they read as version 0. An expiration is never 0
//! (it is always at least `min_ttl` after the clock's reading), and metadata JSON is
//! never empty.

use bytes::{BufMut as _, Bytes, BytesMut};

use super::NAME;
use crate::backend::RecordHead;
use crate::error::{Error, Result};
use crate::version::Version;

const LEGACY_INLINE: u8 = 1;
const LEGACY_BLOB: u8 = 2;
const INLINE: u8 = 3;
const BLOB: u8 = 4;
const LEGACY_HEADER_BYTES: usize = 1 + 8 + 4;
const HEADER_BYTES: usize = 1 + 8 + 8 + 4;
const BLOB_REF_BYTES: usize = 8 + 8 + 4;

/// Blob-keyspace key tags: chunks (`c` + blob id + index), pending markers (`p` +
/// blob id) and references (`r` + record key → the blob a key's value is in).
pub(crate) const CHUNK_TAG: u8 = b'c';
pub(crate) const PENDING_TAG: u8 = b'p';
pub(crate) const REFERENCE_TAG: u8 = b'r';

/// Where a chunked value's chunks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlobRef {
    pub(crate) id: u64,
    pub(crate) len: u64,
    pub(crate) chunks: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Inline(Bytes),
    Blob(BlobRef),
}

pub(crate) fn encode(head: &RecordHead, value: &Value) -> Bytes {
    let metadata = head.metadata.as_deref().unwrap_or_default();
    let payload_len = match value {
        Value::Inline(bytes) => bytes.len(),
        Value::Blob(_) => BLOB_REF_BYTES,
    };
    let mut out = BytesMut::with_capacity(HEADER_BYTES + metadata.len() + payload_len);
    out.put_u8(match value {
        Value::Inline(_) => INLINE,
        Value::Blob(_) => BLOB,
    });
    out.put_u64(head.version.as_u64());
    out.put_u64(head.expiration.unwrap_or(0));
    // Metadata is at most MAX_METADATA_BYTES, checked before a record is built.
    out.put_u32(u32::try_from(metadata.len()).unwrap_or(u32::MAX));
    out.put_slice(metadata);
    match value {
        Value::Inline(bytes) => out.put_slice(bytes),
        Value::Blob(blob) => out.put_slice(&encode_reference(blob)),
    }
    out.freeze()
}

fn corrupt() -> Error {
    Error::backend(NAME, "stored record is corrupt or from a newer version")
}

fn u64_at(raw: &[u8], at: usize) -> Result<u64> {
    let bytes = raw.get(at..at + 8).ok_or_else(corrupt)?;
    let bytes: [u8; 8] = bytes.try_into().map_err(|_| corrupt())?;
    Ok(u64::from_be_bytes(bytes))
}

fn u32_at(raw: &[u8], at: usize) -> Result<u32> {
    let bytes = raw.get(at..at + 4).ok_or_else(corrupt)?;
    let bytes: [u8; 4] = bytes.try_into().map_err(|_| corrupt())?;
    Ok(u32::from_be_bytes(bytes))
}

/// Whether the value is chunked, the head, and where the payload starts.
fn split(raw: &Bytes) -> Result<(bool, RecordHead, usize)> {
    let kind = *raw.first().ok_or_else(corrupt)?;
    let (chunked, version, rest) = match kind {
        INLINE | BLOB => (kind == BLOB, u64_at(raw, 1)?, 9),
        LEGACY_INLINE | LEGACY_BLOB => (kind == LEGACY_BLOB, 0, 1),
        _ => return Err(corrupt()),
    };
    let expiration = match u64_at(raw, rest)? {
        0 => None,
        at => Some(at),
    };
    let meta_len = usize::try_from(u32_at(raw, rest + 8)?).map_err(|_| corrupt())?;
    let header = if kind >= INLINE {
        HEADER_BYTES
    } else {
        LEGACY_HEADER_BYTES
    };
    let payload_at = header.checked_add(meta_len).ok_or_else(corrupt)?;
    if payload_at > raw.len() {
        return Err(corrupt());
    }
    let metadata = (meta_len > 0).then(|| raw.slice(header..payload_at));
    Ok((
        chunked,
        RecordHead::new(Version::from_u64(version), expiration, metadata),
        payload_at,
    ))
}

/// Version, expiration and metadata, without looking at the value.
pub(crate) fn decode_head(raw: &Bytes) -> Result<RecordHead> {
    Ok(split(raw)?.1)
}

pub(crate) fn decode(raw: Bytes) -> Result<(Value, RecordHead)> {
    let (chunked, head, payload_at) = split(&raw)?;
    let payload = raw.slice(payload_at..);
    let value = if chunked {
        Value::Blob(decode_reference(&payload)?)
    } else {
        Value::Inline(payload)
    };
    Ok((value, head))
}

pub(crate) fn chunk_prefix(id: u64) -> [u8; 9] {
    let mut out = [CHUNK_TAG; 9];
    out[1..].copy_from_slice(&id.to_be_bytes());
    out
}

pub(crate) fn chunk_key(id: u64, index: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(13);
    out.extend_from_slice(&chunk_prefix(id));
    out.extend_from_slice(&index.to_be_bytes());
    out
}

/// The blob id of a chunk key (or of a pending marker), if it is one.
pub(crate) fn chunk_id(key: &[u8]) -> Option<u64> {
    let (_, rest) = key.split_first()?;
    let (id, _) = rest.split_first_chunk::<8>()?;
    Some(u64::from_be_bytes(*id))
}

pub(crate) fn pending_key(id: u64) -> [u8; 9] {
    let mut out = [PENDING_TAG; 9];
    out[1..].copy_from_slice(&id.to_be_bytes());
    out
}

pub(crate) fn pending_id(key: &[u8]) -> Option<u64> {
    match key.split_first()? {
        (&PENDING_TAG, id) => Some(u64::from_be_bytes(id.try_into().ok()?)),
        _ => None,
    }
}

pub(crate) fn reference_key(key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + key.len());
    out.push(REFERENCE_TAG);
    out.extend_from_slice(key.as_bytes());
    out
}

pub(crate) fn encode_reference(blob: &BlobRef) -> Vec<u8> {
    let mut out = Vec::with_capacity(BLOB_REF_BYTES);
    out.extend_from_slice(&blob.id.to_be_bytes());
    out.extend_from_slice(&blob.len.to_be_bytes());
    out.extend_from_slice(&blob.chunks.to_be_bytes());
    out
}

pub(crate) fn decode_reference(raw: &[u8]) -> Result<BlobRef> {
    if raw.len() != BLOB_REF_BYTES {
        return Err(corrupt());
    }
    Ok(BlobRef {
        id: u64_at(raw, 0)?,
        len: u64_at(raw, 8)?,
        chunks: u32_at(raw, 16)?,
    })
}

pub(crate) fn expiry_key(at: u64, key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.len());
    out.extend_from_slice(&at.to_be_bytes());
    out.extend_from_slice(key.as_bytes());
    out
}

pub(crate) fn split_expiry_key(entry: &[u8]) -> Option<(u64, &[u8])> {
    let (at, key) = entry.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*at), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let heads = [
            RecordHead::new(Version::from_u64(1), None, None),
            RecordHead::new(
                Version::from_u64(u64::MAX),
                Some(1_700_000_060),
                Some(Bytes::from_static(b"{\"a\":1}")),
            ),
        ];
        let values = [
            Value::Inline(Bytes::new()),
            Value::Inline(Bytes::from_static(b"\x00\xff value")),
            Value::Blob(BlobRef {
                id: 7,
                len: 1 << 33,
                chunks: 32_768,
            }),
        ];
        for head in &heads {
            for value in &values {
                let raw = encode(head, value);
                assert_eq!(decode(raw.clone()).unwrap(), (value.clone(), head.clone()));
                assert_eq!(decode_head(&raw).unwrap(), *head);
            }
        }
    }

    #[test]
    fn legacy_records_read_as_version_zero() {
        // kind 1, expiration 1000, metadata `{}`, value "v": a record from before versions.
        let mut raw = vec![LEGACY_INLINE];
        raw.extend_from_slice(&1000u64.to_be_bytes());
        raw.extend_from_slice(&2u32.to_be_bytes());
        raw.extend_from_slice(b"{}v");
        let (value, head) = decode(Bytes::from(raw)).unwrap();
        assert_eq!(value, Value::Inline(Bytes::from_static(b"v")));
        assert_eq!(
            head,
            RecordHead::new(
                Version::from_u64(0),
                Some(1000),
                Some(Bytes::from_static(b"{}"))
            )
        );
    }

    #[test]
    fn corrupt_records_are_errors() {
        assert!(decode(Bytes::new()).is_err());
        assert!(decode(Bytes::from_static(&[9; 30])).is_err());
        let head = RecordHead::new(Version::from_u64(1), None, Some(Bytes::from_static(b"{}")));
        let mut bad = encode(&head, &Value::Inline(Bytes::new())).to_vec();
        bad.truncate(HEADER_BYTES + 1);
        assert!(decode(Bytes::from(bad)).is_err());
        let mut short_blob = encode(
            &RecordHead::new(Version::from_u64(1), None, None),
            &Value::Blob(BlobRef {
                id: 1,
                len: 2,
                chunks: 3,
            }),
        )
        .to_vec();
        short_blob.pop();
        assert!(decode(Bytes::from(short_blob)).is_err());
    }

    #[test]
    fn blob_keys() {
        assert_eq!(chunk_id(&chunk_key(42, 7)), Some(42));
        assert_eq!(pending_id(&pending_key(42)), Some(42));
        assert_eq!(pending_id(&chunk_key(42, 0)), None);
        assert!(chunk_key(u64::MAX, u32::MAX).as_slice() < pending_key(0).as_slice());
    }
}
