//! The runtime on Redis against a raw redis-rs client on the same server, in the same
//! run, at 50 concurrent tasks (pipelined over one multiplexed connection, as both
//! sides use it).
//!
//! `KV_BENCH_REDIS_URL=redis://127.0.0.1:PORT cargo bench -p kv-runtime --features redis --bench vs_redis`
//! (start a throw-away server with `.ci/redis.sh start`; `KV_TEST_REDIS_URL` works too).
//!
//! - `w1_point_get`: `store.get(key).bytes()` against `HMGET` of the same record fields
//!   (version, expiration, metadata, value, chunk reference) — the runtime's one command.
//! - `w2_put`: `store.put(key, value)` (one Lua script: condition, record, index,
//!   version, change notification) against the equivalent commands sent raw — `MULTI`
//!   `INCR` (version) `HSET` (record) `ZADD` (index) `PUBLISH` (change) `EXEC` — and
//!   against a bare `SET`, the least any key-value write costs.
//! - `w3_list_page`: a page of 1,000 keys with heads, against `ZRANGEBYLEX` of 1,001
//!   members and a pipelined `HMGET` of each key's head.
//! - `cache_hit`: a read served by the read cache (`cache_ttl`) in front of Redis,
//!   against a point read of the same keys in an embedded fjall store.

// Benchmark code: a failed unwrap aborts the run, which is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod shared;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kv_runtime::{Bytes, Config, KvStore, Runtime, StoreConfig};
use redis::aio::ConnectionManager;
use shared::{KEYS, VALUE, concurrently, key, next_index};

struct Fixture {
    tokio: tokio::runtime::Runtime,
    store: KvStore,
    raw: ConnectionManager,
    /// The same keys in an embedded fjall store, for the read cache's comparison.
    embedded: KvStore,
    _dir: tempfile::TempDir,
}

/// The raw side's keys, shaped like the runtime's (one hash tag, so one slot).
fn raw_record(key: &str) -> String {
    format!("bench-raw:{{raw}}:r:{key}")
}

const RAW_INDEX: &str = "bench-raw:{raw}:i";
const RAW_COUNTER: &str = "bench-raw:{raw}:v";

fn fixture(url: &str) -> Fixture {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (store, raw, embedded, dir) = tokio.block_on(async {
        let namespace = format!("bench-{}/s", std::process::id());
        let mut config = Config::default();
        config.defaults = StoreConfig::default()
            .backend("redis")
            .setting("url", url)
            .setting("namespace", namespace.as_str());
        let rt = Runtime::builder().config(config).open().await.unwrap();
        let store = rt.store("s").unwrap();
        let items: Vec<(String, Bytes)> = (0..KEYS)
            .map(|i| (key(i), Bytes::from_static(&VALUE)))
            .collect();
        for batch in items.chunks(1000) {
            store.put_many(batch.to_vec()).await.unwrap();
        }
        let client = redis::Client::open(url).unwrap();
        let mut raw = ConnectionManager::new(client).await.unwrap();
        let mut pipe = redis::pipe();
        for i in 0..KEYS {
            let k = key(i);
            pipe.cmd("HSET")
                .arg(raw_record(&k))
                .arg(&["ver", "1", "e", "", "m", ""])
                .arg("v")
                .arg(&VALUE[..])
                .ignore();
            pipe.cmd("ZADD").arg(RAW_INDEX).arg(0).arg(&k).ignore();
        }
        let () = pipe.query_async(&mut raw).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let fjall = Runtime::builder()
            .data_dir(dir.path())
            .open()
            .await
            .unwrap();
        let embedded = fjall.store("s").unwrap();
        for batch in items.chunks(1000) {
            embedded.put_many(batch.to_vec()).await.unwrap();
        }
        (store, raw, embedded, dir)
    });
    Fixture {
        tokio,
        store,
        raw,
        embedded,
        _dir: dir,
    }
}

