//! `KV_API_KEY`: `Authorization: Bearer <key>` (what Cloudflare's clients send with an
//! API token) or Cloudflare's legacy `X-Auth-Key: <key>`.

use subtle::ConstantTimeEq as _;

/// The configured key; compared in constant time.
pub(crate) struct ApiKey(Vec<u8>);

impl ApiKey {
    pub(crate) fn new(key: &str) -> Self {
        Self(key.as_bytes().to_vec())
    }

    /// Whether `candidate` is the key. Constant time in the content (a length mismatch
    /// returns early: the key's length is not a secret worth the cost of hiding).
    pub(crate) fn matches(&self, candidate: &[u8]) -> bool {
        bool::from(self.0.as_slice().ct_eq(candidate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_exactly() {
        let key = ApiKey::new("s3cret");
        assert!(key.matches(b"s3cret"));
        assert!(!key.matches(b"s3cre"));
        assert!(!key.matches(b"s3cret "));
        assert!(!key.matches(b""));
    }
}
