//! The typed view of a manifest after validation: what the kv plugin knows about.
//!
//! Values of these types only come out of [`validate`](crate::validate) and
//! [`load`](crate::load), so they always hold valid names and unique bindings.

/// A 1-based line and column (in characters) in the manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Location {
    /// Line, starting at 1.
    pub line: usize,
    /// Column in characters, starting at 1.
    pub column: usize,
}

/// The application a manifest declares, with what the kv plugin needs from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    pub(crate) name: String,
    pub(crate) manifest: String,
    pub(crate) location: Location,
    pub(crate) stores: Vec<KvStore>,
    pub(crate) services: Vec<Service>,
    pub(crate) actors: Vec<Actor>,
}

impl Application {
    /// The application's name: `demo-app` in `application "demo-app" { ... }`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The manifest's file name (`raindrop.manifest`), as generated code cites it.
    pub fn manifest(&self) -> &str {
        &self.manifest
    }

    /// Where the `application` block starts.
    pub fn location(&self) -> Location {
        self.location
    }

    /// The key-value stores (`kv_store` and `kv_cache` blocks), in manifest order.
    pub fn stores(&self) -> &[KvStore] {
        &self.stores
    }

    /// The services, in manifest order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The actors, in manifest order.
    pub fn actors(&self) -> &[Actor] {
        &self.actors
    }
}

/// Which block declared a store; both mean the same to kv.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// `kv_store "name" {}`.
    KvStore,
    /// `kv_cache "name" {}`, the synonym real Raindrop manifests use.
    KvCache,
}

impl StoreKind {
    /// The block type as written in the manifest: `kv_store` or `kv_cache`.
    pub fn block_type(self) -> &'static str {
        match self {
            StoreKind::KvStore => "kv_store",
            StoreKind::KvCache => "kv_cache",
        }
    }
}

/// A key-value store of the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvStore {
    pub(crate) name: String,
    pub(crate) binding: String,
    pub(crate) description: Option<String>,
    pub(crate) kind: StoreKind,
    pub(crate) location: Location,
}

impl KvStore {
    /// The store's name: `demo-cache`; what `Runtime::store` opens.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `Env` field: the name in SHOUTY_SNAKE_CASE (`DEMO_CACHE`).
    pub fn binding(&self) -> &str {
        &self.binding
    }

    /// The `description` attribute, if set; it becomes the field's doc comment.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The block type that declared the store.
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// Where the store's block starts.
    pub fn location(&self) -> Location {
        self.location
    }
}

/// A service (HTTP handler) of the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub(crate) name: String,
    pub(crate) location: Location,
}

impl Service {
    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the service's block starts.
    pub fn location(&self) -> Location {
        self.location
    }
}

/// An actor (stateful object addressed by id) of the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub(crate) name: String,
    pub(crate) location: Location,
}

impl Actor {
    /// The actor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the actor's block starts.
    pub fn location(&self) -> Location {
        self.location
    }
}
