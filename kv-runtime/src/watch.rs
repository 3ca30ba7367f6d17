//! [`WatchRequest`] and [`WatchStream`]: following a store's changes as they happen.

use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::future::BoxFuture;

use crate::backend::{ChangeStream, DEFAULT_WATCH_BUFFER};
use crate::change::Change;
use crate::error::Result;
use crate::store::KvStore;

/// A watch being described; awaiting it subscribes and returns the stream. From
/// [`KvStore::watch`].
///
/// The stream carries every change made after the subscription, to keys under the
/// prefix: by this process on every backend, and by every process on Redis and
/// PostgreSQL. A watcher that reads too slowly gets [`Change::Lagged`] where changes
/// went missing, never a silent gap; memory per watcher is bounded by its buffer.
/// Dropping the stream unsubscribes.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kv_runtime::Result<()> {
/// use futures_util::StreamExt as _;
/// use kv_runtime::{Change, KvStore};
///
/// let rooms = KvStore::in_memory("rooms");
/// let mut changes = rooms.watch().prefix("room:1:").await?;
/// rooms.put("room:2:msg", "elsewhere").await?;
/// let version = rooms.put("room:1:msg", "hello").await?;
/// match changes.next().await.transpose()? {
///     Some(Change::Put { key, version: v, .. }) => {
///         assert_eq!((key.as_str(), v), ("room:1:msg", version));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::Backend`](crate::Error::Backend) if the subscription cannot be made (a
/// shared backend that is unreachable).
#[must_use = "a WatchRequest does nothing until it is awaited"]
#[derive(Debug)]
pub struct WatchRequest {
    store: KvStore,
    prefix: String,
    buffer: usize,
}

impl WatchRequest {
    pub(crate) fn new(store: KvStore) -> Self {
        Self {
            store,
            prefix: String::new(),
            buffer: DEFAULT_WATCH_BUFFER,
        }
    }

    /// Only changes to keys that start with `prefix`. Default: every key.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How many changes may wait unread before the watcher counts as lagging (at least
    /// 1). Default: 1024.
    pub fn buffer(mut self, changes: usize) -> Self {
        self.buffer = changes.max(1);
        self
    }
}

impl IntoFuture for WatchRequest {
    type Output = Result<WatchStream>;
    type IntoFuture = BoxFuture<'static, Result<WatchStream>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let inner = self.store.backend().watch(&self.prefix, self.buffer).await;
            let inner = self.store.note(crate::stats::Operation::Watch, inner)?;
            Ok(WatchStream { inner })
        })
    }
}

/// The changes a watch sees; from awaiting a [`WatchRequest`]. Ends only if the
/// store's backend goes away.
pub struct WatchStream {
    inner: ChangeStream,
}

impl std::fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchStream").finish_non_exhaustive()
    }
}

impl Stream for WatchStream {
    type Item = Result<Change>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}
