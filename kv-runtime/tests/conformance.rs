//! The conformance kit (`kv_runtime::conformance`) against every built-in backend.
//!
//! The Redis and PostgreSQL suites find their servers through environment variables
//! (`.ci/run` starts them and sets them); without them they skip, saying so, or fail
//! when `CI` is set.

mod memory {
    kv_runtime::conformance_suite!(kv_runtime::conformance::MemoryTarget);
}

mod fjall {
    kv_runtime::conformance_suite!(kv_runtime::conformance::FjallTarget);
}

#[cfg(feature = "redis")]
mod redis {
    kv_runtime::conformance_suite!(kv_runtime::conformance::RedisTarget::standalone());
}

#[cfg(feature = "redis")]
mod redis_cluster {
    kv_runtime::conformance_suite!(kv_runtime::conformance::RedisTarget::cluster());
}

#[cfg(feature = "redis")]
mod redis_cluster_sharded {
    kv_runtime::conformance_suite!(kv_runtime::conformance::RedisTarget::cluster().shards(4));
}

#[cfg(feature = "postgres")]
mod postgres {
    kv_runtime::conformance_suite!(kv_runtime::conformance::PostgresTarget::new());
}
