//! The built-in backends as conformance targets.

use futures_util::future::{BoxFuture, FutureExt as _, ready};

use super::Target;
use crate::{Config, Runtime, RuntimeBuilder, StoreConfig};

/// The memory backend: a fresh in-memory runtime per test; nothing persists.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryTarget;

impl Target for MemoryTarget {
    type Place = ();

    fn place(&self) -> BoxFuture<'static, ()> {
        ready(()).boxed()
    }

    fn runtime(&self, _place: &(), store: StoreConfig) -> RuntimeBuilder {
        let mut config = Config::default();
        config.defaults = store.backend(crate::backend::memory::NAME);
        Runtime::builder().config(config)
    }

    fn persistent(&self) -> bool {
        false
    }
}

/// The fjall backend: a fresh temporary data directory per test.
#[derive(Debug, Clone, Copy, Default)]
pub struct FjallTarget;

impl Target for FjallTarget {
    type Place = tempfile::TempDir;

    fn place(&self) -> BoxFuture<'static, tempfile::TempDir> {
        ready(tempfile::tempdir().expect("a temporary directory for the fjall target")).boxed()
    }

    fn runtime(&self, place: &tempfile::TempDir, store: StoreConfig) -> RuntimeBuilder {
        let mut config = Config::default();
        config.defaults = store.backend(crate::backend::fjall::NAME);
        Runtime::builder().config(config).data_dir(place.path())
    }
}
