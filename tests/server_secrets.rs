//! No secret leaves `kv serve`: the binary runs with known secrets in every `KV_*`
//! variable (the JWKS URL carrying a password and a token), with `RUST_LOG=trace`, and
//! is driven through every authentication path, right and wrong, and a JWKS fetch
//! that works and one that fails. Neither its logs (at every level), nor an error
//! body, nor `/v1/admin/info` contains a secret, a token sent to it, or a key or value
//! of a store; the same holds for a backend URL's password when a store cannot open.

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step is a failed test"
)]

mod jwks_support;
mod serve_bin;

use std::io::Read as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::JwkSet;
use jwks_support::{es256, hs256, signed};
use serde_json::json;

const MANIFEST: &str = "application \"demo-app\" {\n  kv_store \"demo-cache\" {}\n}\n";

/// Every secret contains this, so that one search finds any of them.
const MARK: &str = "S3CRET";
const API_KEY: &str = "apikey-S3CRET-1";
const PASSWORD: &str = "pw-S3CRET-2";
const JWT_SECRET: &str = "jwtsecret-S3CRET-3-padded-to-32-bytes";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `kv serve` with the secrets set, `RUST_LOG=trace` and the access log on, its
/// standard error collected.
struct Served {
    child: Child,
    base: String,
    stderr: std::thread::JoinHandle<String>,
}

fn serve(dir: &Path, jwks_url: &str) -> Served {
    let mut child = serve_bin::command(dir)
        .arg("--access-log")
        .env("RUST_LOG", "trace")
        .env("KV_API_KEY", API_KEY)
        .env("KV_USERNAME", "admin")
        .env("KV_PASSWORD", PASSWORD)
        .env("KV_JWT_SECRET", JWT_SECRET)
        .env("KV_JWKS_URL", jwks_url)
        .env_remove("KV_JWT_ISSUER")
        .env_remove("KV_JWT_AUDIENCE")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Trace logs can fill a pipe: read them as they come.
    let mut err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let base = serve_bin::address(&mut child);
    Served {
        child,
        base,
        stderr,
    }
}

impl Served {
    /// Stops the server with SIGTERM and returns everything it logged.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "kv serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stderr.join().unwrap()
    }
}

fn assert_clean(what: &str, text: &str, sent: &[String]) {
    assert!(!text.contains(MARK), "{what} contains a secret:\n{text}");
    for token in sent {
        assert!(
            !text.contains(token.as_str()),
            "{what} contains a token sent:\n{text}"
        );
    }
}

fn basic(user: &str, pass: &str) -> String {
    let pair = format!("{user}:{pass}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_logs_error_bodies_or_admin_info() {
    let (es, jwk) = es256("es256.pem", "ec-1");
    let jwks = jwks_support::start(JwkSet { keys: vec![jwk] }, None).await;
    let http = reqwest::Client::new();
    for path in ["/jwks", "/huge-chunked"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("raindrop.manifest"), MANIFEST).unwrap();
        std::fs::write(dir.path().join("kv.toml"), "data_dir = \"data\"\n").unwrap();
        let jwks_url = jwks
            .url(&format!("{path}?token=tok-S3CRET-5"))
            .replace("http://", "http://jwksuser:jwkspw-S3CRET-4@");
        let served = serve(dir.path(), &jwks_url);
        let url = |p: &str| format!("{}{p}", served.base);
        let value_url =
            url("/client/v4/accounts/a/storage/kv/namespaces/demo-cache/values/key-S3CRET-6");

        let claims = json!({"sub": "svc", "exp": now() + 600});
        let good_jwt = hs256(&claims, JWT_SECRET.as_bytes());
        let jwks_jwt = signed(Algorithm::ES256, "ec-1", &es, &claims);
        let wrong_jwt = hs256(&claims, b"a-wrong-secret-S3CRET-of-32-bytes!!");
        let expired = hs256(&json!({"exp": now() - 3600}), JWT_SECRET.as_bytes());
        let sent = vec![
            good_jwt.clone(),
            jwks_jwt.clone(),
            wrong_jwt.clone(),
            expired.clone(),
        ];
        let authorizations = [
            format!("Bearer {API_KEY}"),
            format!("Bearer {API_KEY}x"),
            format!("Bearer {}", &API_KEY[..API_KEY.len() - 1]),
            basic("admin", PASSWORD),
            basic("admin", &format!("{PASSWORD}x")),
            basic("admin-S3CRET", PASSWORD),
            format!("Bearer {good_jwt}"),
            format!("Bearer {jwks_jwt}"),
            format!("Bearer {wrong_jwt}"),
            format!("Bearer {expired}"),
            format!("Digest {API_KEY}"),
            "Bearer".to_owned(),
        ];
        let put = http
            .put(&value_url)
            .bearer_auth(API_KEY)
            .body("value-S3CRET-7")
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200);
        let mut statuses = Vec::new();
        for authorization in &authorizations {
            for target in [value_url.clone(), url("/v1/kv/demo-cache/missing-key")] {
                let response = http
                    .get(&target)
                    .header("authorization", authorization)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                statuses.push(status);
                let body = response.text().await.unwrap();
                if status >= 400 {
                    assert_clean(
                        &format!("the {status} body for {authorization}"),
                        &body,
                        &sent,
                    );
                }
            }
        }
        assert!(
            statuses.contains(&200) && statuses.contains(&401),
            "{statuses:?}"
        );
        let wrong = http
            .get(&value_url)
            .header("x-auth-key", format!("{API_KEY}x"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
        assert_clean("an X-Auth-Key refusal", &wrong.text().await.unwrap(), &sent);
        let info = http
            .get(url("/v1/admin/info"))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_clean("/v1/admin/info", &info, &sent);

        let log = served.stop();
        if std::env::var_os("KV_TEST_SHOW_LOG").is_some() {
            eprintln!("{log}");
        }
        assert!(
            log.contains("TRACE") || log.contains("DEBUG") || log.contains("INFO"),
            "{log}"
        );
        assert!(log.contains("KV_JWKS_URL without KV_JWT_ISSUER"), "{log}");
        // Every request above is in the access log, by route template, never by key.
        assert!(log.contains("kv::access"), "{log}");
        let jwks_line = if path == "/jwks" {
            "fetched the JWKS"
        } else {
            "fetching the JWKS failed"
        };
        assert!(log.contains(jwks_line), "{log}");
        assert!(log.contains("http://<redacted>@127.0.0.1"), "{log}");
        assert_clean("the log", &log, &sent);
    }
}

#[test]
fn a_backend_password_is_not_printed_when_its_store_cannot_open() {
    for url in [
        "redis://:redispw-S3CRET@127.0.0.1:1/0",
        "postgres://kv:pgpw-S3CRET@127.0.0.1:1/kv",
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("raindrop.manifest"), MANIFEST).unwrap();
        let backend = url.split(':').next().unwrap();
        std::fs::write(
            dir.path().join("kv.toml"),
            format!("[stores.demo-cache]\nbackend = \"{backend}\"\nurl = \"{url}\"\n"),
        )
        .unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_kv"))
            .args(["serve", "--addr", "127.0.0.1:0", "--config", "kv.toml"])
            .current_dir(dir.path())
            .env("RUST_LOG", "trace")
            .env("KV_API_KEY", API_KEY)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(text.contains("127.0.0.1:1"), "{text}");
        assert_clean(url, &text, &[]);
    }
}
