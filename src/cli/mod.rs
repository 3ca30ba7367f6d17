//! Command-line parsing and dispatch; one module per command group.

mod build;
mod project;
mod serve;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Manifest-driven key-value stores for Rust applications.
#[derive(Debug, Parser)]
#[command(name = "kv", version, about)]
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
    Serve(serve::ServeArgs),
}

/// Exit status when the manifest is invalid or a file cannot be read or written.
/// (Usage errors exit with clap's status, 2.)
const FAILURE: u8 = 1;

/// Parses the command line, runs the command and returns its exit status:
/// 0 on success, 1 on manifest or file errors, 2 on usage errors.
pub(crate) fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(command) => build::run(command),
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure) => ExitCode::from(FAILURE),
    }
}

/// A command failed; it has already told the user why on standard error.
#[derive(Debug)]
struct Failure;

/// Prints `error: <message>` on standard error and returns the failure.
fn fail(message: impl std::fmt::Display) -> Failure {
    eprintln!("error: {message}");
    Failure
}

/// Whether standard error may use colour and Unicode: a terminal, and no `NO_COLOR`.
fn fancy_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
