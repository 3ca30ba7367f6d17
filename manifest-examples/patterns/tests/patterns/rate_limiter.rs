//! `RateLimiter`: counting, windows on the manual clock, independence, expiry, races.

use std::time::Duration;

use kv_runtime::{Config, StoreConfig};
use patterns::{Error, RateLimiter};

use crate::{T0, env_at_t0, env_with_config};

const WINDOW: Duration = Duration::from_secs(60);

#[tokio::test]
async fn allows_the_limit_then_denies_until_the_window_ends() {
    let (env, clock) = env_at_t0().await;
    let limiter = RateLimiter::new(env.RATE_LIMITS.clone(), 3, WINDOW)
        .unwrap()
        .with_clock(clock.clone());

    let mut remaining = Vec::new();
    for _ in 0..3 {
        let decision = limiter.check("203.0.113.7").await.unwrap();
        assert!(decision.allowed);
        assert_eq!(decision.limit, 3);
        assert_eq!(decision.reset_at, T0 + 60);
        remaining.push(decision.remaining);
    }
    assert_eq!(remaining, [2, 1, 0]);

    clock.advance(Duration::from_secs(59));
    let denied = limiter.check("203.0.113.7").await.unwrap();
    assert!(!denied.allowed);
    assert_eq!((denied.remaining, denied.reset_at), (0, T0 + 60));
    assert_eq!(denied.retry_after(T0 + 59), 1);

    // Denied requests are not counted: the stored count is still the limit.
    let stored: serde_json::Value = env
        .RATE_LIMITS
        .get("rate:203.0.113.7")
        .json()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, serde_json::json!({ "start": T0, "count": 3 }));
}

#[tokio::test]
async fn resets_when_the_window_ends() {
    let (env, clock) = env_at_t0().await;
    let limiter = RateLimiter::new(env.RATE_LIMITS.clone(), 2, WINDOW)
        .unwrap()
        .with_clock(clock.clone());
    // Windows are aligned: a request 30 s into one still resets at its end.
    clock.advance(Duration::from_secs(30));
    for _ in 0..2 {
        assert!(limiter.check("k").await.unwrap().allowed);
    }
    assert!(!limiter.check("k").await.unwrap().allowed);

    clock.advance(Duration::from_secs(30));
    let next = limiter.check("k").await.unwrap();
    assert!(next.allowed);
    assert_eq!((next.remaining, next.reset_at), (1, T0 + 120));
}

#[tokio::test]
async fn identifiers_and_prefixes_are_independent() {
    let (env, clock) = env_at_t0().await;
    let api = RateLimiter::new(env.RATE_LIMITS.clone(), 1, WINDOW)
        .unwrap()
        .with_clock(clock.clone());
    let login = api.clone().prefix("rate:login:");

    assert!(api.check("alice").await.unwrap().allowed);
    assert!(!api.check("alice").await.unwrap().allowed);
    assert!(api.check("bob").await.unwrap().allowed);
    assert!(login.check("alice").await.unwrap().allowed);

    api.reset("alice").await.unwrap();
    assert!(api.check("alice").await.unwrap().allowed);
    assert!(!login.check("alice").await.unwrap().allowed);
}

#[tokio::test]
async fn counters_expire_with_their_window_when_the_store_allows_short_ttls() {
    // kv.toml: [stores.rate-limits] min_ttl = 1
    let mut config = Config::default();
    config
        .stores
        .insert("rate-limits".to_owned(), StoreConfig::default().min_ttl(1));
    let (env, clock) = env_with_config(config).await;
    let limiter = RateLimiter::new(env.RATE_LIMITS.clone(), 5, Duration::from_secs(10))
        .unwrap()
        .with_clock(clock.clone());

    limiter.check("k").await.unwrap();
    let page = env.RATE_LIMITS.list().await.unwrap();
    assert_eq!(page.keys[0].expiration, Some(T0 + 10));
    clock.advance(Duration::from_secs(10));
    assert_eq!(env.RATE_LIMITS.get("rate:k").text().await.unwrap(), None);
}

#[tokio::test]
async fn short_windows_work_under_the_default_60_second_floor() {
    let (env, clock) = env_at_t0().await;
    let limiter = RateLimiter::new(env.RATE_LIMITS.clone(), 1, Duration::from_secs(10))
        .unwrap()
        .with_clock(clock.clone());

    assert!(limiter.check("k").await.unwrap().allowed);
    let page = env.RATE_LIMITS.list().await.unwrap();
    assert_eq!(
        page.keys[0].expiration,
        Some(T0 + 60),
        "kept for the store's min_ttl"
    );
    assert!(!limiter.check("k").await.unwrap().allowed);

    // The leftover counter belongs to an earlier window and is not counted.
    clock.advance(Duration::from_secs(10));
    assert!(
        env.RATE_LIMITS
            .get("rate:k")
            .text()
            .await
            .unwrap()
            .is_some()
    );
    assert!(limiter.check("k").await.unwrap().allowed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_in_one_process_never_exceed_the_limit() {
    let (env, clock) = env_at_t0().await;
    let limiter = RateLimiter::new(env.RATE_LIMITS.clone(), 10, WINDOW)
        .unwrap()
        .with_clock(clock.clone());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.check("hot").await.unwrap().allowed })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        allowed += usize::from(task.await.unwrap());
    }
    assert_eq!(allowed, 10);
}

#[tokio::test]
async fn corrupt_counter_starts_over() {
    let (env, clock) = env_at_t0().await;
    let limiter = RateLimiter::new(env.RATE_LIMITS.clone(), 2, WINDOW)
        .unwrap()
        .with_clock(clock.clone());
    env.RATE_LIMITS.put("rate:k", "garbage").await.unwrap();
    assert_eq!(limiter.check("k").await.unwrap().remaining, 1);
}

#[test]
fn zero_limit_or_window_is_refused() {
    let store = kv_runtime::KvStore::in_memory("rate-limits");
    let err = RateLimiter::new(store.clone(), 0, WINDOW).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    let err = RateLimiter::new(store, 1, Duration::from_millis(999)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid rate limit: the window must be at least one second"
    );
}

#[tokio::test]
async fn identifier_too_long_for_a_key_is_an_error_and_not_counted() {
    let (env, clock) = env_at_t0().await;
    let limiter = RateLimiter::new(env.RATE_LIMITS.clone(), 1, WINDOW)
        .unwrap()
        .with_clock(clock.clone());
    let err = limiter.check(&"x".repeat(512)).await.unwrap_err();
    assert!(
        matches!(err, Error::Store(kv_runtime::Error::KeyTooLong { .. })),
        "{err:?}"
    );
}

/// Limiters that share nothing but the store — as the instances of an application on
/// a shared backend do — still never let more than the limit through: the counter is
/// written with compare-and-set, so a check that loses a race reads again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_limiters_on_one_store_never_exceed_the_limit() {
    let (env, clock) = env_at_t0().await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            // A limiter of its own per task: no in-process lock in common.
            let limiter = RateLimiter::new(env.RATE_LIMITS.clone(), 100, WINDOW)
                .unwrap()
                .with_clock(clock.clone());
            tokio::spawn(async move {
                let mut allowed = 0;
                for _ in 0..50 {
                    allowed += usize::from(limiter.check("hot").await.unwrap().allowed);
                    tokio::task::yield_now().await;
                }
                allowed
            })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        allowed += task.await.unwrap();
    }
    assert_eq!(allowed, 100, "400 checks against a limit of 100");
}
