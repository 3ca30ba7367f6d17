//! `kv serve`: the manifest's stores over HTTP (see `kv::server`).
//!
//! This is the one place that reads the server's environment variables
//! (`AuthSettings::from_env`); the server itself takes explicit settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use kv::server::{ACCESS_LOG, AuthSettings, DEFAULT_ADDR, Server, Settings, shutdown_signal};

use super::build::{ManifestArg, load};
use super::project;
use super::{Failure, fail};

/// `kv serve [--manifest PATH] [--config kv.toml] [--addr 127.0.0.1:8787] [--no-auth]`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    manifest: ManifestArg,
    /// The runtime configuration (backends, durability, limits per store). Default:
    /// `./kv.toml` if it exists, else every store in fjall under `./.kv`.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Where to listen. Use 0.0.0.0 only behind authentication.
    #[arg(long, value_name = "ADDR", default_value_t = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// Serve without authentication (refused unless --addr is a loopback address).
    #[arg(long)]
    no_auth: bool,
    /// Serve /metrics without authentication, for a Prometheus scraper that sends no
    /// credentials (the metrics hold no keys or values, but do name stores and routes).
    #[arg(long)]
    public_metrics: bool,
    /// Log every request (method, route template, status, latency, bytes, client) at
    /// info on the target kv::access; also on with RUST_LOG=kv::access=info. Off by
    /// default: a log line costs about as much as the request it describes.
    #[arg(long)]
    access_log: bool,
    /// Abandon a request (answering 408) after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    request_timeout: u64,
    /// Close a connection whose request headers have not all arrived after this many
    /// seconds; this is also how long an idle keep-alive connection stays open (set it
    /// above the idle timeout of a load balancer in front).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    header_read_timeout: u64,
}

/// Runs `kv serve` until Ctrl-C or SIGTERM.
pub(super) fn run(args: ServeArgs) -> Result<(), Failure> {
    init_logging(args.access_log);
    let app = load(&args.manifest.manifest)?;
    let config = project::load_config(args.config.as_deref())?;
    let stores: Vec<String> = app.stores().iter().map(|s| s.name().to_owned()).collect();
    let settings = Settings::new(AuthSettings::from_env())
        .addr(args.addr)
        .no_auth(args.no_auth)
        .public_metrics(args.public_metrics)
        .request_timeout(Duration::from_secs(args.request_timeout.max(1)))
        .header_read_timeout(Duration::from_secs(args.header_read_timeout.max(1)))
        .application(app.name());
    raise_open_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| fail(format_args!("cannot start the async runtime: {error}")))?;
    runtime.block_on(async move {
        let kv = project::open_runtime(config, Some(&app))
            .await
            .map_err(|error| fail(project::open_error(&error, false)))?;
        let server = Server::bind(settings, kv, stores.clone())
            .await
            .map_err(fail)?;
        let addr = server.local_addr().map_err(fail)?;
        // Scripts and tests read this line to learn the port chosen for port 0.
        println!(
            "kv serve: listening on http://{addr} ({} stores: {})",
            stores.len(),
            stores.join(", ")
        );
        server.run(shutdown_signal()).await.map_err(fail)
    })
}

/// Raises the soft limit on open files to the hard limit: each connection is a file,
/// and the usual soft default (1024) would stop `kv serve` accepting long before its
/// memory does. (Go's runtime does the same for every program.)
fn raise_open_file_limit() {
    #[cfg(unix)]
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
    }
}

/// Logs to standard error as `RUST_LOG` says: a level (`error`, `warn`, `info` — the
/// default —, `debug`, `trace`) and per-target levels, e.g. `warn,kv::access=info`.
/// The access log (target `kv::access`) is on with `--access-log` or when `RUST_LOG`
/// names it. One JSON object per line when `KV_LOG_FORMAT=json`, human-readable
/// otherwise. A `RUST_LOG` that does not parse is reported and the default used.
fn init_logging(access_log: bool) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let spec = std::env::var("RUST_LOG").unwrap_or_default();
    let (filter, bad) = match spec.trim() {
        "" => (Targets::new().with_default(LevelFilter::INFO), None),
        spec => match spec.parse::<Targets>() {
            Ok(filter) => (filter, None),
            Err(error) => (
                Targets::new().with_default(LevelFilter::INFO),
                Some(format!("RUST_LOG={spec:?} ignored: {error}")),
            ),
        },
    };
    let filter = if access_log {
        filter.with_target(ACCESS_LOG, LevelFilter::INFO)
    } else if spec.contains(ACCESS_LOG) {
        filter
    } else {
        filter.with_target(ACCESS_LOG, LevelFilter::OFF)
    };
    let json = std::env::var("KV_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr);
        registry.with(layer).init();
    } else {
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(super::fancy_stderr());
        registry.with(layer).init();
    }
    if let Some(bad) = bad {
        tracing::warn!("{bad}");
    }
}
