//! Acknowledged puts per second with `durability = "sync"` and 50 concurrent writers.
//!
//! `cargo run --release -p kv-runtime --example sync_writers [-- SECONDS]`
//!
//! Every put returns only after the journal is fsynced. The runtime groups concurrent
//! writers behind one fsync; for comparison, raw fjall with 50 threads that each
//! `insert` and then `persist(SyncAll)` — one fsync per write, the naive way.
//! 1 KiB values, 50 writers, a fixed duration each (default 5 s).

// An example that measures: a failed unwrap aborts the run, which is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fjall::{Database, KeyspaceCreateOptions, PersistMode};
use kv_runtime::{Bytes, Config, Durability, Runtime};

const WRITERS: usize = 50;
const VALUE: [u8; 1024] = [b'v'; 1024];

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let duration = Duration::from_secs(secs);

    // Raw fjall: 50 threads, one fsync per write.
    let dir = tempfile::tempdir().unwrap();
    let db = Database::builder(dir.path()).open().unwrap();
    let ks = db.keyspace("raw", KeyspaceCreateOptions::default).unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (db, ks, done, stop) = (db.clone(), ks.clone(), done.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    ks.insert(format!("w{w:02}:{i:08}"), VALUE).unwrap();
                    db.persist(PersistMode::SyncAll).unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let raw = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    drop((ks, db));

    // The runtime: 50 tasks on a sync store.
    let tokio = tokio::runtime::Builder::new_multi_thread().build().unwrap();
    let runtime_rate = tokio.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.defaults.durability = Durability::Sync;
        let rt = Runtime::builder()
            .config(config)
            .data_dir(dir.path())
            .open()
            .await
            .unwrap();
        let store = rt.store("ledger").unwrap();
        let done = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + duration;
        let start = Instant::now();
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (store, done) = (store.clone(), done.clone());
                tokio::spawn(async move {
                    let mut i = 0u64;
                    while Instant::now() < deadline {
                        store
                            .put(format!("w{w:02}:{i:08}"), Bytes::from_static(&VALUE))
                            .await
                            .unwrap();
                        done.fetch_add(1, Ordering::Relaxed);
                        i += 1;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
    });

    println!("sync puts, {WRITERS} concurrent writers, 1 KiB values, {secs} s each");
    println!("  raw fjall (fsync per write): {raw:>9.0} acknowledged puts/s");
    println!("  runtime (group commit):      {runtime_rate:>9.0} acknowledged puts/s");
    println!(
        "  runtime / raw:               {:>9.2}x",
        runtime_rate / raw
    );
}
