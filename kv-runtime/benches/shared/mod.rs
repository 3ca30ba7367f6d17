//! What the Redis and PostgreSQL benchmarks share: many concurrent tasks running one
//! operation each, timed together, so that a criterion iteration is one operation of
//! a pipelined, concurrent load — how a server backend is used.

#![allow(dead_code, reason = "each bench uses part of this module")]

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Concurrent tasks per measurement (the load: 50).
pub(crate) const TASKS: u64 = 50;

/// Keys written before measuring.
pub(crate) const KEYS: u64 = 10_000;

/// The value size.
pub(crate) const VALUE: [u8; 1024] = [b'x'; 1024];

pub(crate) fn key(i: u64) -> String {
    format!("user:{i:06}")
}

/// A cheap, deterministic sequence of key indexes, the same for every side.
pub(crate) fn next_index(state: &AtomicU64) -> u64 {
    let x = state
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (x >> 33) % KEYS
}

/// Runs `ops` calls of `op` spread over [`TASKS`] tasks on the current runtime; returns
/// the wall time they took together.
pub(crate) async fn concurrently<F, Fut>(ops: u64, op: F) -> Duration
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS.min(ops.max(1)))
        .map(|_| {
            let (op, counter) = (Arc::clone(&op), Arc::clone(&counter));
            tokio::spawn(async move {
                loop {
                    let i = counter.fetch_add(1, Ordering::Relaxed);
                    if i >= ops {
                        return;
                    }
                    op(i).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a benchmark task panicked");
    }
    start.elapsed()
}

/// The server's URL from the first of `variables` that is set, or a message saying how
/// to start one.
pub(crate) fn server(variables: &[&str]) -> Option<String> {
    let found = variables
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|url| !url.is_empty()));
    if found.is_none() {
        eprintln!(
            "none of {} is set: start a server (.ci/redis.sh or .ci/postgres.sh start) and export it",
            variables.join(", ")
        );
    }
    found
}
