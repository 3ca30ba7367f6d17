//! `kv serve` as a process: reads the manifest and kv.toml, takes authentication from
//! the environment, prints its address, stops on SIGTERM after flushing the stores.

mod serve_bin;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MANIFEST: &str = "application \"demo-app\" {\n  kv_store \"demo-cache\" {}\n}\n";

#[allow(clippy::unwrap_used, reason = "test helper")]
fn write_app(dir: &Path) {
    std::fs::write(dir.join("raindrop.manifest"), MANIFEST).unwrap();
    std::fs::write(dir.join("kv.toml"), "data_dir = \"data\"\n").unwrap();
}

#[cfg(unix)]
#[test]
fn serves_then_flushes_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    write_app(dir.path());
    let mut child = serve_bin::command(dir.path())
        .env("KV_API_KEY", "cli-key")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let line = serve_bin::listening_line(&mut child);
    assert!(
        line.starts_with("kv serve: listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains("demo-cache"), "{line}");
    let base = serve_bin::address_in(&line);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let health = http
            .get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(health, 200);
        let url =
            format!("{base}/client/v4/accounts/a/storage/kv/namespaces/demo-cache/values/greeting");
        let status = http
            .put(&url)
            .bearer_auth("cli-key")
            .body("hello")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        let status = http
            .put(&url)
            .bearer_auth("other")
            .body("x")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401);
    });

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "kv serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("stores flushed"), "{stderr}");

    // The data is on disk: a new runtime on the same directory reads it.
    runtime.block_on(async {
        let rt = kv_runtime::Runtime::open(dir.path().join("data"))
            .await
            .unwrap();
        let value = rt
            .store("demo-cache")
            .unwrap()
            .get("greeting")
            .text()
            .await
            .unwrap();
        assert_eq!(value.as_deref(), Some("hello"));
    });
}

#[test]
fn no_auth_on_a_public_address_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    write_app(dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_kv"))
        .args([
            "serve",
            "--no-auth",
            "--addr",
            "0.0.0.0:0",
            "--config",
            "kv.toml",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to serve without authentication on 0.0.0.0:0"),
        "{stderr}"
    );
}

#[test]
fn a_missing_manifest_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_kv"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read `raindrop.manifest`"),
        "{stderr}"
    );
}

/// `kv serve --no-auth --addr ADDR`'s exit code and standard error.
#[allow(clippy::unwrap_used, reason = "test helper")]
fn serve_no_auth(dir: &Path, addr: &str) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kv"))
        .args(["serve", "--no-auth", "--addr", addr, "--config", "kv.toml"])
        .current_dir(dir)
        .env_remove("KV_API_KEY")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn no_auth_is_refused_on_every_form_of_a_non_loopback_address() {
    let dir = tempfile::tempdir().unwrap();
    write_app(dir.path());
    // Every address that is not loopback, however written, including IPv4-mapped
    // IPv6 (refused even for 127.0.0.1: only 127.0.0.0/8 and ::1 count).
    for addr in [
        "0.0.0.0:0",
        "[::]:0",
        "[0:0:0:0:0:0:0:0]:0",
        "[::ffff:0.0.0.0]:0",
        "[::ffff:127.0.0.1]:0",
        "192.0.2.1:0",
        "[2001:db8::1]:0",
        "[fe80::1%1]:0",
    ] {
        let (code, stderr) = serve_no_auth(dir.path(), addr);
        assert_eq!(code, Some(1), "{addr}: {stderr}");
        assert!(
            stderr.contains("refusing to serve without authentication"),
            "{addr}: {stderr}"
        );
    }
    // Host names (which could resolve anywhere) and shorthand forms are not socket
    // addresses: a usage error, before anything is resolved or bound.
    for addr in [
        "0:0",
        "0",
        "8787",
        "localhost:0",
        "example.test:0",
        "127.1:0",
        "0x7f.0.0.1:0",
        "2130706433:0",
        "[::1]",
    ] {
        let (code, stderr) = serve_no_auth(dir.path(), addr);
        assert_eq!(code, Some(2), "{addr}: {stderr}");
        assert!(
            stderr.contains("invalid socket address"),
            "{addr}: {stderr}"
        );
    }
}
