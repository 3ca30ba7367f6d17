//! The runtime on PostgreSQL against the same SQL issued directly through the driver
//! (tokio-postgres with a deadpool pool of the same size), same server, same run, at
//! 50 concurrent tasks.
//!
//! `KV_BENCH_POSTGRES_URL=postgres://... cargo bench -p kv-runtime --features postgres --bench vs_postgres`
//! (start a throw-away cluster with `.ci/postgres.sh start`; `KV_TEST_POSTGRES_URL` works too).
//!
//! - `w1_point_get`: `store.get(key).bytes()` against the backend's `SELECT` of the row.
//! - `w2_put`: `store.put(key, value)` against the backend's statement: the upsert that
//!   takes a version from the sequence and notifies watchers in the same statement.
//! - `w3_list_page`: a page of 1,000 keys with heads, against the backend's range `SELECT`.
//!
//! The raw side runs on the runtime's own tables (public.kv_*), under a namespace of its
//! own, with statements prepared once per connection as the backend does.

// Benchmark code: a failed unwrap aborts the run, which is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod shared;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use kv_runtime::{Bytes, Config, KvStore, Runtime, StoreConfig};
use shared::{KEYS, VALUE, concurrently, key, next_index};

const GET: &str = "SELECT version, expiration, metadata, value, blob, len FROM public.kv_records
     WHERE namespace = $1 AND key = $2";

const PUT: &str = "WITH w AS (
        INSERT INTO public.kv_records AS r (namespace, key, version, expiration, metadata, value, blob, len)
        VALUES ($1, $2, nextval('public.kv_versions'), NULL, NULL, $3, NULL, $5)
        ON CONFLICT (namespace, key) DO UPDATE SET version = EXCLUDED.version,
            expiration = EXCLUDED.expiration, metadata = EXCLUDED.metadata,
            value = EXCLUDED.value, blob = EXCLUDED.blob, len = EXCLUDED.len
        RETURNING r.key, r.version, r.expiration)
     SELECT w.version, pg_notify($4, 'p:' || to_hex(w.version) || ':' ||
        coalesce(w.expiration::text, '') || ':' || encode(w.key, 'hex')) FROM w";

/// The value's length, as the backend records it (`len`).
const VALUE_LEN: i64 = VALUE.len() as i64;

const LIST: &str = "SELECT version, expiration, metadata, key FROM public.kv_records
     WHERE namespace = $1 AND key >= $2 AND key > $3 AND key < $4
       AND (expiration IS NULL OR expiration < 0 OR expiration > $5)
     ORDER BY key LIMIT $6";

const RAW_NAMESPACE: &str = "bench-raw";

struct Fixture {
    tokio: tokio::runtime::Runtime,
    store: KvStore,
    raw: Pool,
}

fn fixture(url: &str) -> Fixture {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (store, raw) = tokio.block_on(async {
        let namespace = format!("bench-{}/s", std::process::id());
        let mut config = Config::default();
        config.defaults = StoreConfig::default()
            .backend("postgres")
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
        let pg: tokio_postgres::Config = url.parse().unwrap();
        let manager = Manager::from_config(
            pg,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        // The backend's default pool size.
        let raw = Pool::builder(manager).max_size(16).build().unwrap();
        let client = raw.get().await.unwrap();
        client
            .execute(
                "DELETE FROM public.kv_records WHERE namespace = $1",
                &[&RAW_NAMESPACE],
            )
            .await
            .unwrap();
        let put = client.prepare_cached(PUT).await.unwrap();
        for i in 0..KEYS {
            client
                .query(
                    &put,
                    &[
                        &RAW_NAMESPACE,
                        &key(i).as_bytes(),
                        &&VALUE[..],
                        &"bench_raw",
                        &VALUE_LEN,
                    ],
                )
                .await
                .unwrap();
        }
        (store, raw)
    });
    Fixture { tokio, store, raw }
}

fn bench(c: &mut Criterion) {
    let Some(url) = shared::server(&["KV_BENCH_POSTGRES_URL", "KV_TEST_POSTGRES_URL"]) else {
        return;
    };
    let f = fixture(&url);
    let mut group = c.benchmark_group("postgres");
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
    group.bench_function("w1_point_get/raw_sql", |b| {
        b.to_async(&f.tokio).iter_custom(|ops| {
            let (raw, seq) = (f.raw.clone(), Arc::clone(&seq));
            concurrently(ops, move |_| {
                let (raw, k) = (raw.clone(), key(next_index(&seq)));
                async move {
                    let client = raw.get().await.unwrap();
                    let statement = client.prepare_cached(GET).await.unwrap();
                    let row = client
                        .query_opt(&statement, &[&RAW_NAMESPACE, &k.as_bytes()])
                        .await
                        .unwrap();
                    assert!(row.is_some());
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
    group.bench_function("w2_put/raw_sql", |b| {
        b.to_async(&f.tokio).iter_custom(|ops| {
            let (raw, seq) = (f.raw.clone(), Arc::clone(&seq));
            concurrently(ops, move |_| {
                let (raw, k) = (raw.clone(), key(next_index(&seq)));
                async move {
                    let client = raw.get().await.unwrap();
                    let statement = client.prepare_cached(PUT).await.unwrap();
                    client
                        .query(
                            &statement,
                            &[
                                &RAW_NAMESPACE,
                                &k.as_bytes(),
                                &&VALUE[..],
                                &"bench_raw",
                                &VALUE_LEN,
                            ],
                        )
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
    group.bench_function("w3_list_page/raw_sql", |b| {
        b.to_async(&f.tokio).iter_custom(|ops| {
            let raw = f.raw.clone();
            concurrently(ops, move |i| {
                let raw = raw.clone();
                async move {
                    let prefix = format!("user:00{}", i % 10);
                    let mut upper = prefix.clone().into_bytes();
                    if let Some(last) = upper.last_mut() {
                        *last += 1;
                    }
                    let client = raw.get().await.unwrap();
                    let statement = client.prepare_cached(LIST).await.unwrap();
                    let rows = client
                        .query(
                            &statement,
                            &[
                                &RAW_NAMESPACE,
                                &prefix.as_bytes(),
                                &&b""[..],
                                &upper,
                                &0i64,
                                &1001i64,
                            ],
                        )
                        .await
                        .unwrap();
                    assert!(rows.len() >= 1000);
                }
            })
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
