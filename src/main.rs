//! The `kv` command-line tool: generate the typed `Env` of a manifest (`kv build`) and
//! serve its stores over HTTP (`kv serve`).

mod cli;

/// The binary's allocator: mimalloc, which costs a fraction of glibc's malloc per
/// request (measured with bench/instructions.sh) and returns freed memory to the
/// system. The library crates leave the choice to their users.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::run()
}
