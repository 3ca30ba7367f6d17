//! Reading the replies of scripts and commands: Redis values into runtime types.

use bytes::Bytes;
use redis::Value;

use super::NAME;
use crate::backend::RecordHead;
use crate::error::{Error, Result};
use crate::version::Version;

/// The error for a reply of the wrong shape (another program writing the namespace?).
pub(super) fn malformed(what: &str) -> Error {
    Error::backend(
        NAME,
        format!(
            "unexpected reply from Redis to {what}: is another program writing this store's keys?"
        ),
    )
}

/// A string's bytes; `None` for nil.
pub(super) fn bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.into_bytes()),
        Value::Okay => Some(b"OK".to_vec()),
        _ => None,
    }
}

/// A decimal number, sent as an integer or a string; `None` for nil or anything else.
pub(super) fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        Value::SimpleString(text) => text.parse().ok(),
        _ => None,
    }
}

/// An array's items.
pub(super) fn array(value: Value, what: &str) -> Result<Vec<Value>> {
    match value {
        Value::Array(items) => Ok(items),
        _ => Err(malformed(what)),
    }
}

/// A version, as scripts return them (decimal strings); `None` for nil.
pub(super) fn version(value: &Value, what: &str) -> Result<Option<Version>> {
    match value {
        Value::Nil => Ok(None),
        other => number(other)
            .map(|n| Some(Version::from_u64(n)))
            .ok_or_else(|| malformed(what)),
    }
}

/// A record's head from its `ver`, `e` and `m` fields (each nil when unset).
pub(super) fn head(
    version: Option<Vec<u8>>,
    expiration: Option<Vec<u8>>,
    metadata: Option<Vec<u8>>,
    what: &str,
) -> Result<RecordHead> {
    let decimal = |bytes: Vec<u8>| -> Result<u64> {
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| malformed(what))
    };
    let version = version.ok_or_else(|| malformed(what)).and_then(decimal)?;
    let expiration = expiration.map(decimal).transpose()?;
    Ok(RecordHead::new(
        Version::from_u64(version),
        expiration,
        metadata.map(Bytes::from),
    ))
}

/// The string or nil at `items[at]`.
pub(super) fn field(items: &mut [Value], at: usize) -> Option<Vec<u8>> {
    items.get_mut(at).map(std::mem::take).and_then(bytes)
}
