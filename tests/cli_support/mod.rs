//! Shared by the `cli_*` tests: a project directory (manifest + kv.toml), the `kv`
//! binary run in it, and a real `kv serve` on a random port for `--remote`.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test crate uses part of this module"
)]
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "test helpers")]

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use assert_cmd::Command;

pub const MANIFEST: &str = r#"application "demo-app" {
  kv_store "demo-cache" {}
  kv_store "files" {}
  kv_store "sessions" {}
}
"#;

/// `files` takes values up to 64 MiB; `sessions` accepts TTLs down to 1 second.
pub const CONFIG: &str = r#"data_dir = "data"

[stores.files]
max_value_size = 67108864

[stores.sessions]
min_ttl = 1
"#;

/// The API key of the servers the tests start.
pub const API_KEY: &str = "cli-test-key";

/// A directory with `raindrop.manifest` and `kv.toml`.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("raindrop.manifest"), MANIFEST).unwrap();
        std::fs::write(dir.path().join("kv.toml"), CONFIG).unwrap();
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// `kv ARGS` in the project, with no `KV_*` credentials from the environment.
    pub fn kv(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kv"));
        cmd.current_dir(self.dir.path());
        for var in crate::serve_bin::CREDENTIALS {
            cmd.env_remove(var);
        }
        cmd
    }

    /// `kv ARGS`, locally or against `server` (with its credentials).
    pub fn on(&self, server: Option<&Server>) -> Target<'_> {
        Target {
            project: self,
            remote: server.map(|s| s.url.clone()),
        }
    }

    /// Starts `kv serve` on this project's data directory, on a random port.
    pub fn serve(&self) -> Server {
        let mut child = crate::serve_bin::command(self.dir.path())
            .env("KV_API_KEY", API_KEY)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = crate::serve_bin::address(&mut child);
        Server { child, url }
    }
}

/// Where a command runs: locally, or `--remote`.
pub struct Target<'a> {
    project: &'a Project,
    remote: Option<String>,
}

impl Target<'_> {
    /// `kv GROUP ARGS...` with `--remote URL` and the API key when remote (so no
    /// argument may follow: put them all in `args`).
    pub fn kv(&self, args: &[&str]) -> Command {
        let mut cmd = self.project.kv();
        cmd.args(args);
        if let Some(url) = &self.remote {
            cmd.args(["--remote", url]).env("KV_API_KEY", API_KEY);
        }
        cmd
    }

    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }
}

/// A `kv serve` child process, stopped on drop.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard output and error of a finished command.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Deterministic pseudo-random bytes (xorshift), for binary values.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.max(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}
