//! `demo-app`: the Raindrop KV basic-usage service.
//!
//! ```text
//! cargo run -p demo-app                          # 127.0.0.1:8787, data in ./.kv
//! cargo run -p demo-app -- --addr 127.0.0.1:9000 --data-dir /tmp/demo
//! cargo run -p demo-app -- --config kv.toml      # backends and limits from a kv.toml
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use demo_app::{Env, router};
use kv_runtime::Runtime;

/// Serves the demo app: POST /login, GET /, POST /logout.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    addr: SocketAddr,
    /// Where the embedded store keeps its data (ignored with --config).
    #[arg(long, default_value = ".kv")]
    data_dir: PathBuf,
    /// A kv.toml with the data directory, backends and limits.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo-app: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = match &args.config {
        Some(path) => Runtime::from_config_file(path).await?,
        None => Runtime::open(&args.data_dir).await?,
    };
    let env = Env::open(&runtime)?;
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!(
        "demo-app ({}) listening on http://{}",
        Env::APPLICATION,
        listener.local_addr()?
    );
    axum::serve(listener, router(env))
        .with_graceful_shutdown(shutdown())
        .await?;
    runtime.flush().await?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
