//! [`ChangeHub`]: fan-out of a store's changes to its watchers, in bounded memory.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

use crate::change::Change;
use crate::error::Result;

/// A stream of changes, as [`Backend::watch`](super::Backend::watch) returns it.
pub type ChangeStream = futures_util::stream::BoxStream<'static, Result<Change>>;

/// How many changes a watcher may have queued before it counts as lagging, by default.
pub const DEFAULT_WATCH_BUFFER: usize = 1024;

/// Delivers a store's changes to every watcher whose prefix matches, each through a
/// queue of its own of bounded length. A watcher whose queue is full misses changes and
/// is told so, with the exact count, by a [`Change::Lagged`] in the place where they
/// went missing. Dropping a watcher's stream unsubscribes it.
///
/// Backends whose writes all happen in this process (fjall, memory, most third-party
/// ones) keep one hub per store and [`publish`](ChangeHub::publish) after each write
/// commits; networked backends publish what their server's notifications say.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use futures_util::StreamExt as _;
/// use kv_runtime::{Change, Version, backend::ChangeHub};
///
/// let hub = ChangeHub::new();
/// let mut rooms = hub.subscribe("room:", 16);
/// hub.publish(Change::put("room:1", Version::from_u64(1), None));
/// hub.publish(Change::put("user:1", Version::from_u64(2), None)); // another prefix
/// let first = rooms.next().await.unwrap().unwrap();
/// assert_eq!(first.key(), Some("room:1"));
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct ChangeHub {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    subscribers: Mutex<Vec<Subscriber>>,
    /// `subscribers.len()`, read without the lock so that a write with no watcher pays
    /// one atomic load.
    count: AtomicUsize,
}

#[derive(Debug)]
struct Subscriber {
    prefix: String,
    tx: mpsc::Sender<Change>,
    state: Arc<Mutex<Missed>>,
}

/// Changes a subscriber missed since the last one it was sent.
#[derive(Debug, Default)]
struct Missed(u64);

/// What a [`Subscriber`]'s queue accepts.
enum Sent {
    Ok,
    Full,
    Closed,
}

fn send(tx: &mpsc::Sender<Change>, change: Change) -> Sent {
    match tx.try_send(change) {
        Ok(()) => Sent::Ok,
        Err(mpsc::error::TrySendError::Full(_)) => Sent::Full,
        Err(mpsc::error::TrySendError::Closed(_)) => Sent::Closed,
    }
}

impl Subscriber {
    /// Queues `change` (after a `Lagged` for what was missed before it); returns `false`
    /// once the watcher is gone.
    fn deliver(&self, change: &Change) -> bool {
        let mut missed = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if missed.0 > 0 {
            match send(&self.tx, Change::lagged(Some(missed.0))) {
                Sent::Ok => missed.0 = 0,
                Sent::Full => {
                    missed.0 += 1;
                    return true;
                }
                Sent::Closed => return false,
            }
        }
        match send(&self.tx, change.clone()) {
            Sent::Ok => true,
            Sent::Full => {
                missed.0 += 1;
                true
            }
            Sent::Closed => false,
        }
    }
}

impl ChangeHub {
    /// A hub without watchers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether anyone is watching: a backend may skip building changes when not.
    pub fn has_watchers(&self) -> bool {
        self.inner.count.load(Ordering::Acquire) > 0
    }

    /// Delivers `change` to every watcher whose prefix its key starts with.
    /// [`Change::Lagged`] goes to every watcher. Never blocks on a slow watcher.
    pub fn publish(&self, change: Change) {
        if !self.has_watchers() {
            return;
        }
        let mut subscribers = self
            .inner
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subscribers.retain(|s| match change.key() {
            Some(key) if !key.starts_with(&s.prefix) => !s.tx.is_closed(),
            _ => s.deliver(&change),
        });
        self.inner.count.store(subscribers.len(), Ordering::Release);
    }

    /// A watcher of the keys under `prefix`, with room for `buffer` queued changes
    /// (at least 1). Sees every change published after this call returns.
    pub fn subscribe(&self, prefix: impl Into<String>, buffer: usize) -> ChangeStream {
        let (tx, rx) = mpsc::channel(buffer.max(1));
        let state = Arc::new(Mutex::new(Missed::default()));
        let mut subscribers = self
            .inner
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subscribers.push(Subscriber {
            prefix: prefix.into(),
            tx,
            state: Arc::clone(&state),
        });
        self.inner.count.store(subscribers.len(), Ordering::Release);
        Box::pin(Watcher { rx, state })
    }
}

/// One watcher's end of its queue.
struct Watcher {
    rx: mpsc::Receiver<Change>,
    state: Arc<Mutex<Missed>>,
}

impl Stream for Watcher {
    type Item = Result<Change>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(change)) => return Poll::Ready(Some(Ok(change))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        // The queue is empty: report changes missed after its last item. Publishers
        // take this lock before sending, so nothing can be queued behind our back
        // between the check below and resetting the count.
        let state = Arc::clone(&self.state);
        let mut missed = state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Ok(change) = self.rx.try_recv() {
            return Poll::Ready(Some(Ok(change)));
        }
        if missed.0 > 0 {
            let count = std::mem::take(&mut missed.0);
            return Poll::Ready(Some(Ok(Change::lagged(Some(count)))));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt as _;

    use super::*;
    use crate::version::Version;

    fn put(key: &str, n: u64) -> Change {
        Change::put(key, Version::from_u64(n), None)
    }

    #[tokio::test]
    async fn lagged_comes_where_changes_went_missing() {
        let hub = ChangeHub::new();
        let mut w = hub.subscribe("", 2);
        for n in 1..=5 {
            hub.publish(put("k", n));
        }
        // 1 and 2 fit; 3, 4, 5 were missed.
        assert_eq!(w.next().await.unwrap().unwrap(), put("k", 1));
        hub.publish(put("k", 6)); // room for one: the Lagged goes first, 6 is missed too
        assert_eq!(w.next().await.unwrap().unwrap(), put("k", 2));
        assert_eq!(w.next().await.unwrap().unwrap(), Change::lagged(Some(3)));
        assert_eq!(
            w.next().await.unwrap().unwrap(),
            Change::lagged(Some(1)),
            "a lag at the end of the queue is reported without waiting for a change"
        );
        hub.publish(put("k", 7));
        assert_eq!(w.next().await.unwrap().unwrap(), put("k", 7));
    }

    #[tokio::test]
    async fn prefixes_filter_and_dropped_watchers_leave() {
        let hub = ChangeHub::new();
        let mut rooms = hub.subscribe("room:", 8);
        let other = hub.subscribe("user:", 8);
        drop(other);
        hub.publish(put("user:1", 1));
        hub.publish(put("room:1", 2));
        assert_eq!(rooms.next().await.unwrap().unwrap(), put("room:1", 2));
        assert!(hub.has_watchers());
        drop(rooms);
        hub.publish(put("room:2", 3));
        assert!(!hub.has_watchers());
    }
}
