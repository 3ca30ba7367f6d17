//! A Redis or PostgreSQL server killed with SIGKILL while writers run, then restarted
//! on the same port and data: the writers get errors in bounded time (none hangs), the
//! store works again once the server is back, and what it holds is a state the history
//! allows — every acknowledged write there, each write in flight at the kill wholly or
//! not at all (value, metadata, expiration and version together; a bulk write on all
//! its keys or none) — with no chunk left behind that will not go by itself.
//!
//! The writers and the checker are the crash harness's (`examples/crash/workload.rs`
//! and `check.rs`). Each test starts its own server on a free port (`redis-server`, or
//! a PostgreSQL cluster through `.ci/postgres.sh` with a private state file): the
//! shared servers of `.ci/run` are never killed. Like the other server tests, a test
//! whose server is missing says SKIPPED and passes, unless `CI` is set.
#![cfg(any(feature = "redis", feature = "postgres"))]
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// Shared with the crash harness, which uses all of it; these tests use part.
#[allow(dead_code)]
#[path = "../../examples/crash/check.rs"]
mod check;
#[allow(dead_code)]
#[path = "../../examples/crash/history.rs"]
mod history;
#[allow(dead_code)]
#[path = "../../examples/crash/solve.rs"]
mod solve;
#[allow(dead_code)]
#[path = "../../examples/crash/workload.rs"]
mod workload;

mod load;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
