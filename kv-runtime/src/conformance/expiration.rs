//! Expiration with a manual clock: nothing here sleeps.

use std::time::Duration;

use super::{Harness, T0, Target, assert_error};

/// A key with a TTL is visible until its expiration, which is inclusive.
pub async fn ttl_visible_until_inclusive_expiry<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store
        .put("session:abc", "data")
        .expiration_ttl(60)
        .await
        .unwrap();
    h.advance(59);
    assert_eq!(
        h.store.get("session:abc").text().await.unwrap().as_deref(),
        Some("data")
    );
    h.advance(1);
    assert_eq!(h.store.get("session:abc").text().await.unwrap(), None);
    let got = h
        .store
        .get_with_metadata("session:abc")
        .text()
        .await
        .unwrap();
    assert_eq!((got.value, got.metadata), (None, None));
}

/// Expired keys are not listed.
pub async fn expired_keys_leave_list<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("a", "1").expiration_ttl(60).await.unwrap();
    h.store.put("b", "2").await.unwrap();
    h.advance(60);
    let page = h.store.list().await.unwrap();
    let names: Vec<_> = page.keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["b"]);
    assert!(page.list_complete);
}

/// Listing and reads report the expiration in absolute Unix seconds.
pub async fn list_reports_absolute_expiration<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("ttl", "v").expiration_ttl(3600).await.unwrap();
    h.store.put("at", "v").expiration(T0 + 7200).await.unwrap();
    h.store.put("never", "v").await.unwrap();
    let page = h.store.list().await.unwrap();
    let got: Vec<_> = page
        .keys
        .iter()
        .map(|k| (k.name.as_str(), k.expiration))
        .collect();
    assert_eq!(
        got,
        [
            ("at", Some(T0 + 7200)),
            ("never", None),
            ("ttl", Some(T0 + 3600))
        ]
    );
}

/// A TTL below the store's floor is refused, and nothing is written.
pub async fn ttl_below_floor_rejected<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("k", "old").await.unwrap();
    let before = h.dump().await;
    assert_error(
        h.store.put("k", "new").expiration_ttl(30).await,
        "Invalid expiration_ttl of 30. Expiration TTL must be at least 60.",
    );
    assert_error(
        h.store.put("k", "new").expiration_ttl(0).await,
        "Invalid expiration_ttl of 0. Expiration TTL must be at least 60.",
    );
    assert_eq!(h.dump().await, before);
}

/// An absolute expiration must lie at least the floor ahead of now.
pub async fn absolute_expiration_floor<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store.put("k", "old").await.unwrap();
    let before = h.dump().await;
    let at = T0 + 59;
    assert_error(
        h.store.put("k", "new").expiration(at).await,
        &format!(
            "Invalid expiration of {at}. Expiration times must be at least 60 seconds in the future."
        ),
    );
    assert_error(
        h.store.put("k", "new").expiration(T0 - 1).await,
        &format!(
            "Invalid expiration of {}. Expiration times must be at least 60 seconds in the future.",
            T0 - 1
        ),
    );
    assert_eq!(h.dump().await, before);
    h.store.put("k", "new").expiration(T0 + 60).await.unwrap();
    h.advance(59);
    assert_eq!(
        h.store.get("k").text().await.unwrap().as_deref(),
        Some("new")
    );
    h.advance(1);
    assert_eq!(h.store.get("k").text().await.unwrap(), None);
}

/// Given both, `expiration_ttl` wins over `expiration`.
pub async fn ttl_wins_over_expiration<T: Target>(t: T) {
    let h = Harness::new(t).await;
    h.store
        .put("a", "v")
        .expiration(T0 + 10_000)
        .expiration_ttl(120)
        .await
        .unwrap();
    h.store
        .put("b", "v")
        .expiration_ttl(120)
        .expiration(T0 + 10_000)
        .await
        .unwrap();
    // An absolute time too soon is ignored when a valid TTL is given.
    h.store
        .put("c", "v")
        .expiration(T0)
        .expiration_ttl(120)
        .await
        .unwrap();
    let page = h.store.list().await.unwrap();
    for key in page.keys {
        assert_eq!(key.expiration, Some(T0 + 120), "{}", key.name);
    }
}

/// A store's `min_ttl` lowers the floor, down to one second.
pub async fn configurable_floor_down_to_one<T: Target>(t: T) {
    let h = Harness::with(t, |c| c.min_ttl(1)).await;
    h.store.put("k", "v").expiration_ttl(1).await.unwrap();
    assert_eq!(h.store.get("k").text().await.unwrap().as_deref(), Some("v"));
    h.advance(1);
    assert_eq!(h.store.get("k").text().await.unwrap(), None);
    assert_error(
        h.store.put("k", "v").expiration_ttl(0).await,
        "Invalid expiration_ttl of 0. Expiration TTL must be at least 1.",
    );
}

/// A TTL that overflows the clock is an error, never a panic.
pub async fn overflowing_ttl_is_an_error<T: Target>(t: T) {
    let h = Harness::new(t).await;
    assert_error(
        h.store.put("k", "v").expiration_ttl(u64::MAX).await,
        &format!(
            "Invalid expiration_ttl of {}. Expiration time overflows the clock (now is {T0}).",
            u64::MAX
        ),
    );
    h.store.put("far", "v").expiration(u64::MAX).await.unwrap();
    assert_eq!(
        h.store.list().await.unwrap().keys[0].expiration,
        Some(u64::MAX)
    );
    assert_eq!(h.dump().await.len(), 1);
}

/// The purge removes expired keys physically and keeps keys rewritten since.
pub async fn purge_removes_expired_and_keeps_rewritten<T: Target>(t: T) {
    let h = Harness::new(t).await;
    for i in 0..50 {
        h.store
            .put(format!("ttl:{i:02}"), "v")
            .expiration_ttl(60)
            .await
            .unwrap();
    }
    h.store.put("keep", "v").await.unwrap();
    h.store
        .put("rewritten", "v")
        .expiration_ttl(60)
        .await
        .unwrap();
    h.store.put("rewritten", "v2").await.unwrap();
    assert_eq!(h.store.purge_expired().await.unwrap(), 0);
    h.advance(60);
    assert_eq!(h.store.purge_expired().await.unwrap(), 50);
    assert_eq!(h.store.purge_expired().await.unwrap(), 0);
    let names: Vec<_> = h.dump().await.into_iter().map(|d| d.0).collect();
    assert_eq!(names, ["keep", "rewritten"]);
    // Moving the clock back does not resurrect purged data.
    h.clock.set(T0);
    assert_eq!(h.dump().await.len(), 2);
}

/// The runtime purges expired keys in the background, without being asked.
pub async fn runtime_purges_in_background<T: Target>(t: T) {
    let h = Harness::with_purge_interval(t, Duration::from_millis(20)).await;
    let (store, clock) = (&h.store, &h.clock);
    store.put("k", "v").expiration_ttl(60).await.unwrap();
    clock.advance(Duration::from_secs(60));
    // The background task removes it physically: a later purge finds nothing left.
    // Bounded wait on a real timer, because the purger runs on tokio's clock.
    let mut purged = false;
    for _ in 0..500 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        clock.set(T0); // look behind the expiry: only a physical removal hides it now
        purged = store.get("k").text().await.unwrap().is_none();
        clock.set(T0 + 60);
        if purged {
            break;
        }
    }
    assert!(
        purged,
        "the background purge did not remove the expired key within 5 s"
    );
}
