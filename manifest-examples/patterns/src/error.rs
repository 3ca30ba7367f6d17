//! The patterns' error type.

/// Everything that can go wrong in one of the patterns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store refused or failed an operation.
    #[error(transparent)]
    Store(#[from] kv_runtime::Error),
    /// A read-through cache's loader failed; nothing was cached.
    #[error("loading {key:?} failed: {source}")]
    Load {
        /// The cache key being loaded.
        key: String,
        /// The loader's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored value is not the JSON its pattern expects (e.g. a hand-edited flag).
    #[error("the value under {key:?} is not valid: {source}")]
    Corrupt {
        /// The key whose value failed to decode.
        key: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A value was rejected before anything was written: a flag's rollout over 100 %, a
    /// configuration its validator refused, a rate limit of zero requests.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was being checked (`"feature flag \"new-ui\""`, `"configuration"`, ...).
        what: String,
        /// Why it was refused.
        reason: String,
    },
    /// An optimistic configuration update named a version that is no longer current.
    #[error("configuration version conflict: expected version {expected}, found {found}")]
    VersionConflict {
        /// The version the caller based its change on.
        expected: u64,
        /// The version the store holds.
        found: u64,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
