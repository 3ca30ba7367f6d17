//! The model test: random sequences of operations — puts (with and without
//! expiration and metadata, conditional, streamed), reads, bulk reads and writes,
//! listing walks with cursors, deletes, touches, prefix deletes, counts, clock moves and
//! purges — run against the store and against a `BTreeMap` model with the same
//! [`ManualClock`] reading, comparing every answer.
//!
//! A failing sequence is shrunk by proptest to a minimal one and printed one operation
//! a line, with the step that went wrong, what the model expected and what the store
//! answered, and the seed that reproduces the run:
//!
//! ```text
//! model test failed: step 2, get_with_metadata("a"): version: expected Some(Version(3)), got Some(Version(2))
//! minimal failing sequence (3 operations):
//!    0: put("a", "v0")
//!    1: touch("a").expiration_ttl(60)
//!    2: get_with_metadata("a")
//! reproduce with KV_MODEL_SEED=1234567890
//! ```
//!
//! Versions are opaque: the model learns each from the write that issued it and checks
//! them for equality, and that none is issued twice. Runs [`Target::model_cases`]
//! sequences of up to [`MAX_OPS`] operations; `KV_MODEL_CASES` overrides the count.

mod ops;
mod reads;
mod state;
mod writes;

use std::hash::{BuildHasher as _, RandomState};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};

use self::ops::Op;
use self::state::Model;
use super::{Harness, Target};
use crate::{Clock as _, KvStore, ManualClock};

/// One sequence's store (of its own, in the run's runtime) and the runtime's clock.
pub(super) struct Case {
    pub(super) store: KvStore,
    clock: ManualClock,
}

/// The longest sequence generated.
pub const MAX_OPS: usize = 40;

/// The variable that sets how many sequences run (overriding the target's count).
pub const CASES_VAR: &str = "KV_MODEL_CASES";
/// The variable that fixes the random seed, to replay a run.
pub const SEED_VAR: &str = "KV_MODEL_SEED";

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

async fn step(h: &Case, m: &mut Model, op: &Op, atomic: bool) -> Result<(), String> {
    match op {
        Op::Put(item) => writes::put(h, m, item).await,
        Op::Get(key) => reads::get(h, m, key).await,
        Op::GetWithMetadata(key) => reads::get_with_metadata(h, m, key).await,
        Op::GetStream(key) => reads::get_stream(h, m, key).await,
        Op::GetMany(keys) => reads::get_many(h, m, keys).await,
        Op::List { prefix, limit } => reads::list(h, m, prefix, *limit).await,
        Op::ListNext { limit } => reads::list_next(h, m, *limit).await,
        Op::ListNextWithPrefix { prefix } => reads::list_next_with_prefix(h, m, prefix).await,
        Op::Delete(key) => writes::delete(h, m, key, None).await,
        Op::DeleteIfVersion(key, pick) => writes::delete(h, m, key, Some(*pick)).await,
        Op::PutMany(items) => writes::put_many(h, m, items, atomic).await,
        Op::DeleteMany(keys) => writes::delete_many(h, m, keys).await,
        Op::Touch(key, to) => writes::touch(h, m, key, *to).await,
        Op::DeletePrefix(prefix) => writes::delete_prefix(h, m, prefix).await,
        Op::Count(prefix) => reads::count(h, m, prefix).await,
        Op::Advance(secs) => {
            h.clock.advance(Duration::from_secs(*secs));
            m.now += secs;
            Ok(())
        }
        Op::Purge => writes::purge(h, m).await,
    }
}

/// Empties the store: live keys, and expired ones not yet purged.
async fn clear(h: &Case) -> Result<(), String> {
    h.store
        .delete_prefix("")
        .await
        .map_err(|e| format!("{e:?}"))?;
    h.store
        .purge_expired()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let left = h.store.count().await.map_err(|e| format!("{e:?}"))?;
    writes::ensure!(left == 0, "{left} keys left after clearing the store");
    Ok(())
}

/// Runs one sequence on the emptied store; the first difference, naming its step.
async fn check(h: &Case, atomic: bool, ops: &[Op]) -> Result<(), String> {
    clear(h)
        .await
        .map_err(|why| format!("before the first step: {why}"))?;
    let mut m = Model::new(h.clock.now_secs());
    for (i, op) in ops.iter().enumerate() {
        step(h, &mut m, op, atomic)
            .await
            .map_err(|why| format!("step {i}, {op:?}: {why}"))?;
    }
    reads::everything(h, &m)
        .await
        .map_err(|why| format!("after the last step: {why}"))
}

/// Runs the model test against `target`: [`Target::model_cases`] random sequences
/// (or `KV_MODEL_CASES`), each on a fresh store. Skips, or fails when `CI` is set, like
/// [`run`](super::run) when the target is unavailable.
///
/// # Panics
///
/// With the minimal failing sequence, when the store and the model disagree.
pub fn run<T: Target>(target: T) {
    super::run(target, |target| async move {
        let cases = env_u64(CASES_VAR).map_or(target.model_cases(), |n| n as u32);
        let seed = env_u64(SEED_VAR).unwrap_or_else(|| {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            RandomState::new().hash_one(nanos)
        });
        // The runner calls a synchronous closure; the sequences run on this thread's
        // tokio runtime, so the closure runs in a blocking section of it.
        // One runtime and one store for the run (opening a store can cost more than a
        // sequence), emptied before each sequence. Background purges would race the
        // model's: they are put off past any run's length.
        let harness =
            Harness::with_purge_interval(target.clone(), Duration::from_secs(86_400)).await;
        let atomic = harness.atomic_batches();
        let case = Case {
            store: harness.store.clone(),
            clock: harness.clock.clone(),
        };
        let handle = tokio::runtime::Handle::current();
        let result = tokio::task::block_in_place(|| {
            let config = Config {
                cases,
                failure_persistence: None,
                rng_seed: RngSeed::Fixed(seed),
                max_shrink_time: 120_000,
                ..Config::default()
            };
            TestRunner::new(config).run(&ops::ops(MAX_OPS), |ops| {
                handle
                    .block_on(check(&case, atomic, &ops))
                    .map_err(TestCaseError::fail)
            })
        });
        // Leave nothing behind on a shared server.
        let _ = clear(&case).await;
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, ops)) => {
                let mut listing = String::new();
                for (i, op) in ops.iter().enumerate() {
                    listing.push_str(&format!("  {i:>2}: {op:?}\n"));
                }
                panic!(
                    "model test failed: {why}\nminimal failing sequence ({} operations):\n\
                     {listing}reproduce with {SEED_VAR}={seed}",
                    ops.len()
                );
            }
            Err(TestError::Abort(why)) => panic!("model test aborted: {why} ({SEED_VAR}={seed})"),
        }
    });
}
