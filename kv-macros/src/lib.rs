//! The `import_manifest!` proc-macro: a typed `Env` from a kv manifest, at compile time.
//!
//! Use it through `kv_runtime` with the `macros` feature, as
//! `kv_runtime::import_manifest!`. This crate is a thin shell over `kv_build`: the same
//! parser, checks and generator as `kv build generate` and `build.rs`, so all three
//! produce the same code.

mod expand;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Generates the typed `Env` of a manifest at compile time.
///
/// Three forms:
///
/// - `import_manifest!("raindrop.manifest")`: the path is relative to the crate's
///   directory (`CARGO_MANIFEST_DIR`), never the working directory; absolute paths are
///   refused. The crate is rebuilt when the manifest changes.
/// - `import_manifest!(path = "raindrop.manifest", runtime = ::kv_runtime, env = Env)`:
///   `runtime` is the path to `kv_runtime` (default `::kv_runtime`, for crates that
///   re-export it), `env` the name of the generated struct (default `Env`).
/// - `import_manifest!(inline = r#"application "demo-app" { ... }"#)`: the manifest
///   itself, for tests and examples.
///
/// It expands to `pub struct Env` (`Clone + Debug + Send + Sync + 'static`) with one
/// `pub DEMO_CACHE: kv_runtime::KvStore` field per `kv_store` or `kv_cache` block,
/// `Env::APPLICATION`, `Env::STORES`, `Env::open(&Runtime) -> Result<Env>` and
/// `Env::in_memory()`.
///
/// # Examples
///
/// ```
/// kv_runtime::import_manifest!(inline = r#"
///     application "demo-app" {
///       service "api" {}
///       kv_store "demo-cache" { description = "Rendered pages" }
///     }
/// "#);
///
/// let env = Env::in_memory();
/// let _store: &kv_runtime::KvStore = &env.DEMO_CACHE;
/// assert_eq!(Env::STORES, ["demo-cache"]);
/// ```
///
/// # Errors
///
/// A manifest error is a compile error at the macro's string literal, showing the
/// manifest's file, line and column, the line itself with a `^` caret, and a help line;
/// one error per problem:
///
/// ```text
/// error: kv::unknown_attribute
///
///          x `kv_store` has no attribute `ttl`
///           ,-[raindrop.manifest:3:5]
///         2 |   kv_store "demo-cache" {
///         3 |     ttl = 60
///           :     ^|^
///           :      `-- unknown attribute
///         4 |   }
///           `----
///          help: known attributes: `description`
///  --> src/main.rs:1:30
/// ```
#[proc_macro]
pub fn import_manifest(input: TokenStream) -> TokenStream {
    expand::import_manifest(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
