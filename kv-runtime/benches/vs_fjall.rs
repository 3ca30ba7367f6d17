//! The typed runtime against raw fjall 3, on the same data in the same run.
//!
//! `cargo bench -p kv-runtime --bench vs_fjall`. Both sides use a 64 MiB block cache
//! (the runtime's default) and hold 100,000 keys `user:000000`… with 1 KiB values.
//!
//! - `point_get`: random point reads. `raw_fjall` calls `Keyspace::get` directly;
//!   `raw_fjall_spawn_blocking` hops to tokio's blocking pool for each read, which is
//!   what the runtime would pay if it did that for point reads; `runtime` is
//!   `store.get(key).bytes().await`.
//! - `put`: buffered writes of 1 KiB values to random keys.

// Benchmark code: a failed unwrap aborts the run, which is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fjall::{Database, KeyspaceCreateOptions};
use kv_runtime::{Bytes, Runtime};

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

fn point_ops(c: &mut Criterion) {
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
    let store = tokio.block_on(async {
        let rt = Runtime::open(rt_dir.path()).await.unwrap();
        let store = rt.store("bench").unwrap();
        for i in 0..KEYS {
            store.put(key(i), Bytes::from_static(&VALUE)).await.unwrap();
        }
        store
    });

    let mut group = c.benchmark_group("point_get");
    group.throughput(Throughput::Elements(1));
    let seq = AtomicU64::new(0);
    group.bench_function("raw_fjall", |b| {
        b.iter(|| black_box(raw.get(key(next_index(&seq))).unwrap()))
    });
    group.bench_function("raw_fjall_spawn_blocking", |b| {
        b.to_async(&tokio).iter(|| {
            let raw = raw.clone();
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
        b.to_async(&tokio).iter(|| {
            let k = key(next_index(&seq));
            let store = &store;
            async move { black_box(store.get(k).bytes().await.unwrap()) }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("put");
    group.throughput(Throughput::Elements(1));
    group.bench_function("raw_fjall", |b| {
        b.iter(|| raw.insert(key(next_index(&seq)), VALUE).unwrap())
    });
    group.bench_function("runtime", |b| {
        b.to_async(&tokio).iter(|| {
            let k = key(next_index(&seq));
            let store = &store;
            async move { store.put(k, Bytes::from_static(&VALUE)).await.unwrap() }
        })
    });
    group.finish();
}

criterion_group!(benches, point_ops);
criterion_main!(benches);
