//! `FeatureFlags`: the evaluation rules, the rollout's distribution and stability, storage.

use patterns::{Error, FeatureFlag, FeatureFlags, ROLLOUT_BUCKETS, rollout_bucket};
use serde_json::json;

use crate::env_at_t0;

fn users(n: usize) -> impl Iterator<Item = String> {
    (0..n).map(|i| format!("user-{i}"))
}

/// Share of 10,000 users for whom `flag` (called `name`) is on.
fn share(name: &str, flag: &FeatureFlag) -> f64 {
    let on = users(10_000)
        .filter(|u| flag.is_enabled_for(name, Some(u)))
        .count();
    on as f64 / 10_000.0
}

#[tokio::test]
async fn unknown_flag_is_off() {
    let (env, _) = env_at_t0().await;
    let flags = FeatureFlags::new(env.FLAGS.clone());
    assert!(!flags.is_enabled("never-set", "user-1").await.unwrap());
    assert!(!flags.is_enabled("never-set", None).await.unwrap());
    assert_eq!(flags.get("never-set").await.unwrap(), None);
}

#[tokio::test]
async fn disabled_flag_is_off_for_everyone_including_the_allow_list() {
    let (env, _) = env_at_t0().await;
    let flags = FeatureFlags::new(env.FLAGS.clone());
    flags
        .set("kill-switch", &FeatureFlag::off().allow(["vip"]))
        .await
        .unwrap();
    assert!(!flags.is_enabled("kill-switch", "vip").await.unwrap());
    assert!(!flags.is_enabled("kill-switch", "user-1").await.unwrap());
}

#[tokio::test]
async fn allow_list_wins_over_the_rollout() {
    let (env, _) = env_at_t0().await;
    let flags = FeatureFlags::new(env.FLAGS.clone());
    flags
        .set("beta", &FeatureFlag::rollout(0).allow(["vip", "qa"]))
        .await
        .unwrap();
    assert!(flags.is_enabled("beta", "vip").await.unwrap());
    assert!(flags.is_enabled("beta", "qa").await.unwrap());
    for user in users(200) {
        assert!(
            !flags.is_enabled("beta", user.as_str()).await.unwrap(),
            "{user}"
        );
    }
    assert!(!flags.is_enabled("beta", None).await.unwrap());
}

#[tokio::test]
async fn enabled_flag_without_rollout_is_on_for_everyone() {
    let (env, _) = env_at_t0().await;
    let flags = FeatureFlags::new(env.FLAGS.clone());
    flags.set("new-ui", &FeatureFlag::on()).await.unwrap();
    assert!(flags.is_enabled("new-ui", "user-1").await.unwrap());
    assert!(flags.is_enabled("new-ui", None).await.unwrap());
}

#[test]
fn rollout_of_25_percent_enables_25_percent_of_users() {
    for name in ["new-ui", "beta-feature", "experiments", "x"] {
        let share = share(name, &FeatureFlag::rollout(25));
        assert!((0.23..=0.27).contains(&share), "{name}: {share}");
    }
    for percentage in [1u8, 10, 50, 75, 90, 99] {
        let share = share("new-ui", &FeatureFlag::rollout(percentage));
        let expected = f64::from(percentage) / 100.0;
        assert!((share - expected).abs() <= 0.02, "{percentage}%: {share}");
    }
}

#[test]
fn rollout_extremes_and_anonymous_users() {
    assert_eq!(share("f", &FeatureFlag::rollout(0)), 0.0);
    assert_eq!(share("f", &FeatureFlag::rollout(100)), 1.0);
    // Anonymous users have no stable bucket: only a full rollout includes them.
    assert!(!FeatureFlag::rollout(99).is_enabled_for("f", None));
    assert!(FeatureFlag::rollout(100).is_enabled_for("f", None));
}

#[test]
fn buckets_are_stable_and_raising_a_rollout_only_adds_users() {
    // Pinned values: changing the hash would reshuffle every user of every flag.
    assert_eq!(
        rollout_bucket("new-ui", "user-42"),
        rollout_bucket("new-ui", "user-42")
    );
    let pinned: Vec<u32> = ["a", "b", "user-1"]
        .iter()
        .map(|u| rollout_bucket("new-ui", u))
        .collect();
    assert_eq!(pinned, PINNED_BUCKETS);

    let quarter = FeatureFlag::rollout(25);
    let half = FeatureFlag::rollout(50);
    for user in users(10_000) {
        let bucket = rollout_bucket("new-ui", &user);
        assert!(bucket < ROLLOUT_BUCKETS);
        if quarter.is_enabled_for("new-ui", Some(&user)) {
            assert!(half.is_enabled_for("new-ui", Some(&user)), "{user}");
        }
    }
}

