//! Items the code that `kv_build` generates calls. Not part of the public API.

use crate::error::Result;
use crate::runtime::Runtime;
use crate::store::KvStore;

/// Store `name` of `application` from `runtime`, for the generated `Env::open`: shared
/// backends keep the stores of different applications apart by the application name.
pub fn open_store(
    runtime: &Runtime,
    application: &'static str,
    name: &'static str,
) -> Result<KvStore> {
    runtime.store_of(Some(application), name)
}

/// Store `name` of an in-memory runtime, for the generated `Env::in_memory()`.
///
/// Infallible: the manifest's validation already checked the name. Should the runtime
/// refuse it anyway, the store is a fresh in-memory one of its own.
pub fn memory_store(runtime: &Runtime, name: &'static str) -> KvStore {
    runtime
        .store(name)
        .unwrap_or_else(|_| KvStore::in_memory(name))
}
