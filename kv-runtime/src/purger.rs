//! The background task that physically removes expired keys every interval.
//!
//! Time comes from a small ticker thread rather than tokio's timer, so the purger works
//! on any tokio runtime, including one built without `enable_time`; the purge itself
//! runs as a tokio task. Dropping the [`Purger`] stops both.

use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::Result;

#[derive(Debug, Default)]
struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

/// A running purger. Stops when dropped.
#[derive(Debug)]
pub(crate) struct Purger {
    stop: Arc<Stop>,
    task: tokio::task::AbortHandle,
}

impl Purger {
    /// Runs `job` every `interval` on the current tokio runtime, until `job` returns
    /// `None` (its runtime is gone) or the purger is dropped. Returns `None` outside a
    /// tokio runtime.
    pub(crate) fn start<F, Fut>(interval: Duration, job: F) -> Option<Self>
    where
        F: Fn() -> Option<Fut> + Send + 'static,
        Fut: Future<Output = Result<u64>> + Send,
    {
        let handle = tokio::runtime::Handle::try_current().ok()?;
        let tick = Arc::new(Notify::new());
        let stop = Arc::new(Stop::default());
        let task = handle.spawn({
            let tick = Arc::clone(&tick);
            async move {
                loop {
                    tick.notified().await;
                    let Some(purge) = job() else { return };
                    if let Err(error) = purge.await {
                        tracing::warn!(%error, "purging expired keys failed");
                    }
                }
            }
        });
        let ticker_stop = Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name("kv-purge-ticker".into())
            .spawn(move || {
                let mut stopped = ticker_stop
                    .stopped
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                loop {
                    let (guard, _) = ticker_stop
                        .wake
                        .wait_timeout_while(stopped, interval, |stopped| !*stopped)
                        .unwrap_or_else(PoisonError::into_inner);
                    stopped = guard;
                    if *stopped {
                        return;
                    }
                    tick.notify_one();
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot start the purge ticker; expired keys are removed only on demand");
            task.abort();
            return None;
        }
        Some(Self {
            stop,
            task: task.abort_handle(),
        })
    }
}

impl Drop for Purger {
    fn drop(&mut self) {
        *self
            .stop
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.stop.wake.notify_all();
        self.task.abort();
    }
}
