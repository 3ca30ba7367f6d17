//! The `kv` package's library: the REST server behind `kv serve`, usable on its own.
//!
//! ```no_run
//! # async fn run() -> Result<(), kv::server::ServeError> {
//! use kv::server::{AuthSettings, Server, Settings};
//!
//! let runtime = kv_runtime::Runtime::open(".kv").await?;
//! let settings = Settings::new(AuthSettings {
//!     api_key: Some("secret".into()),
//!     ..AuthSettings::default()
//! });
//! let server = Server::bind(settings, runtime, ["demo-cache"]).await?;
//! server.run(kv::server::shutdown_signal()).await
//! # }
//! ```
//!
//! The command-line tool (`kv build`, `kv serve`) is the binary of this package.

pub mod server;
