//! [`PutRequest`] and [`BulkPut`]: writing a value with its expiration and metadata.

use std::future::IntoFuture;

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::backend::{ByteStream, Condition, NewRecord, Payload};
use crate::error::{Error, Result};
use crate::expiration::Expiration;
use crate::key::validate_key;
use crate::limits::MAX_METADATA_BYTES;
use crate::store::KvStore;
use crate::value::Value;
use crate::version::Version;

/// One value to write, with its options: an item of
/// [`KvStore::put_many`], and what a [`PutRequest`] carries.
///
/// `(key, value)` pairs convert into it; build one with options like a put:
/// `BulkPut::new("k", "v").expiration_ttl(3600).metadata(json!({"a": 1}))`, and
/// `.if_version(v)` / `.if_absent()` for a compare-and-set batch.
#[derive(Debug)]
#[must_use = "a BulkPut is written by passing it to put_many"]
pub struct BulkPut {
    key: String,
    value: Value,
    ttl: Option<u64>,
    at: Option<u64>,
    metadata: Option<Result<Bytes>>,
    condition: Condition,
}

impl BulkPut {
    /// `value` under `key`, without expiration or metadata.
    pub fn new(key: impl Into<String>, value: impl Into<Value>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            ttl: None,
            at: None,
            metadata: None,
            condition: Condition::Always,
        }
    }

    /// Expires the key `secs` seconds from now. At least the store's `min_ttl`
    /// (default 60). Given together with [`expiration`](Self::expiration), the TTL wins.
    /// `None` leaves it unset (convenient for optional parameters).
    pub fn expiration_ttl(mut self, secs: impl Into<Option<u64>>) -> Self {
        self.ttl = secs.into().or(self.ttl);
        self
    }

    /// Expires the key at Unix time `unix_secs`, which must be at least the store's
    /// `min_ttl` (default 60) seconds in the future. `None` leaves it unset.
    pub fn expiration(mut self, unix_secs: impl Into<Option<u64>>) -> Self {
        self.at = unix_secs.into().or(self.at);
        self
    }

    /// Attaches metadata: any value that serializes to JSON of at most 1024 bytes.
    /// JSON `null` means no metadata. A put without metadata removes earlier metadata.
    pub fn metadata(mut self, metadata: impl Serialize) -> Self {
        self.metadata = Some(
            serde_json::to_vec(&metadata)
                .map(Bytes::from)
                .map_err(Error::Json),
        );
        self
    }

    /// Writes only if the key's current version is `version` (a version from another
    /// key never matches); otherwise the write is refused with a conflict.
    pub fn if_version(mut self, version: Version) -> Self {
        self.condition = Condition::Version(version);
        self
    }

    /// Writes only if the key does not exist (an expired key counts as absent);
    /// otherwise the write is refused with a conflict.
    pub fn if_absent(mut self) -> Self {
        self.condition = Condition::Absent;
        self
    }

    /// The key this item writes.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Checks everything that can be checked before reading the value's stream, and
    /// limits the stream to the store's `max_value_size`.
    pub(crate) fn validate(self, store: &KvStore) -> Result<NewRecord> {
        let Self {
            key,
            value,
            ttl,
            at,
            metadata,
            condition,
        } = self;
        validate_key(&key)?;
        let max = store.config().max_value_size;
        let payload = match value.into_payload()? {
            Payload::Bytes(bytes) => {
                store.check_value_size(bytes.len() as u64)?;
                Payload::Bytes(bytes)
            }
            Payload::Stream(stream) => Payload::Stream(limit(stream, max)),
        };
        let metadata = metadata.transpose()?.filter(|m| m.as_ref() != b"null");
        if let Some(m) = metadata.as_ref().filter(|m| m.len() > MAX_METADATA_BYTES) {
            return Err(Error::MetadataTooLarge {
                size: m.len(),
                max: MAX_METADATA_BYTES,
            });
        }
        let expiration = match (ttl, at) {
            (Some(ttl), _) => Some(Expiration::Ttl(ttl)),
            (None, Some(at)) => Some(Expiration::At(at)),
            (None, None) => None,
        };
        let expiration = expiration
            .map(|e| e.resolve(store.now(), store.config().min_ttl))
            .transpose()?;
        Ok(NewRecord::new(key, payload)
            .with_expiration(expiration)
            .with_metadata(metadata)
            .with_condition(condition))
    }
}

