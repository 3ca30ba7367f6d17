//! Items the code that `kv_build` generates calls. Not part of the public API.

use crate::runtime::Runtime;
use crate::store::KvStore;

/// Store `name` of an in-memory runtime, for the generated `Env::in_memory()`.
///
/// Infallible: the manifest's validation already checked the name. Should the runtime
/// refuse it anyway, the store is a fresh in-memory one of its own.
pub fn memory_store(runtime: &Runtime, name: &'static str) -> KvStore {
    runtime
        .store(name)
        .unwrap_or_else(|_| KvStore::in_memory(name))
}
