//! [`Version`]: what a record's current version is, for compare-and-set.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The version of a key's record: it changes on every write of the key (a put, a touch)
/// and is never issued twice within a store, so a version taken from one key never
/// matches another key, nor the same key after it was deleted and written again.
///
/// Versions are opaque: compare them for equality, print them, parse them back. The
/// string form (lowercase hexadecimal, as in an HTTP `ETag`) is what crosses process
/// boundaries; [`FromStr`] accepts exactly what [`Display`](fmt::Display) produces.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kv_runtime::Result<()> {
/// use kv_runtime::{KvStore, Version};
///
/// let store = KvStore::in_memory("counters");
/// let v1: Version = store.put("hits", "1").await?;
/// let v2 = store.put("hits", "2").if_version(v1.clone()).await?;
/// assert_ne!(v1, v2);
/// assert!(store.put("hits", "3").if_version(v1).await.unwrap_err().is_conflict());
/// let parsed: Version = v2.to_string().parse()?;
/// assert_eq!(parsed, v2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version(u64);

impl Version {
    /// A version from its number. For backend authors: a backend issues each number at
    /// most once per store (a counter that only goes up is the usual way).
    pub const fn from_u64(number: u64) -> Self {
        Self(number)
    }

    /// The version's number. For backend authors, who store it with the record.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({:x})", self.0)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

impl FromStr for Version {
    type Err = Error;

    /// Parses the string form: 1 to 16 lowercase hexadecimal digits without leading
    /// zeros (`0` itself is allowed).
    fn from_str(s: &str) -> Result<Self, Error> {
        let canonical = !s.is_empty()
            && s.len() <= 16
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && (s == "0" || !s.starts_with('0'));
        let number = canonical
            .then(|| u64::from_str_radix(s, 16).ok())
            .flatten()
            .ok_or_else(|| Error::InvalidVersion {
                given: s.chars().take(40).collect(),
            })?;
        Ok(Self(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_form_round_trips_and_is_canonical() {
        for n in [0, 1, 0xabc, u64::MAX] {
            let v = Version::from_u64(n);
            assert_eq!(v.to_string().parse::<Version>().unwrap(), v);
        }
        assert_eq!(Version::from_u64(255).to_string(), "ff");
        for bad in [
            "",
            "00",
            "0ff",
            "FF",
            "g",
            "-1",
            " 1",
            "1 ",
            "12345678901234567",
        ] {
            let err = bad.parse::<Version>().unwrap_err();
            assert!(
                matches!(err, Error::InvalidVersion { .. }),
                "{bad:?}: {err:?}"
            );
        }
        assert_eq!(
            "xyz".parse::<Version>().unwrap_err().to_string(),
            "invalid version \"xyz\": a version is the hexadecimal string a read or write returned"
        );
    }
}
