//! Manifest parser, validator and `Env` code generator for kv.
//!
//! An application declares its key-value stores in a manifest, `raindrop.manifest`:
//!
//! ```text
//! application "demo-app" {
//!   service "api" {}
//!   kv_store "demo-cache" {
//!     description = "Rendered pages, by URL"
//!   }
//! }
//! ```
//!
//! `kv_build` turns it into a typed `Env` with one field per store, `env.DEMO_CACHE`,
//! bound to `kv_runtime`. It is the one parser and one generator behind the three ways
//! in, which therefore produce identical code:
//!
//! - the CLI, for checked-in code: `kv build generate --manifest raindrop.manifest --out src/env.rs`;
//! - a build script, shown below;
//! - the proc-macro: `kv_runtime::import_manifest!("raindrop.manifest");` (feature `macros`).
//!
//! # From a build script
//!
//! Add the dependencies:
//!
//! ```toml
//! [dependencies]
//! kv-runtime = "0.1"
//!
//! [build-dependencies]
//! kv-build = "0.1"
//! ```
//!
//! Write `build.rs` next to `Cargo.toml`. The manifest path is relative to the crate;
//! Cargo reruns the script when the manifest changes:
//!
//! ```no_run
//! fn main() -> Result<(), kv_build::Report> {
//!     kv_build::compile("raindrop.manifest")
//! }
//! ```
//!
//! Include the generated `$OUT_DIR/kv_env.rs` in the crate, and use the stores:
//!
//! ```ignore
//! kv_runtime::include_env!();
//!
//! async fn remember(env: &Env) -> kv_runtime::Result<()> {
//!     env.DEMO_CACHE.put("user:123", "John Doe").await
//! }
//! ```
//!
//! Options, such as another path to the runtime, go through [`configure`]:
//!
//! ```no_run
//! fn main() -> Result<(), kv_build::Report> {
//!     kv_build::configure()
//!         .runtime_path("::my_platform::kv")
//!         .compile("raindrop.manifest")
//! }
//! ```
//!
//! If the manifest has errors, the build fails and prints every one of them, each with
//! its file, line and column and a caret under the spot:
//!
//! ```text
//! Error: kv::unknown_attribute
//!
//!   x `kv_store` has no attribute `ttl`
//!    ,-[raindrop.manifest:4:5]
//!  3 |   kv_store "demo-cache" {
//!  4 |     ttl = 60
//!    :     ^|^
//!    :      `-- unknown attribute
//!  5 |   }
//!    `----
//!   help: known attributes: `description`
//!
//! could not load `raindrop.manifest`: 1 error
//! ```
//!
//! # As a library
//!
//! The core is pure (no files, environment or printing): [`parse`] a [`Source`] into a
//! syntax tree ([`ast`]), [`validate`] it into an [`Application`], and give that to a
//! [`Generator`]. [`load`] does the first two steps.
//!
//! ```
//! use kv_build::{Generator, Source};
//!
//! let source = Source::new("raindrop.manifest", r#"
//! application "demo-app" {
//!   kv_store "demo-cache" {}
//!   kv_cache "sessions" { description = "Logged-in users" }
//!   observer "uploads" { source { rule { actions = ["PutObject"] } } }  # other plugins' blocks are fine
//! }
//! "#);
//! let app = kv_build::load(&source)?;
//! let bindings: Vec<&str> = app.stores().iter().map(|store| store.binding()).collect();
//! assert_eq!(bindings, ["DEMO_CACHE", "SESSIONS"]);
//!
//! let code = Generator::default().generate_file(&app);
//! assert!(code.contains("pub SESSIONS: ::kv_runtime::KvStore,"));
//! # Ok::<(), kv_build::Diagnostics>(())
//! ```
//!
//! Errors come back all at once, as [`Diagnostics`]:
//!
//! ```
//! let source = kv_build::Source::new("raindrop.manifest", r#"
//! application "demo-app" {
//!   kv_store "demo-cache" { ttl = 60 }
//!   kv_store "Sessions" {}
//! }
//! "#);
//! let errors = kv_build::load(&source).unwrap_err();
//! let codes: Vec<&str> = errors.iter().map(|d| d.code()).collect();
//! assert_eq!(codes, ["kv::unknown_attribute", "kv::invalid_name"]);
//! assert!(errors.render_plain().contains("[raindrop.manifest:3:27]"));
//! ```
//!
//! # The manifest language
//!
//! HCL-like blocks, `TYPE "label" { attribute = value  nested { ... } }` (the label is
//! optional); values are strings, integers, booleans, lists (`["a", "b"]`, across lines,
//! trailing comma allowed) and objects (`{ key = value }`); comments are `#`, `//` and
//! `/* */`. Any block type parses; the kv rules concern `application`, `kv_store`
//! (and its synonym `kv_cache`), `service` and `actor`. See [`codes`] for every rule.

#![doc(test(attr(deny(warnings))))]

#[cfg(feature = "manifest")]
pub mod ast;
#[cfg(feature = "manifest")]
mod builder;
#[cfg(feature = "manifest")]
mod codegen;
#[cfg(feature = "manifest")]
mod diagnostic;
#[cfg(feature = "manifest")]
mod error;
#[cfg(feature = "manifest")]
mod format;
#[cfg(feature = "manifest")]
pub mod model;
pub mod names;
#[cfg(feature = "manifest")]
mod parse;
#[cfg(feature = "manifest")]
mod source;
#[cfg(feature = "manifest")]
mod validate;

#[cfg(feature = "manifest")]
pub use builder::{Builder, ENV_FILE_NAME, compile, configure};
#[cfg(feature = "manifest")]
pub use codegen::{Generator, Settings};
#[cfg(feature = "manifest")]
pub use diagnostic::{Diagnostic, Diagnostics, Label, codes};
#[cfg(feature = "manifest")]
pub use error::{BuildError, Report};
#[cfg(feature = "manifest")]
pub use model::Application;
pub use names::is_valid_name;
#[cfg(feature = "manifest")]
pub use parse::parse;
#[cfg(feature = "manifest")]
pub use source::Source;
#[cfg(feature = "manifest")]
pub use validate::validate;

#[cfg(feature = "manifest")]
/// Parses and validates a manifest: [`parse`], then [`validate`].
///
/// # Errors
///
/// The syntax error, if the text does not parse; otherwise every rule the manifest
/// breaks.
///
/// # Examples
///
/// ```
/// let source = kv_build::Source::new("raindrop.manifest", "application \"demo-app\" {}");
/// let app = kv_build::load(&source)?;
/// assert_eq!(app.name(), "demo-app");
/// assert!(app.stores().is_empty());
/// # Ok::<(), kv_build::Diagnostics>(())
/// ```
pub fn load(source: &Source) -> Result<Application, Diagnostics> {
    validate(&parse(source)?)
}
