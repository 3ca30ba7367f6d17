//! [`Secret`]: a configured secret, kept and compared as its SHA-256 digest, so that a
//! comparison takes the same time whatever the candidate, its length included.
//!
//! `subtle`'s `ct_eq` on slices returns at once when the lengths differ, which tells a
//! patient client the secret's length. Comparing fixed-size digests in constant time
//! leaves it nothing to learn but what it sent: hashing the candidate takes time in
//! its own length only.

use sha2::{Digest as _, Sha256};
use subtle::{Choice, ConstantTimeEq as _};

/// A secret's digest.
pub(crate) struct Secret([u8; 32]);

impl Secret {
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self(digest(secret))
    }

    /// Whether `candidate` is the secret, in constant time (as a `Choice`, so that
    /// callers can combine several without branching).
    pub(crate) fn matches(&self, candidate: &[u8]) -> Choice {
        self.0.ct_eq(&digest(candidate))
    }

    /// The bytes compared: always 32, whatever the secret's length.
    #[cfg(test)]
    pub(crate) fn compared_len(&self) -> usize {
        self.0.len()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_exactly_and_compares_fixed_size_digests() {
        let secret = Secret::new(b"s3cret");
        assert!(bool::from(secret.matches(b"s3cret")));
        for other in [&b"s3cre"[..], b"s3cret ", b"", b"S3cret", &[b's'; 4096]] {
            assert!(!bool::from(secret.matches(other)), "{other:?}");
        }
        // What is compared does not depend on the secret's length.
        assert_eq!(Secret::new(b"").compared_len(), 32);
        assert_eq!(Secret::new(&[b'k'; 1000]).compared_len(), 32);
    }
}
