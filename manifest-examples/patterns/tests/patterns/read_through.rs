//! `ReadThroughCache`: fresh hits, stale-while-revalidate, misses, failing loaders.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use patterns::{Error, LookupStatus, ReadThroughCache};
use serde_json::json;
use tokio::sync::Notify;

use crate::{T0, env_at_t0};

const TTL: Duration = Duration::from_secs(300);
const STALE: Duration = Duration::from_secs(3600);

/// A loader that counts its calls and answers `value`.
fn counting(
    calls: &Arc<AtomicUsize>,
    value: &str,
) -> impl FnOnce() -> std::future::Ready<Result<String, io::Error>> + Send + 'static {
    let calls = Arc::clone(calls);
    let value = value.to_owned();
    move || {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(value))
    }
}

fn failing() -> impl FnOnce() -> std::future::Ready<Result<String, io::Error>> + Send + 'static {
    || std::future::ready(Err(io::Error::other("origin is down")))
}

#[tokio::test]
async fn miss_loads_and_stores_with_cached_at_and_expiration() {
    let (env, clock) = env_at_t0().await;
    let cache = ReadThroughCache::new(env.CACHE.clone()).with_clock(clock.clone());
    let calls = Arc::new(AtomicUsize::new(0));

    let lookup = cache
        .get_or_load("api:users", TTL, STALE, counting(&calls, "v1"))
        .await
        .unwrap();
    assert_eq!(lookup.status, LookupStatus::Loaded);
    assert_eq!(lookup.value, "v1");
    assert!(lookup.refresh.is_none());
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let stored = env
        .CACHE
        .get_with_metadata("api:users")
        .text()
        .await
        .unwrap();
    assert_eq!(stored.value.as_deref(), Some("\"v1\""));
    assert_eq!(stored.metadata, Some(json!({ "cached_at": T0 })));
    let page = env.CACHE.list().await.unwrap();
    assert_eq!(page.keys[0].expiration, Some(T0 + 300 + 3600));
}

