//! A real Cloudflare client against `kv serve`: the official `cloudflare` Python SDK
//! (pinned in .ci/run) runs tests/clients/cloudflare_roundtrip.py with `base_url`
//! pointed at a server on 127.0.0.1 — put with metadata and TTL, get, list with
//! pagination to the end, bulk put/get/delete, delete.
//!
//! Skipped, with a message, only when python3 or the package is missing locally; when
//! the `CI` environment variable is set, a missing client fails the test instead.

mod common;

use std::path::Path;
use std::process::Command;

use common::{API_KEY, TestServer};

#[allow(clippy::unwrap_used, reason = "test helper")]
fn python_with_cloudflare() -> Result<(), String> {
    let output = Command::new("python3")
        .args(["-c", "import cloudflare; print(cloudflare.__version__)"])
        .output()
        .map_err(|e| format!("python3 is not available ({e})"))?;
    if output.status.success() {
        eprintln!(
            "using cloudflare-python {}",
            String::from_utf8_lossy(&output.stdout).trim()
        );
        Ok(())
    } else {
        Err(format!(
            "the cloudflare package is not installed for python3 ({}); install it with \
             `python3 -m pip install cloudflare==5.9.0` as .ci/run does",
            String::from_utf8_lossy(&output.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or("")
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudflare_python_sdk_round_trip() {
    if let Err(why) = python_with_cloudflare() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set, so the real-client test must run: {why}"
        );
        eprintln!("SKIPPED cloudflare_python_sdk_round_trip: {why}");
        return;
    }
    let s = TestServer::start().await;
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/cloudflare_roundtrip.py");
    let base = s.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args([base.as_str(), API_KEY, "demo-cache"])
            .output()
    })
    .await
    .expect("join")
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the SDK round trip failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("ok: cloudflare-python round trip"),
        "{stdout}"
    );
    // The SDK's writes went through the runtime: everything it deleted is gone.
    assert!(s.store("demo-cache").list().await.unwrap().keys.is_empty());
    s.stop().await;
}
