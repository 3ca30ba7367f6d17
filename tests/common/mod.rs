//! Shared by the `server_*` tests: a server on 127.0.0.1 port 0 over an in-memory
//! runtime, built with explicit settings (never the process environment).

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test crate uses part of this module"
)]
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "test helpers")]

use std::net::SocketAddr;

use kv::server::{AuthSettings, Server, Settings};
use kv_runtime::{Config, Runtime};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The stores every test server serves.
pub const STORES: [&str; 3] = ["demo-cache", "small", "sessions"];

/// `small` refuses values over 64 KiB; `sessions` accepts TTLs down to 1 second.
pub const CONFIG: &str = r#"
[defaults]
backend = "memory"

[stores.small]
max_value_size = 65536

[stores.sessions]
min_ttl = 1
"#;

/// The API key of [`TestServer::start`].
pub const API_KEY: &str = "test-key-0123-not-secret";

pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub runtime: Runtime,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), kv::server::ServeError>>>,
}

impl TestServer {
    /// A server that accepts [`API_KEY`].
    pub async fn start() -> Self {
        Self::with_auth(AuthSettings {
            api_key: Some(API_KEY.to_owned()),
            ..AuthSettings::default()
        })
        .await
    }

    pub async fn with_auth(auth: AuthSettings) -> Self {
        Self::with_settings(Settings::new(auth).addr(([127, 0, 0, 1], 0).into())).await
    }

    pub async fn with_settings(settings: Settings) -> Self {
        let config = Config::from_toml(CONFIG, "kv.toml").expect("valid test config");
        let runtime = Runtime::builder()
            .config(config)
            .in_memory()
            .open()
            .await
            .expect("in-memory runtime");
        let server = Server::bind(settings, runtime.clone(), STORES)
            .await
            .expect("server binds");
        let addr = server.local_addr().expect("bound address");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        Self {
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            runtime,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `/client/v4/accounts/acc/storage/kv/namespaces{rest}`.
    pub fn cf(&self, rest: &str) -> String {
        self.url(&format!(
            "/client/v4/accounts/acc/storage/kv/namespaces{rest}"
        ))
    }

    /// An authenticated GET of `/client/v4/accounts/acc/storage/kv/namespaces{rest}`.
    pub fn cf_get(&self, rest: &str) -> reqwest::RequestBuilder {
        self.client.get(self.cf(rest)).bearer_auth(API_KEY)
    }

    /// An authenticated PUT of a Cloudflare route (see [`TestServer::cf_get`]).
    pub fn cf_put(&self, rest: &str) -> reqwest::RequestBuilder {
        self.client.put(self.cf(rest)).bearer_auth(API_KEY)
    }

    /// An authenticated DELETE of a Cloudflare route.
    pub fn cf_delete(&self, rest: &str) -> reqwest::RequestBuilder {
        self.client.delete(self.cf(rest)).bearer_auth(API_KEY)
    }

    /// An authenticated POST of a Cloudflare route.
    pub fn cf_post(&self, rest: &str) -> reqwest::RequestBuilder {
        self.client.post(self.cf(rest)).bearer_auth(API_KEY)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(API_KEY)
    }

    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.put(self.url(path)).bearer_auth(API_KEY)
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.delete(self.url(path)).bearer_auth(API_KEY)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(API_KEY)
    }

    pub fn store(&self, name: &str) -> kv_runtime::KvStore {
        self.runtime.store(name).expect("test store")
    }

    /// Stops the server and waits for it to flush.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("clean shutdown");
        }
    }
}

/// Sends a request and returns the status and the JSON body.
pub async fn json(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    let body = response.bytes().await.expect("body");
    let value = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "status {status}, content-type {content_type:?}: body is not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    if status >= 400 {
        assert_eq!(content_type, "application/json", "error bodies are JSON");
    }
    (status, value)
}

/// Asserts a `/v1` error: status, stable code, and a message containing `needle`.
pub fn assert_v1_error(got: &(u16, serde_json::Value), status: u16, code: &str, needle: &str) {
    let (s, body) = got;
    assert_eq!(*s, status, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "{message:?} should contain {needle:?}"
    );
}

/// Asserts a Cloudflare error: status, numeric code, and a message containing `needle`.
pub fn assert_cf_error(got: &(u16, serde_json::Value), status: u16, code: u32, needle: &str) {
    let (s, body) = got;
    assert_eq!(*s, status, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["result"], serde_json::Value::Null, "{body}");
    assert_eq!(body["messages"], serde_json::json!([]), "{body}");
    assert_eq!(body["errors"][0]["code"], code, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "{message:?} should contain {needle:?}"
    );
}

/// The system clock's reading, in Unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