impl<K: Into<String>, V: Into<Value>> From<(K, V)> for BulkPut {
    fn from((key, value): (K, V)) -> Self {
        Self::new(key, value)
    }
}

/// Fails a stream with Workers KV's size error as soon as it passes `max` bytes.
fn limit(stream: ByteStream, max: u64) -> ByteStream {
    let mut size = 0u64;
    stream
        .map(move |chunk| {
            let chunk = chunk?;
            size = size.saturating_add(chunk.len() as u64);
            if size > max {
                return Err(Error::ValueTooLarge { size, max });
            }
            Ok(chunk)
        })
        .boxed()
}

/// A put being described; it runs when awaited and returns the record's new
/// [`Version`]. From [`KvStore::put`].
///
/// # Errors
///
/// Awaiting it checks everything before writing anything, so a failed put leaves the
/// key as it was:
/// - [`Error::EmptyKey`], [`Error::KeyTooLong`], [`Error::ReservedKey`]: the key;
/// - [`Error::ValueTooLarge`]: the value is over the store's `max_value_size` (for a
///   streamed [`Body`](crate::Body), as soon as the stream passes it);
/// - [`Error::MetadataTooLarge`]: metadata serializes to more than 1024 bytes;
/// - [`Error::ExpirationTtlTooShort`], [`Error::ExpirationTooSoon`],
///   [`Error::ExpirationOverflow`]: the expiration;
/// - [`Error::Json`]: a [`Json`](crate::Json) value or the metadata failed to serialize;
/// - [`Error::Stream`]: a streamed body's source failed;
/// - [`Error::Conflict`]: an `if_version` or `if_absent` condition did not hold
///   ([`Error::is_conflict`]); the message names the current version;
/// - [`Error::Backend`]: storage failed.
#[must_use = "a PutRequest does nothing until it is awaited"]
#[derive(Debug)]
pub struct PutRequest {
    store: KvStore,
    item: BulkPut,
}

impl PutRequest {
    pub(crate) fn new(store: KvStore, item: BulkPut) -> Self {
        Self { store, item }
    }

    /// Expires the key `secs` seconds from now. At least the store's `min_ttl`
    /// (default 60). Given together with [`expiration`](Self::expiration), the TTL wins.
    /// `None` leaves it unset (convenient for optional parameters).
    pub fn expiration_ttl(mut self, secs: impl Into<Option<u64>>) -> Self {
        self.item = self.item.expiration_ttl(secs);
        self
    }

    /// Expires the key at Unix time `unix_secs`, which must be at least the store's
    /// `min_ttl` (default 60) seconds in the future. `None` leaves it unset.
    pub fn expiration(mut self, unix_secs: impl Into<Option<u64>>) -> Self {
        self.item = self.item.expiration(unix_secs);
        self
    }

    /// Attaches metadata: any value that serializes to JSON of at most 1024 bytes.
    /// JSON `null` (and `None`) means no metadata. A put without metadata removes
    /// earlier metadata.
    pub fn metadata(mut self, metadata: impl Serialize) -> Self {
        self.item = self.item.metadata(metadata);
        self
    }

    /// Makes the put conditional: `Some(v)` as [`if_version`](Self::if_version), `None`
    /// unconditional (convenient for an optional `If-Match`).
    pub fn if_version_opt(self, version: Option<Version>) -> Self {
        match version {
            Some(version) => self.if_version(version),
            None => self,
        }
    }

    /// Writes only if the key's current version is `version` — a compare-and-set.
    /// A version from another key never matches. Refused: [`Error::Conflict`], and
    /// nothing is written.
    pub fn if_version(mut self, version: Version) -> Self {
        self.item = self.item.if_version(version);
        self
    }

    /// Writes only if the key does not exist (an expired key counts as absent) — a
    /// lock or a create-once. Refused: [`Error::Conflict`], and nothing is written.
    pub fn if_absent(mut self) -> Self {
        self.item = self.item.if_absent();
        self
    }
}

impl IntoFuture for PutRequest {
    type Output = Result<Version>;
    type IntoFuture = BoxFuture<'static, Result<Version>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let record = self.item.validate(&self.store)?;
            self.store.write(record).await
        })
    }
}
