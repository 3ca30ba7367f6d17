//! [`RateLimiter`]: a fixed-window request counter per identifier.
//!
//! The guide's `RateLimiter` keeps a log of request times per identifier and filters it
//! on every call (a sliding log: one value that grows with the limit). This one keeps a
//! counter per fixed window, `{"start": secs, "count": n}`, which stays a few bytes
//! whatever the limit.

use std::sync::Arc;
use std::time::Duration;

use kv_runtime::{Clock, Json, KvStore, SystemClock};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How many times a check retries after losing a race for its counter: each loss
/// means another check was counted, so this many losses in a row is a storm.
const MAX_ATTEMPTS: u32 = 64;

/// The key prefix of counters, unless [`RateLimiter::prefix`] says otherwise.
pub const DEFAULT_RATE_PREFIX: &str = "rate:";

/// The answer to one [`RateLimiter::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// Whether the request may go ahead. A denied request is not counted.
    pub allowed: bool,
    /// The most requests a window allows.
    pub limit: u32,
    /// Requests left in the current window after this one (`X-RateLimit-Remaining`).
    pub remaining: u32,
    /// When the current window ends and the count starts again, in Unix seconds
    /// (`X-RateLimit-Reset`).
    pub reset_at: u64,
}

impl Decision {
    /// Seconds from `now` (Unix seconds) until the window resets: a `Retry-After`
    /// value for a denied request.
    pub fn retry_after(&self, now: u64) -> u64 {
        self.reset_at.saturating_sub(now)
    }
}

/// The stored counter of one identifier.
#[derive(Debug, Serialize, Deserialize)]
struct Window {
    /// Start of the window counted, in Unix seconds (a multiple of the window length).
    start: u64,
    /// Requests allowed in it so far.
    count: u32,
}

/// A fixed-window rate limiter over a [`KvStore`]: at most `limit` requests per
/// identifier (an IP address, an API key, a user id) in each window of `window`.
///
/// Windows are aligned to multiples of their length since the Unix epoch, so all
/// identifiers reset together, at [`Decision::reset_at`]. The counter of `id` lives
/// under `rate:<id>` and expires `window` after its last write, or after the store's
/// `min_ttl` if that is longer (default 60 s; lower it in the store's configuration,
/// e.g. `min_ttl = 1` under `[stores.rate-limits]` in `kv.toml`, so that counters of
/// short windows leave the store as soon as they are over). A counter left over from
/// an earlier window is never counted, whatever its expiration.
///
/// # Consistency
///
/// Exact, across processes: a check reads the counter with its version and writes the
/// increment back with `if_version` (or `if_absent` for a new window), so two checks
/// that race for the last slot cannot both win — the loser sees a conflict, reads
/// again and is denied. This holds on every backend, including Redis and PostgreSQL
/// shared by many instances of an application. (On Cloudflare's Workers KV itself,
/// which has no compare-and-set, the same code would be a soft limit; this runtime is
/// not.) A denied check writes nothing.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> patterns::Result<()> {
/// use std::time::Duration;
/// use patterns::{Env, RateLimiter};
///
/// let env = Env::in_memory();
/// let limiter = RateLimiter::new(env.RATE_LIMITS.clone(), 2, Duration::from_secs(60))?;
/// assert!(limiter.check("203.0.113.7").await?.allowed);
/// assert!(limiter.check("203.0.113.7").await?.allowed);
/// let third = limiter.check("203.0.113.7").await?;
/// assert!(!third.allowed);
/// assert_eq!(third.remaining, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RateLimiter {
    store: KvStore,
    clock: Arc<dyn Clock>,
    limit: u32,
    window_secs: u64,
    prefix: String,
}

impl RateLimiter {
    /// A limiter of `limit` requests per `window` (whole seconds), counting in `store`
    /// with the system clock.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a limit of 0 or a window under one second.
    pub fn new(store: KvStore, limit: u32, window: Duration) -> Result<Self> {
        let invalid = |reason: &str| Error::Invalid {
            what: "rate limit".to_owned(),
            reason: reason.to_owned(),
        };
        if limit == 0 {
            return Err(invalid("a limit of 0 requests denies everything"));
        }
        let window_secs = window.as_secs();
        if window_secs == 0 {
            return Err(invalid("the window must be at least one second"));
        }
        Ok(Self {
            store,
            clock: Arc::new(SystemClock),
            limit,
            window_secs,
            prefix: DEFAULT_RATE_PREFIX.to_owned(),
        })
    }

    /// Reads time from `clock` instead, e.g. the
    /// [`ManualClock`](kv_runtime::ManualClock) a test gave the runtime.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Keeps counters under `prefix` instead of `rate:`, so that several limiters (say
    /// `rate:login:` and `rate:api:`) can share a store.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The most requests a window allows.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The window's length.
    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window_secs)
    }

    /// Counts a request from `identifier` if the current window has room for it.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if `identifier` makes an invalid key (over 512 bytes with its
    /// prefix), the store fails, or 64 races in a row were lost (a conflict); the
    /// request is then neither allowed nor counted. A stored counter that does not
    /// decode is replaced by a fresh one.
    pub async fn check(&self, identifier: &str) -> Result<Decision> {
        let key = self.key(identifier);
        let mut attempt = 0;
        loop {
            match self.try_check(&key).await {
                Err(Error::Store(e)) if e.is_conflict() && attempt + 1 < MAX_ATTEMPTS => {
                    attempt += 1;
                    tokio::task::yield_now().await;
                }
                done => return done,
            }
        }
    }

    /// One read and conditional write of the counter under `key`.
    async fn try_check(&self, key: &str) -> Result<Decision> {
        let now = self.clock.now_secs();
        let start = now - now % self.window_secs;
        let reset_at = start.saturating_add(self.window_secs);
        let found = self.store.get_with_metadata(key).bytes().await?;
        let count = match &found.value {
            None => 0,
            Some(bytes) => match serde_json::from_slice::<Window>(bytes) {
                Ok(window) if window.start == start => window.count,
                Ok(_) => 0,
                Err(error) => {
                    tracing::warn!(key, %error, "rate-limit counter does not decode; starting over");
                    0
                }
            },
        };
        if count >= self.limit {
            return Ok(Decision {
                allowed: false,
                limit: self.limit,
                remaining: 0,
                reset_at,
            });
        }
        let count = count + 1;
        let ttl = self.window_secs.max(self.store.config().min_ttl);
        let put = self
            .store
            .put(key, Json(Window { start, count }))
            .expiration_ttl(ttl);
        match found.version {
            Some(version) => put.if_version(version).await?,
            None => put.if_absent().await?,
        };
        Ok(Decision {
            allowed: true,
            limit: self.limit,
            remaining: self.limit - count,
            reset_at,
        })
    }

    /// Forgets `identifier`'s count, so its next request starts a fresh window.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if `identifier` makes an invalid key or the store fails.
    pub async fn reset(&self, identifier: &str) -> Result<()> {
        Ok(self.store.delete(self.key(identifier)).await?)
    }

    fn key(&self, identifier: &str) -> String {
        format!("{}{identifier}", self.prefix)
    }
}
