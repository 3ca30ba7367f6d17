//! The `kv` command-line tool: generate the typed `Env` of a manifest (`kv build`) and
//! serve its stores over HTTP (`kv serve`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
