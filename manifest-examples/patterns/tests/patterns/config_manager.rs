//! `ConfigManager`: defaults, validation, the in-process cache, versions.

use std::collections::BTreeMap;
use std::time::Duration;

use patterns::{ConfigManager, Error};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{T0, env_at_t0};

/// The guide's `Config`, typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct AppConfig {
    api_keys: BTreeMap<String, String>,
    features: BTreeMap<String, bool>,
    limits: BTreeMap<String, u32>,
    urls: BTreeMap<String, String>,
}

fn validate(config: &AppConfig) -> Result<(), String> {
    match config.limits.iter().find(|(_, limit)| **limit == 0) {
        Some((name, _)) => Err(format!("limit {name:?} must be positive")),
        None => Ok(()),
    }
}

async fn manager() -> (
    ConfigManager<AppConfig>,
    patterns::Env,
    kv_runtime::ManualClock,
) {
    let (env, clock) = env_at_t0().await;
    let config = ConfigManager::new(env.CONFIG.clone())
        .with_clock(clock.clone())
        .cache_for(Duration::from_secs(60))
        .validate_with(validate);
    (config, env, clock)
}

#[tokio::test]
async fn absent_configuration_is_the_default_at_version_0() {
    let (config, env, _) = manager().await;
    let snapshot = config.get().await.unwrap();
    assert_eq!(*snapshot, AppConfig::default());
    assert_eq!(snapshot.version(), 0);
    assert_eq!(env.CONFIG.get("config:global").text().await.unwrap(), None);
}

#[tokio::test]
async fn update_writes_the_next_version_with_metadata() {
    let (config, env, _) = manager().await;
    let first = config
        .update(|c| {
            c.limits.insert("apiCalls".into(), 1000);
            c.features.insert("betaApi".into(), true);
        })
        .await
        .unwrap();
    assert_eq!(first.version(), 1);
    let second = config
        .update(|c| {
            c.urls.insert("origin".into(), "https://example.com".into());
        })
        .await
        .unwrap();
    assert_eq!(second.version(), 2);
    assert_eq!(
        second.limits["apiCalls"], 1000,
        "updates apply to the latest value"
    );

    let stored = env
        .CONFIG
        .get_with_metadata("config:global")
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        stored.metadata,
        Some(json!({ "version": 2, "updated_at": T0 }))
    );
    assert_eq!(stored.value.unwrap()["limits"], json!({ "apiCalls": 1000 }));
    assert_eq!(config.get().await.unwrap().version(), 2);
}

