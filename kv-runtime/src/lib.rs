//! Workers KV for Rust applications: typed key-value stores declared in a manifest,
//! on an embedded [fjall](https://docs.rs/fjall) database by default.
//!
//! # The 5-minute tour
//!
//! An application declares its stores in `raindrop.manifest`:
//!
//! ```text
//! application "demo-app" {
//!   kv_store "demo-cache" {}
//! }
//! ```
//!
//! `kv build generate` (or `kv_build::compile` in `build.rs`, or
//! `import_manifest!` with the `macros` feature) turns it into a typed `Env` with one
//! [`KvStore`] field per store, `env.DEMO_CACHE`. Each field is what
//! [`Runtime::store`] returns, so this tour uses that directly:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> kv_runtime::Result<()> {
//! use kv_runtime::{Json, Runtime};
//! use serde::{Deserialize, Serialize};
//! use serde_json::json;
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Session { user: String }
//!
//! let dir = tempfile::tempdir().unwrap();
//! let rt = Runtime::open(dir.path()).await?;        // fjall in `dir`
//! let cache = rt.store("demo-cache")?;              // what `env.DEMO_CACHE` is
//!
//! cache.put("user:123", "John Doe").await?;
//! cache.put("session:abc", Json(&Session { user: "123".into() }))
//!     .expiration_ttl(3600)
//!     .await?;
//! cache.put("file:456", vec![0x89, b'P', b'N', b'G'])
//!     .metadata(json!({"contentType": "image/png"}))
//!     .await?;
//!
//! let name: Option<String> = cache.get("user:123").text().await?;
//! let session: Option<Session> = cache.get("session:abc").json().await?;
//! let file = cache.get_with_metadata("file:456").bytes().await?;
//! assert_eq!(name.as_deref(), Some("John Doe"));
//! assert_eq!(session, Some(Session { user: "123".into() }));
//! assert_eq!(file.metadata, Some(json!({"contentType": "image/png"})));
//!
//! let page = cache.list().prefix("session:").limit(100).await?;
//! assert_eq!(page.keys[0].name, "session:abc");
//! assert!(page.list_complete);
//!
//! cache.delete("user:123").await?;                  // idempotent
//! # Ok(())
//! # }
//! ```
//!
//! # Semantics
//!
//! Those of Cloudflare Workers KV, with its error messages: keys are 1 to 512 bytes of
//! UTF-8 and not `.` or `..`; values are at most 25 MiB (configurable per store);
//! metadata is any JSON of at most 1024 bytes; `expiration_ttl` is at least 60 seconds
//! (configurable down to 1) and wins over `expiration`; expired keys are never
//! returned; `list` pages through keys in byte order with cursors bound to their
//! prefix. Every limit is a constant in [`limits`]. A failed operation writes nothing.
//!
//! # Time
//!
//! Expiration reads the runtime's [`Clock`]. Tests install a [`ManualClock`] with
//! [`RuntimeBuilder::clock`] and move time with [`ManualClock::advance`], never sleeping.
//!
//! # Backends
//!
//! Chosen per store in [`Config`] (`kv.toml`): `fjall` (default; on disk, one process at
//! a time) or `memory`. Durability per store: `buffered` (default) or `sync`.

#![doc(test(attr(deny(warnings))))]

pub mod actor;
#[cfg(feature = "axum")]
mod axum;
pub mod backend;
mod bulk;
mod cache;
mod change;
mod clock;
mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
mod count;
mod cursor;
mod delete;
mod error;
mod expiration;
mod get;
mod key;
pub mod limits;
mod list;
mod purger;
mod put;
mod runtime;
mod stats;
mod store;
mod touch;
mod update;
mod value;
mod version;
mod watch;

#[doc(hidden)]
#[path = "codegen.rs"]
pub mod __codegen;

/// An audit of a fjall store on disk, for the crash harness (`examples/crash`); not a
/// stable API.
#[cfg(feature = "audit")]
#[doc(hidden)]
pub mod __audit {
    pub use crate::backend::fjall::audit::{FjallAudit, audit_fjall_store};
}

pub use bytes::Bytes;

pub use crate::bulk::{GetManyRequest, GetManyWithMetadataRequest};
pub use crate::change::Change;
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::config::{Config, Durability, StoreConfig};
pub use crate::count::CountRequest;
pub use crate::delete::DeleteRequest;
pub use crate::error::{Error, Result};
pub use crate::get::{
    CacheStatus, GetRequest, GetWithMetadataRequest, ValueStream, ValueWithMetadata,
};
pub use crate::list::{KeyInfo, ListRequest, ListResult};
pub use crate::put::{BulkPut, PutRequest};
pub use crate::runtime::{Runtime, RuntimeBuilder};
pub use crate::stats::{Operation, StoreStats};
pub use crate::store::KvStore;
pub use crate::touch::{Touch, TouchRequest};
pub use crate::update::{DEFAULT_UPDATE_ATTEMPTS, UpdateRequest};
pub use crate::value::{Body, Json, Value};
pub use crate::version::Version;
pub use crate::watch::{WatchRequest, WatchStream};

#[cfg(feature = "macros")]
#[doc(inline)]
pub use kv_macros::import_manifest;

/// Includes the `Env` that `kv_build::compile` generated in `build.rs`.
///
/// ```ignore
/// // build.rs
/// fn main() -> Result<(), kv_build::Report> {
///     kv_build::compile("raindrop.manifest")
/// }
///
/// // src/main.rs
/// kv_runtime::include_env!();
/// ```
#[macro_export]
macro_rules! include_env {
    () => {
        include!(concat!(env!("OUT_DIR"), "/kv_env.rs"));
    };
}

/// The repository README's Rust examples, compiled and run as doctests so they cannot
/// rot. They use the `macros` and `axum` features, as CI's `--all-features` run has.
#[cfg(all(doctest, feature = "macros", feature = "axum"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
