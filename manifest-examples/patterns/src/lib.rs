//! The Workers KV guide's real-world patterns, as small Rust types over a [`KvStore`]
//! from a manifest's typed [`Env`].
//!
//! `raindrop.manifest` declares four stores, and `import_manifest!` turns them into
//! `Env { CACHE, FLAGS, RATE_LIMITS, CONFIG }` at compile time. Each pattern takes the
//! store it works in:
//!
//! | pattern | type | store | the guide's |
//! | --- | --- | --- | --- |
//! | read-through cache, stale-while-revalidate | [`ReadThroughCache`] | `env.CACHE` | `CacheManager` |
//! | feature flags with percentage rollout | [`FeatureFlags`] | `env.FLAGS` | `FeatureFlagManager` |
//! | fixed-window rate limiter | [`RateLimiter`] | `env.RATE_LIMITS` | `RateLimiter` |
//! | typed, versioned configuration | [`ConfigManager`] | `env.CONFIG` | `ConfigManager` |
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> patterns::Result<()> {
//! use std::time::Duration;
//! use kv_runtime::Runtime;
//! use patterns::{ConfigManager, Env, FeatureFlag, FeatureFlags, RateLimiter, ReadThroughCache};
//!
//! let env = Env::open(&Runtime::in_memory())?;   // or Runtime::open(".kv") for fjall
//!
//! let cache = ReadThroughCache::new(env.CACHE.clone());
//! let flags = FeatureFlags::new(env.FLAGS.clone());
//! let limiter = RateLimiter::new(env.RATE_LIMITS.clone(), 100, Duration::from_secs(60))?;
//! let config = ConfigManager::<serde_json::Value>::new(env.CONFIG.clone());
//!
//! // One request's worth of work.
//! if limiter.check("203.0.113.7").await?.allowed {
//!     flags.set("new-ui", &FeatureFlag::rollout(25)).await?;
//!     let _new_ui = flags.is_enabled("new-ui", "user-42").await?;
//!     let _settings = config.get().await?;
//!     let users = cache
//!         .get_or_load("api:users", Duration::from_secs(300), Duration::from_secs(3600), || async {
//!             Ok::<_, std::io::Error>(vec!["ada".to_owned()])
//!         })
//!         .await?
//!         .into_value();
//!     assert_eq!(users, ["ada"]);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Time
//!
//! Every time-dependent decision (freshness, windows, the config cache) reads a
//! [`kv_runtime::Clock`]: the system clock by default, or the one given to
//! `with_clock`. The runtime does not hand out its clock, so a test gives the same
//! [`ManualClock`](kv_runtime::ManualClock) to both the runtime
//! (`Runtime::builder().clock(..)`) and the pattern, and moves time with `advance`.
//!
//! # Consistency
//!
//! KV is eventually consistent and has no atomic read-modify-write. The rate limiter
//! and the configuration's versions are exact within one process and best effort
//! across processes; their docs say where.

#![doc(test(attr(deny(warnings))))]

mod config_manager;
mod error;
mod feature_flags;
mod rate_limiter;
mod read_through;

pub use kv_runtime::KvStore;

pub use crate::config_manager::{ConfigManager, DEFAULT_CACHE_FOR, DEFAULT_CONFIG_KEY, Snapshot};
pub use crate::error::{Error, Result};
pub use crate::feature_flags::{
    FLAG_PREFIX, FeatureFlag, FeatureFlags, ROLLOUT_BUCKETS, rollout_bucket,
};
pub use crate::rate_limiter::{DEFAULT_RATE_PREFIX, Decision, RateLimiter};
pub use crate::read_through::{Lookup, LookupStatus, ReadThroughCache, Refresh};

kv_runtime::import_manifest!("raindrop.manifest");

/// This crate's README, whose Rust example runs as a doctest so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