/// `rollout_bucket("new-ui", u)` for `u` in `["a", "b", "user-1"]`, also computed by an
/// independent Python implementation of FNV-1a + fmix64.
const PINNED_BUCKETS: [u32; 3] = [1717, 9542, 2429];

#[test]
fn flags_bucket_users_independently_and_the_separator_matters() {
    let half = FeatureFlag::rollout(50);
    let both = users(10_000)
        .filter(|u| half.is_enabled_for("left", Some(u)) && half.is_enabled_for("right", Some(u)))
        .count() as f64
        / 10_000.0;
    assert!((both - 0.25).abs() <= 0.02, "{both}");
    // ("ab", "c") and ("a", "bc") would be the same input without a separator.
    let same = (0..100)
        .filter(|i| {
            rollout_bucket(&format!("ab{i}"), "c") == rollout_bucket("a", &format!("b{i}c"))
        })
        .count();
    assert!(same <= 2, "{same}");
}

#[tokio::test]
async fn store_answers_match_the_pure_evaluation_and_are_stable() {
    let (env, _) = env_at_t0().await;
    let flags = FeatureFlags::new(env.FLAGS.clone());
    let flag = FeatureFlag::rollout(25);
    flags.set("new-ui", &flag).await.unwrap();
    for user in users(300) {
        let first = flags.is_enabled("new-ui", user.as_str()).await.unwrap();
        let second = flags.is_enabled("new-ui", user.as_str()).await.unwrap();
        assert_eq!(first, second, "{user}");
        assert_eq!(first, flag.is_enabled_for("new-ui", Some(&user)), "{user}");
    }
}

#[tokio::test]
async fn stored_json_has_the_guides_shape_both_ways() {
    let (env, _) = env_at_t0().await;
    let flags = FeatureFlags::new(env.FLAGS.clone());
    let flag = FeatureFlag::rollout(25)
        .allow(["u1"])
        .with_metadata(json!({ "owner": "web" }));
    flags.set("new-ui", &flag).await.unwrap();
    let raw: serde_json::Value = env.FLAGS.get("flag:new-ui").json().await.unwrap().unwrap();
    assert_eq!(
        raw,
        json!({
            "enabled": true,
            "rolloutPercentage": 25,
            "allowedUsers": ["u1"],
            "metadata": { "owner": "web" },
        })
    );
    assert_eq!(flags.get("new-ui").await.unwrap(), Some(flag));

    // Written by hand (or by the guide's TypeScript), with only some fields.
    env.FLAGS
        .put(
            "flag:by-hand",
            r#"{"enabled": true, "allowedUsers": ["ops"]}"#,
        )
        .await
        .unwrap();
    assert!(flags.is_enabled("by-hand", "anyone").await.unwrap());
}

#[tokio::test]
async fn rollout_over_100_is_refused_and_nothing_is_written() {
    let (env, _) = env_at_t0().await;
    let flags = FeatureFlags::new(env.FLAGS.clone());
    let err = flags
        .set("new-ui", &FeatureFlag::rollout(101))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid feature flag \"new-ui\": rollout percentage of 101 is over 100"
    );
    assert_eq!(env.FLAGS.get("flag:new-ui").text().await.unwrap(), None);
}

#[tokio::test]
async fn corrupt_flag_is_an_error_not_silently_off() {
    let (env, _) = env_at_t0().await;
    let flags = FeatureFlags::new(env.FLAGS.clone());
    env.FLAGS.put("flag:broken", "yes please").await.unwrap();
    let err = flags.is_enabled("broken", "u").await.unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { key, .. } if key == "flag:broken"),
        "{err:?}"
    );
}

#[tokio::test]
async fn names_remove_and_cached_reads() {
    let (env, _) = env_at_t0().await;
    let flags = FeatureFlags::new(env.FLAGS.clone()).cache_ttl(60);
    for name in ["b", "a", "c"] {
        flags.set(name, &FeatureFlag::on()).await.unwrap();
    }
    env.FLAGS.put("not-a-flag", "x").await.unwrap();
    assert_eq!(flags.names().await.unwrap(), ["a", "b", "c"]);

    // Reads go through the runtime's read cache; a write through it is seen at once.
    assert!(flags.is_enabled("a", "u").await.unwrap());
    flags.set("a", &FeatureFlag::off()).await.unwrap();
    assert!(!flags.is_enabled("a", "u").await.unwrap());
    flags.remove("b").await.unwrap();
    flags.remove("b").await.unwrap();
    assert!(!flags.is_enabled("b", "u").await.unwrap());
    assert_eq!(flags.names().await.unwrap(), ["a", "c"]);
}
