//! Time as the runtime sees it: the system clock, or a manual one that tests drive.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time in whole Unix seconds.
///
/// Every expiration decision in the runtime asks the runtime's clock, so a test that
/// installs a [`ManualClock`] controls expiry without sleeping.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Seconds since the Unix epoch.
    fn now_secs(&self) -> u64;
}

/// The operating system's wall clock. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_secs(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that only moves when told to. Clones share the same time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use kv_runtime::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_700_000_000);
/// let handle = clock.clone();
/// handle.advance(Duration::from_secs(61));
/// assert_eq!(clock.now_secs(), 1_700_000_061);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock that reads `unix_secs` until it is advanced or set.
    pub fn new(unix_secs: u64) -> Self {
        Self {
            now: Arc::new(AtomicU64::new(unix_secs)),
        }
    }

    /// Moves the clock forward by `by`, rounded down to whole seconds. Saturates at `u64::MAX`.
    pub fn advance(&self, by: Duration) {
        let secs = by.as_secs();
        let _ = self
            .now
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(secs))
            });
    }

    /// Sets the clock to `unix_secs`, forwards or backwards.
    pub fn set(&self, unix_secs: u64) {
        self.now.store(unix_secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_secs(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

pub(crate) type SharedClock = Arc<dyn Clock>;