fn bench(c: &mut Criterion) {
    let Some(url) = shared::server(&["KV_BENCH_REDIS_URL", "KV_TEST_REDIS_URL"]) else {
        return;
    };
    let f = fixture(&url);
    let mut group = c.benchmark_group("redis");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);

    let seq = Arc::new(AtomicU64::new(0));
    group.bench_function("w1_point_get/runtime", |b| {
        b.to_async(&f.tokio).iter_custom(|ops| {
            let (store, seq) = (f.store.clone(), Arc::clone(&seq));
            concurrently(ops, move |_| {
                let (store, k) = (store.clone(), key(next_index(&seq)));
                async move {
                    assert!(store.get(k).bytes().await.unwrap().is_some());
                }
            })
        });
    });
    group.bench_function("w1_point_get/raw_hmget", |b| {
        b.to_async(&f.tokio).iter_custom(|ops| {
            let (raw, seq) = (f.raw.clone(), Arc::clone(&seq));
            concurrently(ops, move |_| {
                let (mut raw, k) = (raw.clone(), key(next_index(&seq)));
                async move {
                    let fields: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
                        .arg(raw_record(&k))
                        .arg(&["ver", "e", "m", "v", "b", "n", "c"])
                        .query_async(&mut raw)
                        .await
                        .unwrap();
                    assert!(fields[3].is_some());
                }
            })
        });
    });
    // The read cache in front of Redis (every key cached, so every read a hit) against
    // a point read of the embedded fjall store.
    f.tokio.block_on(async {
        for i in 0..KEYS {
            f.store.get(key(i)).cache_ttl(3600).bytes().await.unwrap();
        }
    });
    group.bench_function("cache_hit/runtime_on_redis", |b| {
        b.to_async(&f.tokio).iter_custom(|ops| {
            let (store, seq) = (f.store.clone(), Arc::clone(&seq));
            concurrently(ops, move |_| {
                let (store, k) = (store.clone(), key(next_index(&seq)));
                async move {
                    let hit = store.get(k).cache_ttl(3600).bytes().await.unwrap();
                    assert!(hit.is_some());
                }
            })
        });
    });
    group.bench_function("cache_hit/embedded_fjall_get", |b| {
        b.to_async(&f.tokio).iter_custom(|ops| {
            let (store, seq) = (f.embedded.clone(), Arc::clone(&seq));
            concurrently(ops, move |_| {
                let (store, k) = (store.clone(), key(next_index(&seq)));
                async move {
                    assert!(store.get(k).bytes().await.unwrap().is_some());
                }
            })
        });
    });

    group.bench_function("w2_put/runtime", |b| {
        b.to_async(&f.tokio).iter_custom(|ops| {
            let (store, seq) = (f.store.clone(), Arc::clone(&seq));
            concurrently(ops, move |_| {
                let (store, k) = (store.clone(), key(next_index(&seq)));
                async move {
                    store.put(k, Bytes::from_static(&VALUE)).await.unwrap();
                }
            })
        });
    });
    group.bench_function("w2_put/raw_multi", |b| {
        b.to_async(&f.tokio).iter_custom(|ops| {
            let (raw, seq) = (f.raw.clone(), Arc::clone(&seq));
            concurrently(ops, move |_| {
                let (mut raw, k) = (raw.clone(), key(next_index(&seq)));
                async move {
                    let mut pipe = redis::pipe();
                    pipe.atomic()
                        .cmd("INCR")
                        .arg(RAW_COUNTER)
                        .cmd("HSET")
                        .arg(raw_record(&k))
                        .arg(&["ver", "1", "e", "", "m", ""])
                        .arg("v")
                        .arg(&VALUE[..])
                        .ignore()
                        .cmd("ZADD")
                        .arg(RAW_INDEX)
                        .arg(0)
                        .arg(&k)
                        .ignore()
                        .cmd("PUBLISH")
                        .arg("bench-raw:changes")
                        .arg(&k)
                        .ignore();
                    let (_version,): (u64,) = pipe.query_async(&mut raw).await.unwrap();
                }
            })
        });
    });
    group.bench_function("w2_put/raw_set", |b| {
        b.to_async(&f.tokio).iter_custom(|ops| {
            let (raw, seq) = (f.raw.clone(), Arc::clone(&seq));
            concurrently(ops, move |_| {
                let (mut raw, k) = (raw.clone(), key(next_index(&seq)));
                async move {
                    let () = redis::cmd("SET")
                        .arg(format!("bench-raw:set:{k}"))
                        .arg(&VALUE[..])
                        .query_async(&mut raw)
                        .await
                        .unwrap();
                }
            })
        });
    });

    group.bench_function("w3_list_page/runtime", |b| {
        b.to_async(&f.tokio).iter_custom(|ops| {
            let store = f.store.clone();
            concurrently(ops, move |i| {
                let store = store.clone();
                async move {
                    let page = store
                        .list()
                        .prefix(format!("user:00{}", i % 10))
                        .limit(1000)
                        .await
                        .unwrap();
                    assert_eq!(page.keys.len(), 1000);
                }
            })
        });
    });
    group.bench_function("w3_list_page/raw_zrangebylex_hmget", |b| {
        b.to_async(&f.tokio).iter_custom(|ops| {
            let raw = f.raw.clone();
            concurrently(ops, move |i| {
                let mut raw = raw.clone();
                async move {
                    let prefix = format!("user:00{}", i % 10);
                    let members: Vec<String> = redis::cmd("ZRANGEBYLEX")
                        .arg(RAW_INDEX)
                        .arg(format!("[{prefix}"))
                        .arg("+")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(1001)
                        .query_async(&mut raw)
                        .await
                        .unwrap();
                    let page: Vec<&String> = members
                        .iter()
                        .filter(|m| m.starts_with(&prefix))
                        .take(1000)
                        .collect();
                    let mut pipe = redis::pipe();
                    for member in &page {
                        pipe.cmd("HMGET")
                            .arg(raw_record(member))
                            .arg(&["ver", "e", "m"]);
                    }
                    let heads: Vec<Vec<Option<Vec<u8>>>> =
                        pipe.query_async(&mut raw).await.unwrap();
                    assert_eq!(heads.len(), 1000);
                }
            })
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
