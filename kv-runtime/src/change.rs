//! [`Change`]: what a watcher of a store sees.

use crate::version::Version;

/// One change to a watched store, from [`KvStore::watch`](crate::KvStore::watch).
///
/// Changes arrive in the order the backend applied them (per key always; across keys
/// on one backend connection). A watcher that falls behind, or whose connection to a
/// shared backend was lost, gets [`Change::Lagged`] at the point where changes went
/// missing — never a silent gap.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A put or a touch wrote `key`; `version` is its new version.
    #[non_exhaustive]
    Put {
        /// The key written.
        key: String,
        /// Its new version.
        version: Version,
        /// Its expiration after the write, in absolute Unix seconds.
        expiration: Option<u64>,
    },
    /// `key` was removed: by a delete, or (`expired: true`) by the purge of expired
    /// keys, which runs in the background — so an expired key's `Delete` comes at
    /// purge time, not at its expiration.
    #[non_exhaustive]
    Delete {
        /// The key removed.
        key: String,
        /// Whether the purge of expired keys removed it.
        expired: bool,
    },
    /// Changes were lost between the previous item and the next: the watcher fell
    /// behind, or its connection to a shared backend dropped and came back. Re-read
    /// what matters (a `list` of the prefix) to catch up.
    #[non_exhaustive]
    Lagged {
        /// How many changes were lost, when known.
        missed: Option<u64>,
    },
}

impl Change {
    /// A [`Change::Put`]. For backend authors.
    pub fn put(key: impl Into<String>, version: Version, expiration: Option<u64>) -> Self {
        Self::Put {
            key: key.into(),
            version,
            expiration,
        }
    }

    /// A [`Change::Delete`] by a delete. For backend authors.
    pub fn delete(key: impl Into<String>) -> Self {
        Self::Delete {
            key: key.into(),
            expired: false,
        }
    }

    /// A [`Change::Delete`] by the purge of expired keys. For backend authors.
    pub fn expired(key: impl Into<String>) -> Self {
        Self::Delete {
            key: key.into(),
            expired: true,
        }
    }

    /// A [`Change::Lagged`]. For backend authors.
    pub fn lagged(missed: Option<u64>) -> Self {
        Self::Lagged { missed }
    }

    /// The key the change is about; `None` for [`Change::Lagged`].
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Put { key, .. } | Self::Delete { key, .. } => Some(key),
            Self::Lagged { .. } => None,
        }
    }
}
