//! [`PutRequest`]: writing a value with its expiration and metadata.

use std::future::IntoFuture;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::backend::Record;
use crate::error::{Error, Result};
use crate::expiration::Expiration;
use crate::key::validate_key;
use crate::limits::MAX_METADATA_BYTES;
use crate::store::KvStore;
use crate::value::Value;

/// A put being described; it runs when awaited. From [`KvStore::put`].
///
/// # Errors
///
/// Awaiting it checks everything before writing anything, so a failed put leaves the
/// key as it was:
/// - [`Error::EmptyKey`], [`Error::KeyTooLong`], [`Error::ReservedKey`]: the key;
/// - [`Error::ValueTooLarge`]: the value is over the store's `max_value_size`;
/// - [`Error::MetadataTooLarge`]: metadata serializes to more than 1024 bytes;
/// - [`Error::ExpirationTtlTooShort`], [`Error::ExpirationTooSoon`],
///   [`Error::ExpirationOverflow`]: the expiration;
/// - [`Error::Json`]: a [`Json`](crate::Json) value or the metadata failed to serialize;
/// - [`Error::Backend`]: storage failed.
#[must_use = "a PutRequest does nothing until it is awaited"]
#[derive(Debug)]
pub struct PutRequest {
    store: KvStore,
    key: String,
    value: Value,
    ttl: Option<u64>,
    at: Option<u64>,
    metadata: Option<Result<Bytes>>,
}

impl PutRequest {
    pub(crate) fn new(store: KvStore, key: String, value: Value) -> Self {
        Self {
            store,
            key,
            value,
            ttl: None,
            at: None,
            metadata: None,
        }
    }

    /// Expires the key `secs` seconds from now. At least the store's `min_ttl`
    /// (default 60). Given together with [`expiration`](Self::expiration), the TTL wins.
    pub fn expiration_ttl(mut self, secs: u64) -> Self {
        self.ttl = Some(secs);
        self
    }

    /// Expires the key at Unix time `unix_secs`, which must be at least the store's
    /// `min_ttl` (default 60) seconds in the future.
    pub fn expiration(mut self, unix_secs: u64) -> Self {
        self.at = Some(unix_secs);
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

    async fn run(self) -> Result<()> {
        let Self {
            store,
            key,
            value,
            ttl,
            at,
            metadata,
        } = self;
        validate_key(&key)?;
        let value = value.into_bytes()?;
        store.check_value_size(&value)?;
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
        store
            .write(
                key,
                Record {
                    value,
                    expiration,
                    metadata,
                },
            )
            .await
    }
}

impl IntoFuture for PutRequest {
    type Output = Result<()>;
    type IntoFuture = BoxFuture<'static, Result<()>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
