//! [`DeleteRequest`]: removing a key, unconditionally or if its version still matches.

use std::future::IntoFuture;

use futures_util::future::BoxFuture;

use crate::backend::Condition;
use crate::error::Result;
use crate::key::validate_key;
use crate::store::KvStore;
use crate::version::Version;

/// A delete being described; it runs when awaited. From [`KvStore::delete`].
///
/// Deleting a key that does not exist succeeds, as in Workers KV — unless the delete
/// is conditional: `.if_version(v)` removes the key only if its current version is
/// `v`, and is refused with a conflict otherwise (also when the key is gone).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kv_runtime::Result<()> {
/// use kv_runtime::KvStore;
///
/// let locks = KvStore::in_memory("locks");
/// let mine = locks.put("lock:job-7", "me").if_absent().await?;
/// locks.put("lock:job-7", "someone else").await?;    // the lock changed hands
/// let err = locks.delete("lock:job-7").if_version(mine).await.unwrap_err();
/// assert!(err.is_conflict());                          // so we do not release theirs
/// locks.delete("lock:job-7").await?;                   // unconditional: always succeeds
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::EmptyKey`](crate::Error::EmptyKey), [`Error::KeyTooLong`](crate::Error::KeyTooLong)
/// or [`Error::ReservedKey`](crate::Error::ReservedKey) for an invalid key;
/// [`Error::Conflict`](crate::Error::Conflict) when an `if_version` does not hold
/// (nothing is removed); [`Error::Backend`](crate::Error::Backend) if storage fails.
#[must_use = "a DeleteRequest does nothing until it is awaited"]
#[derive(Debug)]
pub struct DeleteRequest {
    store: KvStore,
    key: String,
    condition: Condition,
}

impl DeleteRequest {
    pub(crate) fn new(store: KvStore, key: String) -> Self {
        Self {
            store,
            key,
            condition: Condition::Always,
        }
    }

    /// Removes the key only if its current version is `version`.
    pub fn if_version(mut self, version: Version) -> Self {
        self.condition = Condition::Version(version);
        self
    }
}

impl IntoFuture for DeleteRequest {
    type Output = Result<()>;
    type IntoFuture = BoxFuture<'static, Result<()>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            validate_key(&self.key)?;
            self.store
                .remove(&self.key, self.condition)
                .await
                .map(|_| ())
        })
    }
}
