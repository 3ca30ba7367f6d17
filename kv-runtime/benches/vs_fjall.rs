//! The typed runtime against raw fjall 3, on the same data in the same run.
//!
//! `cargo bench -p kv-runtime --bench vs_fjall`. Both sides use a 64 MiB block cache
//! (the runtime's default) and hold 100,000 keys `user:000000`… with 1 KiB values.
//!
//! - `w1_point_get`: random point reads. `raw_fjall` calls `Keyspace::get`;
//!   `raw_fjall_spawn_blocking` hops to tokio's blocking pool for each read (what the
//!   runtime would pay if it did that for point reads); `runtime` is
//!   `store.get(key).bytes().await`.
//! - `w2_put_buffered`, `w2_put_sync`: writes of 1 KiB values to random keys; sync
//!   fsyncs the journal before acknowledging (raw: `insert` then `persist(SyncAll)`).
//! - `w3_list_page`: pages of 1,000 keys by prefix (`user:012` matches 1,000 keys),
//!   keys and metadata decoded on both sides.
//! - `w4_mixed`: 95 % point reads, 5 % writes, one operation per iteration.
//!
//! W5 (large and streamed values, peak memory) is `examples/big_value.rs`, and
//! concurrent sync writers are `examples/sync_writers.rs`: criterion measures neither
//! memory nor many-task throughput.

// Benchmark code: a failed unwrap aborts the run, which is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Bencher, Criterion, Throughput, criterion_group, criterion_main};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use kv_runtime::{Bytes, Config, Durability, KvStore, Runtime, StoreConfig};

const KEYS: u64 = 100_000;
const VALUE: [u8; 1024] = [b'x'; 1024];
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

fn key(i: u64) -> String {
    format!("user:{i:06}")
}

/// A cheap, deterministic sequence of key indexes (a 64-bit LCG), the same for every side.
fn next_index(state: &AtomicU64) -> u64 {
    let x = state
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (x >> 33) % KEYS
}

struct Fixture {
    tokio: tokio::runtime::Runtime,
    raw_db: Database,
    raw: Keyspace,
    store: KvStore,
    sync_store: KvStore,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

fn fixture() -> Fixture {
    let tokio = tokio::runtime::Builder::new_multi_thread().build().unwrap();

    let raw_dir = tempfile::tempdir().unwrap();
    let raw_db = Database::builder(raw_dir.path())
        .cache_size(CACHE_BYTES)
        .open()
        .unwrap();
    let raw = raw_db
        .keyspace("raw", KeyspaceCreateOptions::default)
        .unwrap();
    for i in 0..KEYS {
        raw.insert(key(i), VALUE).unwrap();
    }

    let rt_dir = tempfile::tempdir().unwrap();
    let (store, sync_store) = tokio.block_on(async {
        let mut config = Config::default();
        config
            .backend_settings("fjall")
            .set("block_cache_size", CACHE_BYTES as i64);
        config.stores.insert(
            "bench-sync".into(),
            StoreConfig::default().durability(Durability::Sync),
        );
        let rt = Runtime::builder()
            .config(config)
            .data_dir(rt_dir.path())
            .open()
            .await
            .unwrap();
        let store = rt.store("bench").unwrap();
        for i in 0..KEYS {
            store.put(key(i), Bytes::from_static(&VALUE)).await.unwrap();
        }
        (store, rt.store("bench-sync").unwrap())
    });
    Fixture {
        tokio,
        raw_db,
        raw,
        store,
        sync_store,
        _dirs: (raw_dir, rt_dir),
    }
}

/// Times `iters` runs of `op` inside one `block_on`, as an application on tokio issues
/// them, so that entering the runtime once per iteration is not counted against it.
fn on_tokio<F, Fut, T>(b: &mut Bencher<'_>, tokio: &tokio::runtime::Runtime, mut op: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    b.iter_custom(|iters| {
        tokio.block_on(async {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(op().await);
            }
            start.elapsed()
        })
    });
}

fn workloads(c: &mut Criterion) {
    let f = fixture();
    let seq = AtomicU64::new(0);

    // Reads first, on the data as loaded; writes after, as they change the LSM trees.
    let mut group = c.benchmark_group("w1_point_get");
    group.throughput(Throughput::Elements(1));
    group.bench_function("raw_fjall", |b| {
        b.iter(|| black_box(f.raw.get(key(next_index(&seq))).unwrap()))
    });
    group.bench_function("raw_fjall_spawn_blocking", |b| {
        on_tokio(b, &f.tokio, || {
            let raw = f.raw.clone();
            let k = key(next_index(&seq));
            async move {
                black_box(
                    tokio::task::spawn_blocking(move || raw.get(k).unwrap())
                        .await
                        .unwrap(),
                )
            }
        })
    });
    group.bench_function("runtime", |b| {
        on_tokio(b, &f.tokio, || {
            let k = key(next_index(&seq));
            async { black_box(f.store.get(k).bytes().await.unwrap()) }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("w3_list_page");
    group.throughput(Throughput::Elements(1));
    group.bench_function("raw_fjall", |b| {
        b.iter(|| {
            let prefix = format!("user:{:03}", next_index(&seq) % 100);
            let keys: Vec<(String, usize)> = f
                .raw
                .prefix(prefix)
                .take(1000)
                .map(|guard| {
                    let (k, v) = guard.into_inner().unwrap();
                    (String::from_utf8(k.to_vec()).unwrap(), v.len())
                })
                .collect();
            assert_eq!(keys.len(), 1000);
            black_box(keys)
        })
    });
    group.bench_function("runtime", |b| {
        on_tokio(b, &f.tokio, || {
            let prefix = format!("user:{:03}", next_index(&seq) % 100);
            async {
                let page = f.store.list().prefix(prefix).limit(1000).await.unwrap();
                assert_eq!(page.keys.len(), 1000);
                black_box(page)
            }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("w4_mixed_95_5");
    group.throughput(Throughput::Elements(1));
    group.bench_function("raw_fjall", |b| {
        b.iter(|| {
            let i = next_index(&seq);
            if i.is_multiple_of(20) {
                f.raw.insert(key(i), VALUE).unwrap();
            } else {
                black_box(f.raw.get(key(i)).unwrap());
            }
        })
    });
    group.bench_function("runtime", |b| {
        on_tokio(b, &f.tokio, || {
            let i = next_index(&seq);
            let store = &f.store;
            async move {
                if i.is_multiple_of(20) {
                    store.put(key(i), Bytes::from_static(&VALUE)).await.unwrap();
                } else {
                    black_box(store.get(key(i)).bytes().await.unwrap());
                }
            }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("w2_put_buffered");
    group.throughput(Throughput::Elements(1));
    group.bench_function("raw_fjall", |b| {
        b.iter(|| f.raw.insert(key(next_index(&seq)), VALUE).unwrap())
    });
    group.bench_function("runtime", |b| {
        on_tokio(b, &f.tokio, || {
            let k = key(next_index(&seq));
            async { f.store.put(k, Bytes::from_static(&VALUE)).await.unwrap() }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("w2_put_sync");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.bench_function("raw_fjall", |b| {
        b.iter(|| {
            f.raw.insert(key(next_index(&seq)), VALUE).unwrap();
            f.raw_db.persist(PersistMode::SyncAll).unwrap();
        })
    });
    group.bench_function("runtime", |b| {
        on_tokio(b, &f.tokio, || {
            let k = key(next_index(&seq));
            async {
                f.sync_store
                    .put(k, Bytes::from_static(&VALUE))
                    .await
                    .unwrap()
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = workloads
}
criterion_main!(benches);