#[tokio::test]
async fn invalid_update_is_refused_and_nothing_is_written() {
    let (config, env, _) = manager().await;
    let err = config
        .update(|c| {
            c.limits.insert("apiCalls".into(), 0);
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid configuration: limit \"apiCalls\" must be positive"
    );
    assert_eq!(env.CONFIG.get("config:global").text().await.unwrap(), None);

    config
        .update(|c| {
            c.limits.insert("apiCalls".into(), 5);
        })
        .await
        .unwrap();
    let before = env.CONFIG.get("config:global").text().await.unwrap();
    let err = config
        .replace(
            1,
            AppConfig {
                limits: BTreeMap::from([("apiCalls".into(), 0)]),
                ..AppConfig::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    assert_eq!(
        env.CONFIG.get("config:global").text().await.unwrap(),
        before
    );
    assert_eq!(config.get().await.unwrap().version(), 1);
}

#[tokio::test]
async fn cached_copy_is_served_until_it_expires_on_the_clock() {
    let (config, env, clock) = manager().await;
    assert_eq!(config.get().await.unwrap().version(), 0);

    // Another instance (its own manager, its own cache) writes a new version.
    let elsewhere = ConfigManager::<AppConfig>::new(env.CONFIG.clone()).with_clock(clock.clone());
    elsewhere
        .update(|c| {
            c.features.insert("betaApi".into(), true);
        })
        .await
        .unwrap();

    clock.advance(Duration::from_secs(59));
    let cached = config.get().await.unwrap();
    assert_eq!(cached.version(), 0, "still the in-process copy");
    assert!(cached.features.is_empty());

    clock.advance(Duration::from_secs(1));
    let fresh = config.get().await.unwrap();
    assert_eq!(fresh.version(), 1);
    assert_eq!(fresh.features.get("betaApi"), Some(&true));
}

#[tokio::test]
async fn invalidate_and_clones_share_the_cache() {
    let (config, env, _) = manager().await;
    config.get().await.unwrap();
    let clone = config.clone();
    env.CONFIG
        .put(
            "config:global",
            r#"{"urls": {"origin": "https://a.example"}}"#,
        )
        .await
        .unwrap();
    assert!(clone.get().await.unwrap().urls.is_empty());
    config.invalidate();
    let snapshot = clone.get().await.unwrap();
    assert_eq!(snapshot.urls["origin"], "https://a.example");
    // Written without our metadata: version 0; the next write is version 1.
    assert_eq!(snapshot.version(), 0);
    let next = config.update(|_| {}).await.unwrap();
    assert_eq!((next.version(), next.urls.len()), (1, 1));
}

#[tokio::test]
async fn replace_with_a_stale_version_is_a_conflict_and_writes_nothing() {
    let (config, env, _) = manager().await;
    let form = config.get().await.unwrap(); // an admin opens the form at version 0
    config
        .update(|c| {
            c.limits.insert("apiCalls".into(), 10);
        })
        .await
        .unwrap(); // someone else saves first

    let mut edited = AppConfig::clone(&form);
    edited.limits.insert("apiCalls".into(), 99);
    let err = config
        .replace(form.version(), edited.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::VersionConflict {
                expected: 0,
                found: 1
            }
        ),
        "{err:?}"
    );
    let stored: AppConfig = env
        .CONFIG
        .get("config:global")
        .json()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.limits["apiCalls"], 10);

    let saved = config.replace(1, edited).await.unwrap();
    assert_eq!((saved.version(), saved.limits["apiCalls"]), (2, 99));
}

#[tokio::test]
async fn corrupt_configuration_is_an_error() {
    let (config, env, _) = manager().await;
    env.CONFIG.put("config:global", "{not json").await.unwrap();
    let err = config.get().await.unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { key, .. } if key == "config:global"),
        "{err:?}"
    );
    let err = config.update(|_| {}).await.unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
}

#[tokio::test]
async fn zero_cache_duration_reads_every_time_and_keys_are_configurable() {
    let (env, clock) = env_at_t0().await;
    let config = ConfigManager::<AppConfig>::new(env.CONFIG.clone())
        .key("config:tenant-1")
        .cache_for(Duration::ZERO)
        .with_clock(clock);
    config.get().await.unwrap();
    env.CONFIG
        .put("config:tenant-1", r#"{"limits": {"x": 1}}"#)
        .await
        .unwrap();
    assert_eq!(config.get().await.unwrap().limits["x"], 1);
}

/// Managers that share nothing but the store — one per instance of an application —
/// lose no update: each write is a compare-and-set on the stored record, and `update`
/// re-applies its change to the newer value when it loses a race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_managers_lose_no_update() {
    let (env, clock) = env_at_t0().await;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let config = ConfigManager::<AppConfig>::new(env.CONFIG.clone())
                .with_clock(clock.clone())
                .validate_with(validate);
            tokio::spawn(async move {
                for _ in 0..50 {
                    config
                        .update(|c| *c.limits.entry("calls".to_owned()).or_insert(0) += 1)
                        .await
                        .unwrap();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let config = ConfigManager::<AppConfig>::new(env.CONFIG.clone()).cache_for(Duration::ZERO);
    let snapshot = config.get().await.unwrap();
    assert_eq!(
        snapshot.limits["calls"], 200,
        "four writers, fifty updates each"
    );
    assert_eq!(snapshot.version(), 200, "every write was the next version");
}
