//! Behaviour of every pattern, against in-memory runtimes driven by a `ManualClock`.
//!
//! One test binary (modules per pattern, as kv-runtime's conformance suite does), so
//! the workspace links one executable instead of five.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config_manager;
mod env;
mod feature_flags;
mod rate_limiter;
mod read_through;

use kv_runtime::{Config, ManualClock, Runtime};
use patterns::Env;

/// A Unix time that is a multiple of 60, so that windows of 10 and 60 s start here.
pub(crate) const T0: u64 = 1_700_000_040;

/// An in-memory runtime on a manual clock at [`T0`], and the application's `Env` on it.
pub(crate) async fn env_at_t0() -> (Env, ManualClock) {
    env_with_config(Config::default()).await
}

/// As [`env_at_t0`], with `config`'s store settings (backends forced to memory).
pub(crate) async fn env_with_config(config: Config) -> (Env, ManualClock) {
    let clock = ManualClock::new(T0);
    let runtime = Runtime::builder()
        .config(config)
        .in_memory()
        .clock(clock.clone())
        .open()
        .await
        .unwrap();
    (Env::open(&runtime).unwrap(), clock)
}

/// Every pattern fits in axum state and spawned tasks: handles are `Clone + Send + Sync +
/// 'static`, and the futures they return are `Send`.
#[test]
fn handles_and_futures_are_send() {
    use std::time::Duration;

    use patterns::{ConfigManager, FeatureFlags, RateLimiter, ReadThroughCache};

    fn handle<T: Clone + Send + Sync + 'static>(_: &T) {}
    fn send<F: std::future::Future + Send>(_: F) {}

    let env = Env::in_memory();
    let cache = ReadThroughCache::new(env.CACHE.clone());
    let flags = FeatureFlags::new(env.FLAGS.clone());
    let limiter = RateLimiter::new(env.RATE_LIMITS.clone(), 1, Duration::from_secs(60)).unwrap();
    let config = ConfigManager::<serde_json::Value>::new(env.CONFIG.clone());
    handle(&cache);
    handle(&flags);
    handle(&limiter);
    handle(&config);

    let second = Duration::from_secs(1);
    send(cache.get_or_load("k", second, second, || async { Ok::<_, std::io::Error>(1) }));
    send(flags.is_enabled("f", "u"));
    send(flags.names());
    send(limiter.check("id"));
    send(config.get());
    send(config.update(|_| {}));
    send(config.replace(0, serde_json::Value::Null));
}
