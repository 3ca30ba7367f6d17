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
        Self::spawn(&["--data-dir".as_ref(), data_dir.as_os_str()])
    }

    /// Starts the binary with a kv.toml (`--config`).
    #[cfg(any(feature = "redis", feature = "postgres"))]
    fn with_config(config: &Path) -> Self {
        Self::spawn(&["--config".as_ref(), config.as_os_str()])
    }

    fn spawn(args: &[&std::ffi::OsStr]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_demo-app"))
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
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

/// Two instances of the app behind a load balancer, as it were: a session created
/// through one is visible through the other, and a logout through the second ends it
/// for the first. `kv.toml` names the shared backend; the app's code is the same.
#[cfg(any(feature = "redis", feature = "postgres"))]
async fn two_instances_share_sessions(backend: &str, url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kv.toml");
    let namespace = format!("demo-e2e-{}/demo-cache", std::process::id());
    std::fs::write(
        &config,
        format!(
            "[defaults]\nbackend = \"{backend}\"\nurl = \"{url}\"\nnamespace = \"{namespace}\"\n"
        ),
    )
    .unwrap();
    let (a, b) = (App::with_config(&config), App::with_config(&config));
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/login", a.base))
        .json(&serde_json::json!({"userId": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert_eq!(
        welcome(&client, &b, Some(&cookie)).await,
        (StatusCode::OK, "Welcome user 7".into()),
        "the session written by instance A is read by instance B"
    );
    let logout = client
        .post(format!("{}/logout", b.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        welcome(&client, &a, Some(&cookie)).await,
        (StatusCode::UNAUTHORIZED, "Session not found".into()),
        "a logout through B ends the session for A"
    );
    a.stop();
    b.stop();
}

/// The server's address from `variable`; `None` (a loud skip) outside CI, a failure in CI.
#[cfg(any(feature = "redis", feature = "postgres"))]
fn server(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{variable} is not set (CI is set: this test must run)"
            );
            eprintln!(
                "SKIPPED — {variable} is not set; start a server with .ci/redis.sh or .ci/postgres.sh"
            );
            None
        }
    }
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_sessions_on_redis() {
    if let Some(url) = server("KV_TEST_REDIS_URL") {
        two_instances_share_sessions("redis", &url).await;
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_sessions_on_postgres() {
    if let Some(url) = server("KV_TEST_POSTGRES_URL") {
        two_instances_share_sessions("postgres", &url).await;
    }
}
