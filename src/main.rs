//! The `kv` command-line tool: generate the typed `Env` of a manifest (`kv build`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
