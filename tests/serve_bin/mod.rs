//! `kv serve` as a process, for the tests that run the binary: the command, on a random
//! loopback port and with none of the environment's `KV_*` credentials, and the address
//! it prints once it listens.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test crate uses part of this module"
)]
#![allow(clippy::unwrap_used, reason = "test helpers")]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Every variable `kv serve` and the data commands take credentials from.
pub const CREDENTIALS: [&str; 6] = [
    "KV_API_KEY",
    "KV_TOKEN",
    "KV_USERNAME",
    "KV_PASSWORD",
    "KV_JWT_SECRET",
    "KV_JWKS_URL",
];

/// `kv serve --addr 127.0.0.1:0 --config kv.toml` in `dir`, with no credentials from
/// the environment and standard output piped, for [`address`].
pub fn command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kv"));
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--config", "kv.toml"])
        .current_dir(dir)
        .stdout(Stdio::piped());
    for var in CREDENTIALS {
        command.env_remove(var);
    }
    command
}

/// The first line `child` printed, which says it listens and on which stores.
pub fn listening_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("kv serve: listening on http://"),
        "{line:?}"
    );
    line
}

/// The base URL (`http://127.0.0.1:PORT`) in `kv serve`'s first line.
pub fn address_in(line: &str) -> String {
    line.split_whitespace().nth(4).unwrap().to_owned()
}

/// The base URL `child` listens on.
pub fn address(child: &mut Child) -> String {
    address_in(&listening_line(child))
}
