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

/// Longest store name, in bytes.
pub(crate) const MAX_STORE_NAME_BYTES: usize = 128;

/// Store names follow the manifest's resource-name rule: lowercase letters, digits,
/// `-` and `_`, starting with a letter.
pub(crate) fn validate_store_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if starts_with_letter && rest_ok && name.len() <= MAX_STORE_NAME_BYTES {
        Ok(())
    } else {
        Err(Error::InvalidStoreName {
            name: name.to_owned(),
            max: MAX_STORE_NAME_BYTES,
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
