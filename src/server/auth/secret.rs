//! [`Secret`]: a configured secret, compared in constant time — its length included.
//!
//! `subtle`'s `ct_eq` on slices returns at once when the lengths differ, which tells a
//! patient client the secret's length. Here the comparison always walks the whole
//! secret (past the candidate's end it compares with zero bytes) and folds the length
//! check in without branching, so its time depends on nothing the client does not
//! already know. Hashing both sides would do the same at about 40 times the cost on a
//! CPU without SHA instructions (measured with callgrind: ~3,800 instructions a
//! request), on every authenticated request.

use subtle::{Choice, ConstantTimeEq as _};

/// A secret, never empty (see [`Secret::new`]).
pub(crate) struct Secret(Box<[u8]>);

impl Secret {
    /// `None` for an empty secret, which would accept an empty credential.
    pub(crate) fn new(secret: &[u8]) -> Option<Self> {
        (!secret.is_empty()).then(|| Self(secret.into()))
    }

    /// Whether `candidate` is the secret, in constant time (as a `Choice`, so that
    /// callers can combine several without branching).
    pub(crate) fn matches(&self, candidate: &[u8]) -> Choice {
        let same_len = (candidate.len() as u64).ct_eq(&(self.0.len() as u64));
        let mut diff = 0u8;
        for (i, byte) in self.0.iter().enumerate() {
            // Branches on the candidate's length only, which its sender knows.
            diff |= byte ^ candidate.get(i).copied().unwrap_or(0);
        }
        same_len & std::hint::black_box(diff).ct_eq(&0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_exactly_whatever_the_lengths() {
        let secret = Secret::new(b"s3cret").unwrap();
        assert!(bool::from(secret.matches(b"s3cret")));
        for other in [
            &b"s3cre"[..],
            b"s3cret ",
            b"s3cret\0",
            b"s3cret\0\0\0",
            b"",
            b"\0",
            b"S3cret",
            &[b's'; 4096],
        ] {
            assert!(!bool::from(secret.matches(other)), "{other:?}");
        }
        assert!(
            Secret::new(b"").is_none(),
            "an empty secret would accept \"\""
        );
    }
}
