//! End to end: the demo-app binary that cargo built from the manifest, started on a
//! free port, driven over HTTP, stopped with SIGTERM, restarted on the same data
//! directory — where the session still is.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

/// A running demo-app, killed when dropped.
struct App {
    child: Child,
    base: String,
}

impl App {
    /// Starts the binary on 127.0.0.1 with an OS-chosen port, and waits for its
    /// "listening on" line.
    fn start(data_dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_demo-app"))
            .args(["--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .rsplit_once(" on ")
            .map(|(_, url)| url.to_owned())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Self { child, base }
    }

    /// Sends SIGTERM and waits (at most 10 s) for a clean exit.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "demo-app exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "demo-app did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn welcome(
    client: &reqwest::Client,
    app: &App,
    cookie: Option<&str>,
) -> (StatusCode, String) {
    let mut request = client.get(format!("{}/", app.base));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn login_welcome_401_and_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();

    let app = App::start(data.path());
    let response = client
        .post(format!("{}/login", app.base))
        .json(&serde_json::json!({"userId": 42}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        cookie,
        format!("session={}", body["sessionId"].as_str().unwrap())
    );
    assert_eq!(body["expiresIn"], 86_400);

    assert_eq!(
        welcome(&client, &app, Some(&cookie)).await,
        (StatusCode::OK, "Welcome user 42".into())
    );
    assert_eq!(
        welcome(&client, &app, None).await,
        (StatusCode::UNAUTHORIZED, "Session not found".into())
    );
    app.stop();

    // Same data directory, new process: the session survived.
    let app = App::start(data.path());
    assert_eq!(
        welcome(&client, &app, Some(&cookie)).await,
        (StatusCode::OK, "Welcome user 42".into())
    );
    app.stop();
}

#[test]
fn a_second_instance_on_the_same_data_is_refused_clearly() {
    let data = tempfile::tempdir().unwrap();
    let _first = App::start(data.path());
    let second = Command::new(env!("CARGO_BIN_EXE_demo-app"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("is in use by another process"), "{stderr}");
}
