//! Key and store-name validation.

use crate::error::{Error, Result};
use crate::limits::MAX_KEY_BYTES;

/// Checks a key against Workers KV's rules: 1 to 512 bytes of UTF-8, not `.` or `..`.
pub(crate) fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::EmptyKey);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::KeyTooLong {
            len: key.len(),
            max: MAX_KEY_BYTES,
        });
    }
    if key == "." || key == ".." {
        return Err(Error::ReservedKey {
            key: key.to_owned(),
        });
    }
    Ok(())
}

/// Store names follow the manifest's resource-name rule, the one rule in
/// `kv_build::names`: lowercase letters, digits, `-` and `_`, starting with a letter,
/// at most 128 bytes.
pub(crate) fn validate_store_name(name: &str) -> Result<()> {
    if kv_build::names::is_valid_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidStoreName {
            name: name.to_owned(),
            max: kv_build::names::MAX_NAME_BYTES,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_names() {
        for ok in ["a", "demo-cache", "demo_cache", "s3"] {
            assert!(validate_store_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Demo", "1a", "-a", "a.b", "a b", "é"] {
            assert!(validate_store_name(bad).is_err(), "{bad}");
        }
        assert!(validate_store_name(&"a".repeat(129)).is_err());
    }
}
