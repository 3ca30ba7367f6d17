//! The records a backend stores and the requests it receives.

use std::fmt;

use bytes::Bytes;
use futures_util::stream::BoxStream;

use crate::error::Result;
use crate::expiration::is_expired;
use crate::version::Version;

/// A stream of value bytes whose errors are already runtime errors.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// What a key holds besides its value: its version, when it expires, its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordHead {
    /// The version the write that produced the record was given.
    pub version: Version,
    /// When the record expires, in absolute Unix seconds.
    pub expiration: Option<u64>,
    /// The metadata as serialized JSON (never empty, never `null`), at most
    /// [`MAX_METADATA_BYTES`](crate::limits::MAX_METADATA_BYTES).
    pub metadata: Option<Bytes>,
}

impl RecordHead {
    /// A head from its parts.
    pub fn new(version: Version, expiration: Option<u64>, metadata: Option<Bytes>) -> Self {
        Self {
            version,
            expiration,
            metadata,
        }
    }

    /// Whether the record is expired at `now` (expiry is inclusive).
    pub fn is_expired(&self, now: u64) -> bool {
        is_expired(self.expiration, now)
    }
}

/// A stored value as a read finds it.
#[non_exhaustive]
pub enum StoredValue {
    /// The bytes, whole.
    Inline(Bytes),
    /// A large or streamed value: its length, and a stream of its bytes read from one
    /// consistent version of the value (never a mix of two writes), a chunk at a time.
    Chunked {
        /// The value's length in bytes.
        len: u64,
        /// The bytes, in order; their lengths add up to `len`.
        chunks: ByteStream,
    },
}

impl fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inline(bytes) => f.debug_tuple("Inline").field(&bytes.len()).finish(),
            Self::Chunked { len, .. } => f.debug_struct("Chunked").field("len", len).finish(),
        }
    }
}

impl StoredValue {
    /// The value's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Self::Inline(bytes) => bytes.len() as u64,
            Self::Chunked { len, .. } => *len,
        }
    }

    /// Whether the value is the empty value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a key holds: head and value.
#[derive(Debug)]
#[non_exhaustive]
pub struct Record {
    /// Version, expiration and metadata.
    pub head: RecordHead,
    /// The value.
    pub value: StoredValue,
}

impl Record {
    /// A record from its parts.
    pub fn new(head: RecordHead, value: StoredValue) -> Self {
        Self { head, value }
    }
}

/// A value to write: whole, or arriving as a stream.
///
/// A stream reaches the backend already limited to the store's `max_value_size`: it
/// fails with [`Error::ValueTooLarge`](crate::Error::ValueTooLarge) as soon as it passes
/// it, and the backend must then write nothing.
#[non_exhaustive]
pub enum Payload {
    /// The bytes, whole.
    Bytes(Bytes),
    /// The bytes as they arrive.
    Stream(ByteStream),
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes(bytes) => f.debug_tuple("Bytes").field(&bytes.len()).finish(),
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// What a write requires of the key's current record, checked atomically with the
/// write. A record expired at the write's `now` counts as absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Condition {
    /// Write whatever the key holds.
    #[default]
    Always,
    /// Write only if the key holds no live record.
    Absent,
    /// Write only if the key's live record has this version.
    Version(Version),
}

impl Condition {
    /// Whether a key whose live record has version `current` (`None`: no live record)
    /// meets the condition.
    pub fn holds(self, current: Option<Version>) -> bool {
        match self {
            Self::Always => true,
            Self::Absent => current.is_none(),
            Self::Version(expected) => current == Some(expected),
        }
    }
}

/// One record to write, validated by the store: the key is valid, the metadata is
/// within its limit, the expiration is absolute and at least the store's floor ahead.
#[derive(Debug)]
#[non_exhaustive]
pub struct NewRecord<V = Payload> {
    /// The key.
    pub key: String,
    /// When the record expires, in absolute Unix seconds.
    pub expiration: Option<u64>,
    /// Serialized JSON metadata.
    pub metadata: Option<Bytes>,
    /// The value: a [`Payload`] for a single put, [`Bytes`] in a bulk write.
    pub value: V,
    /// What the key's current record must be for the write to happen.
    pub condition: Condition,
}

impl<V> NewRecord<V> {
    /// A record without expiration, metadata or condition.
    pub fn new(key: impl Into<String>, value: V) -> Self {
        Self {
            key: key.into(),
            expiration: None,
            metadata: None,
            value,
            condition: Condition::Always,
        }
    }

    /// Sets the expiration.
    #[must_use]
    pub fn with_expiration(mut self, expiration: Option<u64>) -> Self {
        self.expiration = expiration;
        self
    }

    /// Sets the metadata.
    #[must_use]
    pub fn with_metadata(mut self, metadata: Option<Bytes>) -> Self {
        self.metadata = metadata;
        self
    }

    /// Sets the condition.
    #[must_use]
    pub fn with_condition(mut self, condition: Condition) -> Self {
        self.condition = condition;
        self
    }

    /// The head the record gets once written with `version`.
    pub fn head(&self, version: Version) -> RecordHead {
        RecordHead::new(version, self.expiration, self.metadata.clone())
    }
}

/// Which keys a listing wants.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListQuery {
    /// Only keys that start with these bytes (matched literally).
    pub prefix: String,
    /// Resume strictly after this key (which need not exist any more).
    pub start_after: Option<String>,
    /// At most this many keys, 1 to [`MAX_LIST_LIMIT`](crate::limits::MAX_LIST_LIMIT).
    pub limit: usize,
    /// Records expired at this time are skipped.
    pub now: u64,
}

impl ListQuery {
    /// Up to `limit` live keys under `prefix` at `now`, from the start.
    pub fn new(prefix: impl Into<String>, limit: usize, now: u64) -> Self {
        Self {
            prefix: prefix.into(),
            start_after: None,
            limit,
            now,
        }
    }

    /// Resumes strictly after `key`.
    #[must_use]
    pub fn after(mut self, key: Option<String>) -> Self {
        self.start_after = key;
        self
    }

    /// Whether `key` belongs to this listing, ignoring liveness and the limit.
    pub fn admits(&self, key: &str) -> bool {
        key.starts_with(&self.prefix)
            && self
                .start_after
                .as_deref()
                .is_none_or(|after| key.as_bytes() > after.as_bytes())
    }
}

/// One key of a listing, without its value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedKey {
    /// The key.
    pub name: String,
    /// Its version, expiration and metadata.
    pub head: RecordHead,
}

impl ListedKey {
    /// A listed key from its parts.
    pub fn new(name: impl Into<String>, head: RecordHead) -> Self {
        Self {
            name: name.into(),
            head,
        }
    }
}

/// A page of a listing: live keys in byte order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPage {
    /// At most the query's limit of keys, in byte order.
    pub keys: Vec<ListedKey>,
    /// Whether live keys under the prefix remain after the last one in `keys`. Exact:
    /// it decides `list_complete`, which Workers KV sets on a page that ends exactly
    /// at the last key, too.
    pub more: bool,
}

impl ListPage {
    /// A page from its parts.
    pub fn new(keys: Vec<ListedKey>, more: bool) -> Self {
        Self { keys, more }
    }
}
