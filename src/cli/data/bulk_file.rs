//! The files of `kv bulk`, in wrangler's formats, and the checks every item passes
//! before anything is written (in the runtime's words for each rule).

use std::path::Path;

use bytes::Bytes;
use kv_runtime::Error as RuntimeError;
use kv_runtime::limits::{MAX_KEY_BYTES, MAX_METADATA_BYTES};
use serde::Deserialize;

use super::encoding;
use super::error::{DataError, Result};
use super::target::{Item, Limits};

/// One item of a bulk put file.
#[derive(Debug, Deserialize)]
pub(crate) struct FileItem {
    pub(crate) key: String,
    value: String,
    #[serde(default)]
    base64: bool,
    #[serde(default)]
    expiration: Option<serde_json::Value>,
    #[serde(default)]
    expiration_ttl: Option<serde_json::Value>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

/// A key in a bulk get or delete file: a string, or an object with `key` (or `name`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum FileKey {
    Name(String),
    Object {
        #[serde(alias = "name")]
        key: String,
    },
}

impl FileKey {
    pub(crate) fn into_key(self) -> String {
        match self {
            FileKey::Name(key) | FileKey::Object { key } => key,
        }
    }
}

/// The file, parsed; a syntax error names its line and column.
pub(crate) fn read_file<T: serde::de::DeserializeOwned>(
    path: &Path,
    shape: &str,
) -> Result<(T, String)> {
    let (bytes, name) = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|e| DataError::new(format!("cannot read standard input: {e}")))?;
        (bytes, "standard input".to_owned())
    } else {
        let bytes = std::fs::read(path)
            .map_err(|e| DataError::new(format!("cannot read `{}`: {e}", path.display())))?;
        (bytes, format!("`{}`", path.display()))
    };
    let parsed = serde_json::from_slice(&bytes)
        .map_err(|e| DataError::new(format!("{name} is not {shape}: {e}; nothing was written")))?;
    Ok((parsed, name))
}

/// A key, shortened for a message.
pub(crate) fn shown(key: &str) -> String {
    if key.len() <= 40 {
        return format!("{key:?}");
    }
    let mut end = 40;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}… ({} bytes)", &key[..end], key.len())
}

/// What is wrong with `key`, in the runtime's words.
pub(crate) fn check_key(key: &str) -> std::result::Result<(), RuntimeError> {
    if key.is_empty() {
        return Err(RuntimeError::EmptyKey);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(RuntimeError::KeyTooLong {
            len: key.len(),
            max: MAX_KEY_BYTES,
        });
    }
    if key == "." || key == ".." {
        return Err(RuntimeError::ReservedKey {
            key: key.to_owned(),
        });
    }
    Ok(())
}

/// A whole number of seconds, as Cloudflare's clients send them (`120` or `120.0`).
pub(crate) fn seconds(
    name: &str,
    value: Option<&serde_json::Value>,
) -> std::result::Result<Option<u64>, String> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => {
            if let Some(n) = n.as_u64() {
                return Ok(Some(n));
            }
            match n.as_f64() {
                Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 =>
                {
                    #[allow(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "checked: whole, non-negative, below u64::MAX"
                    )]
                    Ok(Some(f as u64))
                }
                _ => Err(format!(
                    "Invalid {name} of {n}. Please specify a non-negative integer."
                )),
            }
        }
        Some(other) => Err(format!(
            "Invalid {name} of {other}. Please specify a non-negative integer."
        )),
    }
}

/// Checks one item against the store's limits, as a put would.
pub(crate) fn validate(
    item: FileItem,
    limits: Limits,
    now: u64,
) -> std::result::Result<Item<Bytes>, String> {
    check_key(&item.key).map_err(|e| e.to_string())?;
    let value = encoding::decode(item.value, item.base64)?;
    if value.len() as u64 > limits.max_value_size {
        return Err(RuntimeError::ValueTooLarge {
            size: value.len() as u64,
            max: limits.max_value_size,
        }
        .to_string());
    }
    let metadata = item.metadata.filter(|m| !m.is_null());
    if let Some(metadata) = &metadata {
        let size = metadata.to_string().len();
        if size > MAX_METADATA_BYTES {
            return Err(RuntimeError::MetadataTooLarge {
                size,
                max: MAX_METADATA_BYTES,
            }
            .to_string());
        }
    }
    let ttl = seconds("expiration_ttl", item.expiration_ttl.as_ref())?;
    let expiration = seconds("expiration", item.expiration.as_ref())?;
    match (ttl, expiration) {
        (Some(ttl), _) if ttl < limits.min_ttl => {
            return Err(RuntimeError::ExpirationTtlTooShort {
                ttl,
                min: limits.min_ttl,
            }
            .to_string());
        }
        (None, Some(at)) if at < now.saturating_add(limits.min_ttl) => {
            return Err(RuntimeError::ExpirationTooSoon {
                at,
                min: limits.min_ttl,
            }
            .to_string());
        }
        _ => {}
    }
    Ok(Item {
        key: item.key,
        value,
        ttl,
        expiration,
        metadata,
    })
}
