//! The runtime's error type, and (in [`codes`]) its one mapping to stable codes and
//! HTTP statuses.

mod codes;

use std::path::PathBuf;

use crate::backend::Condition;
use crate::version::Version;

/// Everything that can go wrong in a store operation or when opening a runtime.
///
/// Where Workers KV has words for a rule, the message uses them, so that searching for
/// the message finds the rule. Every validation error is raised before anything is
/// written: an operation that fails this way leaves the store as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key longer than [`MAX_KEY_BYTES`](crate::limits::MAX_KEY_BYTES).
    #[error("UTF-8 encoded length of {len} exceeds key length limit of {max}")]
    KeyTooLong {
        /// Length of the key given, in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The empty string as a key.
    #[error("key name cannot be empty")]
    EmptyKey,
    /// `.` or `..` as a key.
    #[error("{key:?} is not allowed as a key name")]
    ReservedKey {
        /// The key given.
        key: String,
    },
    /// A value over the store's `max_value_size`.
    #[error("Value length of {size} exceeds limit of {max}")]
    ValueTooLarge {
        /// Size of the value given, in bytes (for a stream: as far as it was read).
        size: u64,
        /// The store's limit.
        max: u64,
    },
    /// Metadata whose JSON serialization is over [`MAX_METADATA_BYTES`](crate::limits::MAX_METADATA_BYTES).
    #[error("Metadata length of {size} exceeds limit of {max}")]
    MetadataTooLarge {
        /// Serialized length of the metadata given, in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// An `expiration_ttl` below the store's floor.
    #[error("Invalid expiration_ttl of {ttl}. Expiration TTL must be at least {min}.")]
    ExpirationTtlTooShort {
        /// The TTL given, in seconds.
        ttl: u64,
        /// The store's floor (`min_ttl`), in seconds.
        min: u64,
    },
    /// An absolute `expiration` less than the floor ahead of now.
    #[error(
        "Invalid expiration of {at}. Expiration times must be at least {min} seconds in the future."
    )]
    ExpirationTooSoon {
        /// The Unix time given, in seconds.
        at: u64,
        /// The store's floor (`min_ttl`), in seconds.
        min: u64,
    },
    /// An `expiration_ttl` so large that now + ttl does not fit the clock.
    #[error("Invalid expiration_ttl of {ttl}. Expiration time overflows the clock (now is {now}).")]
    ExpirationOverflow {
        /// The TTL given, in seconds.
        ttl: u64,
        /// The clock's reading, in Unix seconds.
        now: u64,
    },
    /// A `list` limit outside 1..=[`MAX_LIST_LIMIT`](crate::limits::MAX_LIST_LIMIT).
    #[error("Invalid key_count_limit of {limit}. Please specify an integer between 1 and {max}.")]
    ListLimit {
        /// The limit given.
        limit: usize,
        /// The largest page.
        max: usize,
    },
    /// A cursor that this store did not issue for this prefix, or that is malformed.
    #[error("cursor was not issued for this store and prefix")]
    InvalidCursor,
    /// A value or metadata that is not valid JSON for the requested type, or a
    /// `Json` value that could not be serialized.
    #[error("value is not valid JSON for the requested type: {0}")]
    Json(#[source] serde_json::Error),
    /// The stream of a [`Body`](crate::Body) failed; nothing was written.
    #[error("the value's stream failed: {source}")]
    Stream {
        /// The stream's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A `cache_ttl` below [`MIN_CACHE_TTL_SECS`](crate::limits::MIN_CACHE_TTL_SECS).
    #[error("Invalid cache_ttl of {ttl}. Cache TTL must be at least {min}.")]
    CacheTtlTooShort {
        /// The cache TTL given, in seconds.
        ttl: u64,
        /// The floor.
        min: u64,
    },
    /// `get_many` with no keys.
    #[error("You must request a minimum of 1 key")]
    GetManyEmpty,
    /// `get_many` with more than [`MAX_GET_MANY_KEYS`](crate::limits::MAX_GET_MANY_KEYS) keys.
    #[error("You can request a maximum of {max} keys")]
    GetManyTooMany {
        /// How many keys were requested.
        count: usize,
        /// The most one call may request.
        max: usize,
    },
    /// `get_many(..).json()` where a value is not JSON.
    #[error("At least one of the requested keys corresponds to a non-JSON value")]
    GetManyNotJson {
        /// The first key whose value is not JSON (in request order).
        key: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A bulk write or delete of more than [`MAX_BULK_ITEMS`](crate::limits::MAX_BULK_ITEMS) items.
    #[error("Bulk operation of {count} items exceeds the limit of {max}")]
    BulkTooLarge {
        /// How many items were given.
        count: usize,
        /// The most one call may carry.
        max: usize,
    },
    /// One item of a bulk write or delete is invalid; nothing was written.
    #[error("item {index} (key {key:?}): {source}")]
    BulkItem {
        /// The item's position in the request, from 0.
        index: usize,
        /// The item's key.
        key: String,
        /// What is wrong with it.
        #[source]
        source: Box<Error>,
    },
    /// `text()` on a value that is not UTF-8.
    #[error("value is not valid UTF-8 text (read it with bytes() instead)")]
    InvalidUtf8,
    /// A store name that is not lowercase letters, digits, `-` and `_`, starting with a letter.
    #[error(
        "invalid store name {name:?}: use lowercase letters, digits, `-` and `_`, starting with a letter, at most {max} bytes"
    )]
    InvalidStoreName {
        /// The name given.
        name: String,
        /// The longest store name, in bytes.
        max: usize,
    },
    /// A parameter from a wire format (an HTTP query, a bulk file) that is not what it
    /// must be: a TTL that is not a number, a value that is not valid base64.
    #[error("{}", parameter_message(name, given.as_deref(), expected))]
    InvalidParameter {
        /// The parameter, as the request named it (`expiration_ttl`, `value`, ...).
        name: String,
        /// What was given, when it may be shown.
        given: Option<String>,
        /// What it must be, or what is wrong, as a sentence.
        expected: String,
    },
    /// A conditional write (`if_version`, `if_absent`, `update`) found the key in
    /// another state than required; nothing was written.
    #[error("{}", conflict_message(key, *expected, *current))]
    Conflict {
        /// The key.
        key: String,
        /// The version the write required; `None` for `if_absent`.
        expected: Option<Version>,
        /// The key's current version; `None` if it does not exist (or has expired).
        current: Option<Version>,
    },
    /// A version string that no read or write returned (e.g. a malformed `If-Match`).
    #[error(
        "invalid version {given:?}: a version is the hexadecimal string a read or write returned"
    )]
    InvalidVersion {
        /// What was given (at most its first 40 characters).
        given: String,
    },
    /// The data directory is held by another process (or another runtime in this one).
    #[error("store {} is in use by another process", path.display())]
    Locked {
        /// The data directory.
        path: PathBuf,
    },
    /// A runtime configuration file that cannot be read or is invalid.
    #[error("{}", config_message(path, message))]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong, with the line and column where the file has them.
        message: String,
    },
    /// A failure inside a backend: I/O, corruption, a lost connection, a timeout.
    #[error("{backend} backend failed: {source}")]
    Backend {
        /// Which backend (`"fjall"`, `"redis"`, ...).
        backend: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Whether a conditional write was refused because the key was not in the
    /// required state (also when the refusal is an item of a bulk write).
    pub fn is_conflict(&self) -> bool {
        match self {
            Self::Conflict { .. } => true,
            Self::BulkItem { source, .. } => source.is_conflict(),
            _ => false,
        }
    }

    /// The key's current version, for a conflict: what to retry with.
    pub fn current_version(&self) -> Option<Version> {
        match self {
            Self::Conflict { current, .. } => *current,
            Self::BulkItem { source, .. } => source.current_version(),
            _ => None,
        }
    }

    /// A storage failure of backend `backend`. For backend authors.
    pub fn backend(
        backend: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Backend {
            backend,
            source: source.into(),
        }
    }

    /// The refusal of a write to `key` whose `condition` did not hold; `current` is the
    /// version of the key's live record, if any. For backend authors.
    pub fn conflict(
        key: impl Into<String>,
        condition: Condition,
        current: Option<Version>,
    ) -> Self {
        let expected = match condition {
            Condition::Version(version) => Some(version),
            _ => None,
        };
        Self::Conflict {
            key: key.into(),
            expected,
            current,
        }
    }
}

fn conflict_message(key: &str, expected: Option<Version>, current: Option<Version>) -> String {
    match (expected, current) {
        (None, Some(current)) => format!("{key:?} already exists (version {current})"),
        (None, None) => format!("{key:?} does not exist, yet the write was refused"),
        (Some(expected), Some(current)) => format!(
            "version mismatch on {key:?}: expected {expected}, the current version is {current}"
        ),
        (Some(expected), None) => {
            format!("version mismatch on {key:?}: expected {expected}, but the key does not exist")
        }
    }
}

fn parameter_message(name: &str, given: Option<&str>, expected: &str) -> String {
    match given {
        Some(given) => format!("Invalid {name} of {given}. {expected}"),
        None => format!("Invalid {name}: {expected}"),
    }
}

fn config_message(path: &std::path::Path, message: &str) -> String {
    if path.as_os_str().is_empty() {
        message.to_owned()
    } else {
        format!("{}: {message}", path.display())
    }
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
