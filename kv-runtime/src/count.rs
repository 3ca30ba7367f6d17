//! [`CountRequest`]: how many live keys a store, or a prefix of it, holds.

use std::future::IntoFuture;

use futures_util::future::BoxFuture;

use crate::error::Result;
use crate::store::KvStore;

/// A count being described; it runs when awaited. From [`KvStore::count`].
///
/// Counts the keys live now (expired keys not yet purged do not count), in bounded
/// memory. The cost depends on the backend: fjall, memory and PostgreSQL scan the
/// prefix's keys (PostgreSQL inside the database, on an index); Redis counts its
/// sorted index with `ZLEXCOUNT` and subtracts what has expired but is not yet purged.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kv_runtime::Result<()> {
/// use kv_runtime::KvStore;
///
/// let store = KvStore::in_memory("sessions");
/// store.put_many([("session:a", "1"), ("session:b", "2"), ("user:1", "3")]).await?;
/// assert_eq!(store.count().prefix("session:").await?, 2);
/// assert_eq!(store.count().await?, 3);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::Backend`](crate::Error::Backend) if storage fails.
#[must_use = "a CountRequest does nothing until it is awaited"]
#[derive(Debug)]
pub struct CountRequest {
    store: KvStore,
    prefix: String,
}

impl CountRequest {
    pub(crate) fn new(store: KvStore) -> Self {
        Self {
            store,
            prefix: String::new(),
        }
    }

    /// Only keys that start with `prefix` (matched literally). Default: all keys.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

impl IntoFuture for CountRequest {
    type Output = Result<u64>;
    type IntoFuture = BoxFuture<'static, Result<u64>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let now = self.store.now();
            let counted = self.store.backend().count(&self.prefix, now).await;
            self.store.note(crate::stats::Operation::Count, counted)
        })
    }
}
