//! Opaque, versioned list cursors, bound to the store and prefix that issued them.
//!
//! A cursor carries the last key a page returned, so the next page resumes strictly
//! after it: keys added behind it are not revisited, keys added ahead of it are. It also
//! carries the prefix it was issued for and a checksum over the store name, the prefix
//! and the key, so a cursor used with another prefix or store, a truncated one or one
//! that was never issued decodes to [`Error::InvalidCursor`] instead of a wrong page.
//!
//! Layout, before URL-safe base64 without padding:
//! `version (1) | checksum (8, big endian) | prefix length (2, big endian) | prefix | last key`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, Result};
use crate::limits::MAX_KEY_BYTES;

const VERSION: u8 = 1;
const HEADER_BYTES: usize = 1 + 8 + 2;

/// Encodes the position after `last_key` in a listing of `store` under `prefix`.
pub(crate) fn encode(store: &str, prefix: &str, last_key: &str) -> String {
    let mut raw = Vec::with_capacity(HEADER_BYTES + prefix.len() + last_key.len());
    raw.push(VERSION);
    raw.extend_from_slice(&checksum(store, prefix, last_key).to_be_bytes());
    // Prefixes longer than u16::MAX never match a key (keys are at most 512 bytes), so a
    // listing with one never issues a cursor; saturating keeps this total anyway.
    let prefix_len = u16::try_from(prefix.len()).unwrap_or(u16::MAX);
    raw.extend_from_slice(&prefix_len.to_be_bytes());
    raw.extend_from_slice(prefix.as_bytes());
    raw.extend_from_slice(last_key.as_bytes());
    URL_SAFE_NO_PAD.encode(raw)
}

/// Decodes a cursor for a listing of `store` under `prefix`, returning the last key
/// the previous page returned.
pub(crate) fn decode(store: &str, prefix: &str, cursor: &str) -> Result<String> {
    // A valid cursor is bounded by the longest key and prefix; refuse to decode anything
    // much larger before allocating for it.
    if cursor.len() > 4 * (HEADER_BYTES + usize::from(u16::MAX) + MAX_KEY_BYTES) / 3 + 4 {
        return Err(Error::InvalidCursor);
    }
    let raw = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| Error::InvalidCursor)?;
    let (header, rest) = raw
        .split_first_chunk::<HEADER_BYTES>()
        .ok_or(Error::InvalidCursor)?;
    let [version, c0, c1, c2, c3, c4, c5, c6, c7, p0, p1] = *header;
    if version != VERSION {
        return Err(Error::InvalidCursor);
    }
    let sum = u64::from_be_bytes([c0, c1, c2, c3, c4, c5, c6, c7]);
    let prefix_len = usize::from(u16::from_be_bytes([p0, p1]));
    if rest.len() < prefix_len {
        return Err(Error::InvalidCursor);
    }
    let (issued_prefix, last_key) = rest.split_at(prefix_len);
    if issued_prefix != prefix.as_bytes() {
        return Err(Error::InvalidCursor);
    }
    let last_key = std::str::from_utf8(last_key).map_err(|_| Error::InvalidCursor)?;
    if last_key.is_empty() || last_key.len() > MAX_KEY_BYTES {
        return Err(Error::InvalidCursor);
    }
    if checksum(store, prefix, last_key) != sum {
        return Err(Error::InvalidCursor);
    }
    Ok(last_key.to_owned())
}

/// FNV-1a (64 bit) over the length-delimited fields. An integrity check against
/// corrupted, truncated or hand-made cursors, not a cryptographic seal: a cursor only
/// selects where a listing resumes, which any caller may choose freely anyway.
fn checksum(store: &str, prefix: &str, last_key: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for field in [store, prefix, last_key] {
        for byte in (field.len() as u64)
            .to_be_bytes()
            .iter()
            .chain(field.as_bytes())
        {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let c = encode("s", "user:", "user:42");
        assert_eq!(decode("s", "user:", &c).unwrap(), "user:42");
    }

    #[test]
    fn bound_to_prefix_and_store() {
        let c = encode("s", "a", "ab");
        assert!(matches!(decode("s", "b", &c), Err(Error::InvalidCursor)));
        assert!(matches!(decode("s", "", &c), Err(Error::InvalidCursor)));
        assert!(matches!(decode("t", "a", &c), Err(Error::InvalidCursor)));
        let unprefixed = encode("s", "", "ab");
        assert!(matches!(
            decode("s", "a", &unprefixed),
            Err(Error::InvalidCursor)
        ));
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "x",
            "!!!",
            "AAAAAAAAAAAAAAAAAAAA",
            &"A".repeat(1_000_000),
        ] {
            assert!(
                matches!(decode("s", "", bad), Err(Error::InvalidCursor)),
                "{bad:.20}"
            );
        }
        let mut c = encode("s", "", "key").into_bytes();
        let last = c.len() - 1;
        c[last] = if c[last] == b'A' { b'B' } else { b'A' };
        assert!(decode("s", "", std::str::from_utf8(&c).unwrap()).is_err());
    }
}
