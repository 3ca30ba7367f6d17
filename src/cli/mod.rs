//! Command-line parsing and dispatch; one module per command group.

mod build;
mod data;
mod project;
mod serve;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Manifest-driven key-value stores for Rust applications.
#[derive(Debug, Parser)]
#[command(
    name = "kv",
    version,
    about,
    after_help = "Example: kv key put demo-cache user:1 \"John Doe\" --ttl 3600"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
enum Command {
    /// Generate or check the typed `Env` of a manifest.
    #[command(subcommand)]
    Build(build::BuildCommand),
    /// Serve the manifest's stores over HTTP: JSON routes under /v1 and Cloudflare's
    /// Workers KV API under /client/v4.
    ///
    /// Authentication comes from the environment: KV_API_KEY, KV_USERNAME and
    /// KV_PASSWORD, KV_JWT_SECRET, KV_JWKS_URL (with KV_JWT_ISSUER, KV_JWT_AUDIENCE).
    /// With none set, data routes answer 401 unless --no-auth is given.
    #[command(after_help = "Example: kv serve --config kv.toml (with KV_API_KEY=... set)")]
    Serve(serve::ServeArgs),
    /// Put, get, list and delete single keys, locally or on a `kv serve` (--remote).
    #[command(
        subcommand,
        after_help = "Example: kv key get demo-cache user:1 --text"
    )]
    Key(data::key::KeyCommand),
    /// Put, get and delete many keys from a JSON file in wrangler's formats.
    #[command(subcommand, after_help = "Example: kv bulk put demo-cache items.json")]
    Bulk(data::bulk::BulkCommand),
    /// Write every key of the stores as JSON Lines: values byte-exact, with metadata and
    /// expiration.
    Export(data::export::ExportArgs),
    /// Read an export back into the stores (the same or another backend).
    Import(data::import::ImportArgs),
}

/// Exit status when a command fails: invalid manifest, a file that cannot be read or
/// written, a store operation that failed. (Usage errors exit with clap's status, 2.)
const FAILURE: u8 = 1;

/// Exit status for a usage error found after parsing (clap's own are 2 as well).
const USAGE: u8 = 2;

/// Parses the command line, runs the command and returns its exit status:
/// 0 on success, 1 on failure, 2 on usage errors.
pub(crate) fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(command) => build::run(command),
        Command::Serve(args) => serve::run(args),
        Command::Key(command) => data::key::run(command),
        Command::Bulk(command) => data::bulk::run(command),
        Command::Export(args) => data::export::run(args),
        Command::Import(args) => data::import::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { code }) => ExitCode::from(code),
    }
}

/// A command failed; it has already told the user why on standard error.
#[derive(Debug)]
struct Failure {
    /// The exit status: [`FAILURE`] or [`USAGE`].
    code: u8,
}

/// Prints `error: <message>` on standard error and returns the failure.
fn fail(message: impl std::fmt::Display) -> Failure {
    eprintln!("error: {message}");
    Failure { code: FAILURE }
}

/// As [`fail`], for a usage error (exit status 2).
fn usage(message: impl std::fmt::Display) -> Failure {
    eprintln!("error: {message}");
    Failure { code: USAGE }
}

/// Whether standard error may use colour and Unicode: a terminal, and no `NO_COLOR`.
fn fancy_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