#[tokio::test]
async fn fresh_hit_does_not_call_the_loader() {
    let (env, clock) = env_at_t0().await;
    let cache = ReadThroughCache::new(env.CACHE.clone()).with_clock(clock.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    cache
        .get_or_load("k", TTL, STALE, counting(&calls, "v1"))
        .await
        .unwrap();

    // Fresh up to, not including, `ttl` seconds after caching.
    clock.advance(TTL - Duration::from_secs(1));
    let lookup = cache
        .get_or_load("k", TTL, STALE, counting(&calls, "v2"))
        .await
        .unwrap();
    assert_eq!(lookup.status, LookupStatus::Fresh);
    assert_eq!(lookup.value, "v1");
    assert!(lookup.refresh.is_none());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn stale_hit_serves_the_old_value_and_refreshes_exactly_once() {
    let (env, clock) = env_at_t0().await;
    let cache = ReadThroughCache::new(env.CACHE.clone()).with_clock(clock.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    cache
        .get_or_load("k", TTL, STALE, counting(&calls, "v1"))
        .await
        .unwrap();
    clock.advance(TTL);

    // The refresh's loader waits for a go-ahead, so lookups meanwhile see it in flight.
    let go = Arc::new(Notify::new());
    let gated = |go: &Arc<Notify>| {
        let (calls, go) = (Arc::clone(&calls), Arc::clone(go));
        move || async move {
            calls.fetch_add(1, Ordering::SeqCst);
            go.notified().await;
            Ok::<_, io::Error>("v2".to_owned())
        }
    };
    let first = cache
        .get_or_load("k", TTL, STALE, gated(&go))
        .await
        .unwrap();
    assert_eq!(first.status, LookupStatus::Stale);
    assert_eq!(first.value, "v1");
    let refresh = first
        .refresh
        .expect("the first stale lookup starts a refresh");
    assert_eq!(refresh.key(), "k");
    assert!(cache.is_refreshing("k"));

    // A clone shares the bookkeeping: no second refresh while one is in flight.
    let clone = cache.clone();
    for _ in 0..3 {
        let again = clone
            .get_or_load("k", TTL, STALE, gated(&go))
            .await
            .unwrap();
        assert_eq!(again.status, LookupStatus::Stale);
        assert_eq!(again.value, "v1");
        assert!(again.refresh.is_none());
    }

    go.notify_one();
    refresh.finished().await.unwrap();
    assert!(!cache.is_refreshing("k"));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one initial load, one refresh"
    );

    let after = cache
        .get_or_load("k", TTL, STALE, counting(&calls, "v3"))
        .await
        .unwrap();
    assert_eq!(after.status, LookupStatus::Fresh);
    assert_eq!(after.value, "v2");
    let stored = env.CACHE.get_with_metadata("k").text().await.unwrap();
    assert_eq!(stored.metadata, Some(json!({ "cached_at": T0 + 300 })));
}

#[tokio::test]
async fn too_old_to_serve_stale_is_a_miss_even_if_the_store_still_has_it() {
    let (env, clock) = env_at_t0().await;
    let cache = ReadThroughCache::new(env.CACHE.clone()).with_clock(clock.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let (ttl, stale) = (Duration::from_secs(10), Duration::from_secs(20));
    cache
        .get_or_load("k", ttl, stale, counting(&calls, "v1"))
        .await
        .unwrap();
    // ttl + stale is under the store's 60 s floor: the entry is kept for 60 s...
    let page = env.CACHE.list().await.unwrap();
    assert_eq!(page.keys[0].expiration, Some(T0 + 60));

    // ...but never served once older than ttl + stale.
    clock.advance(ttl + stale);
    assert!(env.CACHE.get("k").text().await.unwrap().is_some());
    let lookup = cache
        .get_or_load("k", ttl, stale, counting(&calls, "v2"))
        .await
        .unwrap();
    assert_eq!(lookup.status, LookupStatus::Loaded);
    assert_eq!(lookup.value, "v2");
}

#[tokio::test]
async fn loader_error_on_a_miss_is_returned_and_nothing_is_cached() {
    let (env, clock) = env_at_t0().await;
    let cache = ReadThroughCache::new(env.CACHE.clone()).with_clock(clock.clone());

    let err = cache
        .get_or_load("k", TTL, STALE, failing())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Load { key, .. } if key == "k"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "loading \"k\" failed: origin is down");
    assert_eq!(env.CACHE.get("k").text().await.unwrap(), None);

    let calls = Arc::new(AtomicUsize::new(0));
    let lookup = cache
        .get_or_load("k", TTL, STALE, counting(&calls, "v1"))
        .await
        .unwrap();
    assert_eq!(lookup.status, LookupStatus::Loaded);
    assert_eq!(lookup.value, "v1");
}

#[tokio::test]
async fn failed_refresh_keeps_the_stale_value_and_the_next_lookup_retries() {
    let (env, clock) = env_at_t0().await;
    let cache = ReadThroughCache::new(env.CACHE.clone()).with_clock(clock.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    cache
        .get_or_load("k", TTL, STALE, counting(&calls, "v1"))
        .await
        .unwrap();
    clock.advance(TTL + Duration::from_secs(1));

    let first = cache.get_or_load("k", TTL, STALE, failing()).await.unwrap();
    assert_eq!(
        (first.status, first.value.as_str()),
        (LookupStatus::Stale, "v1")
    );
    let err = first.refresh.unwrap().finished().await.unwrap_err();
    assert!(matches!(err, Error::Load { .. }), "{err:?}");
    assert!(
        !cache.is_refreshing("k"),
        "a failed refresh must not poison the key"
    );

    let second = cache
        .get_or_load("k", TTL, STALE, counting(&calls, "v2"))
        .await
        .unwrap();
    assert_eq!(
        (second.status, second.value.as_str()),
        (LookupStatus::Stale, "v1")
    );
    second
        .refresh
        .expect("a new refresh")
        .finished()
        .await
        .unwrap();
    let third = cache
        .get_or_load("k", TTL, STALE, counting(&calls, "v3"))
        .await
        .unwrap();
    assert_eq!(
        (third.status, third.value.as_str()),
        (LookupStatus::Fresh, "v2")
    );
}

#[tokio::test]
async fn panicking_refresh_is_an_error_and_does_not_poison_the_key() {
    let (env, clock) = env_at_t0().await;
    let cache = ReadThroughCache::new(env.CACHE.clone()).with_clock(clock.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    cache
        .get_or_load("k", TTL, STALE, counting(&calls, "v1"))
        .await
        .unwrap();
    clock.advance(TTL);

    async fn buggy_loader() -> Result<String, io::Error> {
        panic!("loader bug (expected by this test)")
    }
    let lookup = cache
        .get_or_load("k", TTL, STALE, buggy_loader)
        .await
        .unwrap();
    assert_eq!(lookup.value, "v1");
    let err = lookup.refresh.unwrap().finished().await.unwrap_err();
    assert!(matches!(err, Error::Load { .. }), "{err:?}");
    assert!(!cache.is_refreshing("k"));
}

#[tokio::test]
async fn undecodable_or_unstamped_values_are_misses() {
    let (env, clock) = env_at_t0().await;
    let cache = ReadThroughCache::new(env.CACHE.clone()).with_clock(clock.clone());
    let calls = Arc::new(AtomicUsize::new(0));

    // Not JSON of the requested type.
    env.CACHE
        .put("a", "not json")
        .metadata(json!({ "cached_at": T0 }))
        .await
        .unwrap();
    // Written by someone else, without the cached_at stamp.
    env.CACHE.put("b", "\"b\"").await.unwrap();

    for key in ["a", "b"] {
        let lookup = cache
            .get_or_load(key, TTL, STALE, counting(&calls, "loaded"))
            .await
            .unwrap();
        assert_eq!(lookup.status, LookupStatus::Loaded, "{key}");
        assert_eq!(lookup.value, "loaded");
    }
}

#[tokio::test]
async fn invalidate_forces_a_load() {
    let (env, clock) = env_at_t0().await;
    let cache = ReadThroughCache::new(env.CACHE.clone()).with_clock(clock.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    cache
        .get_or_load("k", TTL, STALE, counting(&calls, "v1"))
        .await
        .unwrap();
    cache.invalidate("k").await.unwrap();
    let lookup = cache
        .get_or_load("k", TTL, STALE, counting(&calls, "v2"))
        .await
        .unwrap();
    assert_eq!(
        (lookup.status, lookup.value.as_str()),
        (LookupStatus::Loaded, "v2")
    );
}

#[test]
fn outside_a_tokio_runtime_a_stale_value_is_reloaded_in_line() {
    let (env, clock) = block_on(env_at_t0());
    let cache = ReadThroughCache::new(env.CACHE.clone()).with_clock(clock.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    block_on(cache.get_or_load("k", TTL, STALE, counting(&calls, "v1"))).unwrap();
    clock.advance(TTL);
    let lookup = block_on(cache.get_or_load("k", TTL, STALE, counting(&calls, "v2"))).unwrap();
    assert_eq!(
        (lookup.status, lookup.value.as_str()),
        (LookupStatus::Loaded, "v2")
    );
}

/// Runs a future to completion on this thread, without tokio: the smallest executor.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}
