//! `KV_API_KEY`: `Authorization: Bearer <key>` (what Cloudflare's clients send with an
//! API token) or Cloudflare's legacy `X-Auth-Key: <key>`.

use super::secret::Secret;

/// The configured key; compared in constant time, its length included.
pub(crate) struct ApiKey(Secret);

impl ApiKey {
    /// `None` for an empty key.
    pub(crate) fn new(key: &str) -> Option<Self> {
        Secret::new(key.as_bytes()).map(Self)
    }

    /// Whether `candidate` is the key.
    pub(crate) fn matches(&self, candidate: &[u8]) -> bool {
        bool::from(self.0.matches(candidate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_exactly() {
        let key = ApiKey::new("s3cret").unwrap();
        assert!(key.matches(b"s3cret"));
        assert!(!key.matches(b"s3cre"));
        assert!(!key.matches(b"s3cret "));
        assert!(!key.matches(b""));
    }
}
