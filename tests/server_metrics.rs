//! `/metrics` and the access log: what an operator's Prometheus and log shipper see —
//! requests by route template and status, latency, bytes, connections, store
//! operations and cache results — and what they never see: keys, values, secrets.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;
mod serve_bin;

use std::io::Read as _;
use std::process::{Command, Stdio};

use common::{API_KEY, TestServer};
use kv::server::{AuthSettings, Settings};

const CF_VALUE: &str =
    "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key_name}";

async fn scrape(s: &TestServer) -> String {
    let response = s.get("/metrics").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    response.text().await.unwrap()
}

/// The value of the sample `name{labels}` (labels exactly as rendered), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_status_never_by_key() {
    let s = TestServer::start().await;
    let put = s.cf_put("/demo-cache/values/user%3Asecret-key-name");
    assert_eq!(
        put.body("sixteen bytes!!!").send().await.unwrap().status(),
        200
    );
    for _ in 0..3 {
        let got = s.cf_get("/demo-cache/values/user%3Asecret-key-name");
        assert_eq!(
            got.send().await.unwrap().text().await.unwrap(),
            "sixteen bytes!!!"
        );
    }
    let missing = s.cf_get("/demo-cache/values/nobody").send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let unauthorised = s
        .client
        .get(s.url("/v1/kv/demo-cache/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), 401);
    let odd = s
        .client
        .get(s.url("/no/such/route/secret-path"))
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status(), 401, "unknown paths need credentials too");

    let text = scrape(&s).await;
    let requests = |method: &str, route: &str, status: u16| {
        let series = format!(
            "kv_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
        );
        sample(&text, &series)
    };
    assert_eq!(requests("PUT", CF_VALUE, 200), Some(1.0), "{text}");
    assert_eq!(requests("GET", CF_VALUE, 200), Some(3.0));
    assert_eq!(requests("GET", CF_VALUE, 404), Some(1.0));
    assert_eq!(requests("GET", "/v1/kv/{store}/{key}", 401), Some(1.0));
    assert_eq!(requests("GET", "unmatched", 401), Some(1.0));
    let route = format!("method=\"GET\",route=\"{CF_VALUE}\"");
    assert_eq!(
        sample(
            &text,
            &format!("kv_http_request_duration_seconds_count{{{route}}}")
        ),
        Some(4.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("kv_http_request_duration_seconds_bucket{{{route},le=\"+Inf\"}}")
        ),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("kv_http_response_bytes_total{{{route}}}")),
        Some(3.0 * 16.0 + 1.0 * body_len_of_404(&s).await),
    );
    let put_route = format!("method=\"PUT\",route=\"{CF_VALUE}\"");
    assert_eq!(
        sample(
            &text,
            &format!("kv_http_request_bytes_total{{{put_route}}}")
        ),
        Some(16.0)
    );
    assert!(
        sample(&text, "kv_http_open_connections").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    for never in [
        "secret-key-name",
        "secret-path",
        "sixteen",
        "nobody",
        API_KEY,
    ] {
        assert!(!text.contains(never), "{never:?} in the metrics");
    }
    s.stop().await;
}

async fn body_len_of_404(s: &TestServer) -> f64 {
    let response = s.cf_get("/demo-cache/values/nobody").send().await.unwrap();
    response.bytes().await.unwrap().len() as f64
}

