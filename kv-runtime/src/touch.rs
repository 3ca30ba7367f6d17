//! [`Touch`] and [`TouchRequest`]: changing only a key's expiration.

use std::future::IntoFuture;

use futures_util::future::BoxFuture;

use crate::error::Result;
use crate::expiration::Expiration;
use crate::key::validate_key;
use crate::store::KvStore;

/// A touch waiting for its new expiration: pick one with
/// [`expiration_ttl`](Touch::expiration_ttl), [`expiration`](Touch::expiration) or
/// [`persist`](Touch::persist). From [`KvStore::touch`].
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kv_runtime::Result<()> {
/// use kv_runtime::KvStore;
///
/// let sessions = KvStore::in_memory("sessions");
/// sessions.put("session:abc", "{\"user\":1}").expiration_ttl(3600).await?;
/// // A visit slides the session's expiry without rewriting it.
/// assert!(sessions.touch("session:abc").expiration_ttl(86_400).await?);
/// assert!(sessions.touch("session:abc").persist().await?);          // never expires
/// assert!(!sessions.touch("session:gone").expiration_ttl(60).await?); // not live
/// # Ok(())
/// # }
/// ```
#[must_use = "a Touch does nothing until given an expiration and awaited"]
#[derive(Debug)]
pub struct Touch {
    store: KvStore,
    key: String,
}

impl Touch {
    pub(crate) fn new(store: KvStore, key: String) -> Self {
        Self { store, key }
    }

    fn with(self, expiration: Option<Expiration>) -> TouchRequest {
        TouchRequest {
            store: self.store,
            key: self.key,
            expiration,
        }
    }

    /// Expires the key `secs` seconds from now; at least the store's `min_ttl`, as for
    /// a put.
    pub fn expiration_ttl(self, secs: u64) -> TouchRequest {
        self.with(Some(Expiration::Ttl(secs)))
    }

    /// Expires the key at Unix time `unix_secs`, at least `min_ttl` seconds ahead, as
    /// for a put.
    pub fn expiration(self, unix_secs: u64) -> TouchRequest {
        self.with(Some(Expiration::At(unix_secs)))
    }

    /// Removes the key's expiration: it lives until deleted.
    pub fn persist(self) -> TouchRequest {
        self.with(None)
    }
}

/// A touch being described; awaiting it returns whether the key was live (and so
/// touched). The value and metadata stay as they are; the key gets a new version, as
/// after any write. From [`Touch`].
///
/// # Errors
///
/// The key errors of a put; [`Error::ExpirationTtlTooShort`](crate::Error::ExpirationTtlTooShort),
/// [`Error::ExpirationTooSoon`](crate::Error::ExpirationTooSoon) and
/// [`Error::ExpirationOverflow`](crate::Error::ExpirationOverflow) exactly as for a put
/// (nothing is written); [`Error::Backend`](crate::Error::Backend) if storage fails.
#[must_use = "a TouchRequest does nothing until it is awaited"]
#[derive(Debug)]
pub struct TouchRequest {
    store: KvStore,
    key: String,
    expiration: Option<Expiration>,
}

impl IntoFuture for TouchRequest {
    type Output = Result<bool>;
    type IntoFuture = BoxFuture<'static, Result<bool>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            validate_key(&self.key)?;
            let now = self.store.now();
            let expiration = self
                .expiration
                .map(|e| e.resolve(now, self.store.config().min_ttl))
                .transpose()?;
            let touched = self.store.backend().touch(&self.key, expiration, now).await;
            self.store.invalidate([self.key.as_str()]);
            let touched = self.store.note(crate::stats::Operation::Touch, touched)?;
            Ok(touched.is_some())
        })
    }
}
