//! Property test: listing pages agree with a sorted-map model while puts and deletes
//! interleave with a pagination walk, on every backend.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::ops::Bound;

use kv_runtime::conformance::{FjallTarget, MemoryTarget, Target};
use kv_runtime::{KvStore, StoreConfig};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put(String),
    Delete(String),
    Page { limit: usize, prefix: bool },
}

fn key() -> impl Strategy<Value = String> {
    // A small alphabet so that puts and deletes hit the same keys and the prefix "a".
    proptest::string::string_regex("[ab/é]{1,4}").unwrap()
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => key().prop_map(Op::Put),
        1 => key().prop_map(Op::Delete),
        2 => (1usize..5, any::<bool>()).prop_map(|(limit, prefix)| Op::Page { limit, prefix }),
    ]
}

async fn check(store: &KvStore, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut model = BTreeSet::new();
    // The walk in progress: its prefix, cursor and the last key it returned.
    let mut walk: Option<(String, String, String)> = None;
    for op in ops {
        match op {
            Op::Put(k) => {
                store.put(k.clone(), "v").await.unwrap();
                model.insert(k);
            }
            Op::Delete(k) => {
                store.delete(k.clone()).await.unwrap();
                model.remove(&k);
            }
            Op::Page { limit, prefix } => {
                let (prefix, cursor, after) = match walk.take() {
                    Some(w) => w,
                    None => (
                        if prefix {
                            "a".to_owned()
                        } else {
                            String::new()
                        },
                        String::new(),
                        String::new(),
                    ),
                };
                let page = store
                    .list()
                    .prefix(prefix.clone())
                    .limit(limit)
                    .cursor(cursor)
                    .await
                    .unwrap();
                let lower = if after.is_empty() {
                    Bound::Unbounded
                } else {
                    Bound::Excluded(after.as_str())
                };
                let matching: Vec<&String> = model
                    .range::<str, _>((lower, Bound::Unbounded))
                    .filter(|k| k.starts_with(&prefix))
                    .collect();
                let expected: Vec<&String> = matching.iter().take(limit).copied().collect();
                let got: Vec<&String> = page.keys.iter().map(|k| &k.name).collect();
                prop_assert_eq!(&got, &expected);
                prop_assert_eq!(page.list_complete, matching.len() <= limit);
                prop_assert_eq!(page.cursor.is_none(), page.list_complete);
                if let (Some(cursor), Some(last)) = (page.cursor, got.last()) {
                    walk = Some((prefix, cursor, (*last).clone()));
                }
            }
        }
    }
    Ok(())
}

/// Runs `ops` against a fresh store of `target` (unless the target is unavailable).
fn run<T: Target>(target: T, ops: Vec<Op>) -> Result<(), TestCaseError> {
    if let Some(reason) = target.unavailable() {
        assert!(std::env::var_os("CI").is_none(), "{reason}");
        eprintln!("SKIPPED — {reason}");
        return Ok(());
    }
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio.block_on(async {
        let place = target.place().await;
        let rt = target
            .runtime(&place, StoreConfig::default())
            .open()
            .await
            .unwrap();
        check(&rt.store("s").unwrap(), ops).await
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn memory_pages_match_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(MemoryTarget, ops)?;
    }

    #[test]
    fn fjall_pages_match_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(FjallTarget, ops)?;
    }

    #[cfg(feature = "redis")]
    #[test]
    fn redis_pages_match_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(kv_runtime::conformance::RedisTarget::standalone(), ops)?;
    }

    #[cfg(feature = "redis")]
    #[test]
    fn redis_cluster_pages_match_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(kv_runtime::conformance::RedisTarget::cluster(), ops)?;
    }

    #[cfg(feature = "redis")]
    #[test]
    fn redis_cluster_sharded_pages_match_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(kv_runtime::conformance::RedisTarget::cluster().shards(4), ops)?;
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_pages_match_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(kv_runtime::conformance::PostgresTarget::new(), ops)?;
    }
}