#[tokio::test]
async fn store_operations_backend_errors_and_cache_results_are_exported() {
    let s = TestServer::start().await;
    let put = s
        .cf_put("/sessions/values/k")
        .body("v")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    for _ in 0..2 {
        let got = s
            .cf_get("/sessions/values/k?cache_ttl=60")
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200);
    }
    let listed = s.cf_get("/sessions/keys").send().await.unwrap();
    assert_eq!(listed.status(), 200);
    let v1 = s
        .get("/v1/kv/sessions/k?cache_ttl=60")
        .send()
        .await
        .unwrap();
    assert_eq!(v1.status(), 200, "a hit on the /v1 route");
    let (status, body) = common::json(s.get("/v1/kv/sessions/k?cache_ttl=5")).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("30"),
        "the error names the floor: {body}"
    );
    let text = scrape(&s).await;
    let op = |op: &str| {
        sample(
            &text,
            &format!("kv_store_operations_total{{store=\"sessions\",operation=\"{op}\"}}"),
        )
    };
    assert_eq!(
        (op("put"), op("get"), op("list")),
        (Some(1.0), Some(3.0), Some(1.0)),
        "{text}"
    );
    assert_eq!(op("delete"), Some(0.0));
    assert_eq!(
        sample(
            &text,
            "kv_store_operations_total{store=\"small\",operation=\"put\"}"
        ),
        Some(0.0),
        "every store is exported"
    );
    assert_eq!(
        sample(&text, "kv_read_cache_hits_total{store=\"sessions\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "kv_read_cache_misses_total{store=\"sessions\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "kv_backend_errors_total{store=\"sessions\",backend=\"memory\"}"
        ),
        Some(0.0)
    );
    s.stop().await;
}

#[tokio::test]
async fn metrics_are_protected_unless_public_metrics() {
    let auth = || AuthSettings {
        api_key: Some(API_KEY.to_owned()),
        ..AuthSettings::default()
    };
    let s = TestServer::with_auth(auth()).await;
    let anonymous = s.client.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(!anonymous.text().await.unwrap().contains("kv_http"));
    s.stop().await;

    let settings = Settings::new(auth())
        .addr(([127, 0, 0, 1], 0).into())
        .public_metrics(true);
    let s = TestServer::with_settings(settings).await;
    let anonymous = s.client.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 200);
    assert!(
        anonymous
            .text()
            .await
            .unwrap()
            .contains("kv_http_open_connections")
    );
    let data = s
        .client
        .get(s.url("/v1/kv/demo-cache/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(data.status(), 401, "only /metrics becomes public");
    s.stop().await;
}

/// The access log, as `kv serve --access-log` writes it with `KV_LOG_FORMAT=json` and
/// `RUST_LOG=trace`: one
/// JSON object per line; each request's line has method, route template, status,
/// latency and bytes; no key, value or credential appears in any line.
#[cfg(unix)]
#[test]
fn the_access_log_is_json_with_templates_and_never_keys_values_or_secrets() {
    const KEY_NAME: &str = "customer-4711-private";
    const VALUE: &str = "the-value-nobody-may-log";
    const SECRET: &str = "access-log-api-key-9f2c";
    let dir = tempfile::tempdir().unwrap();
    let manifest = "application \"demo-app\" {\n  kv_store \"demo-cache\" {}\n}\n";
    std::fs::write(dir.path().join("raindrop.manifest"), manifest).unwrap();
    std::fs::write(dir.path().join("kv.toml"), "data_dir = \"data\"\n").unwrap();
    let mut child = serve_bin::command(dir.path())
        .arg("--access-log")
        .env("KV_API_KEY", SECRET)
        .env("KV_LOG_FORMAT", "json")
        .env("RUST_LOG", "trace")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = serve_bin::address(&mut child);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let url = format!(
            "{base}/client/v4/accounts/a/storage/kv/namespaces/demo-cache/values/{KEY_NAME}"
        );
        let put = http
            .put(&url)
            .bearer_auth(SECRET)
            .body(VALUE)
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200);
        let got = http.get(&url).bearer_auth(SECRET).send().await.unwrap();
        assert_eq!(got.text().await.unwrap(), VALUE);
        let wrong = http
            .get(&url)
            .bearer_auth(format!("{SECRET}-wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
        let v1 = format!("{base}/v1/kv/demo-cache/{KEY_NAME}?prefix={KEY_NAME}");
        http.get(&v1).bearer_auth(SECRET).send().await.unwrap();
    });
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(child.wait().unwrap().success());

    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let access: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["target"] == "kv::access")
        .collect();
    assert_eq!(access.len(), 4, "{stderr}");
    let fields = &access[0]["fields"];
    assert_eq!(fields["method"], "PUT");
    assert_eq!(fields["route"], CF_VALUE);
    assert_eq!(fields["status"], 200);
    assert_eq!(fields["bytes_in"], VALUE.len());
    assert!(
        fields["latency_us"].is_u64() && fields["peer"].is_string(),
        "{fields}"
    );
    assert_eq!(access[1]["fields"]["bytes_out"], VALUE.len());
    assert_eq!(access[2]["fields"]["status"], 401);
    assert_eq!(access[3]["fields"]["route"], "/v1/kv/{store}/{key}");
    for never in [KEY_NAME, VALUE, SECRET] {
        assert!(!stderr.contains(never), "{never:?} was logged:\n{stderr}");
    }
}
