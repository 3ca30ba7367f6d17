//! What one connection can make the server hold, tried over raw TCP: the request line
//! (URI at most 65,534 bytes: 414), the head (at most ~408 KiB and 100 headers: 431),
//! a declared body larger than any route takes (413 before a byte of it is read),
//! and time: a connection that sends nothing, sends its head a byte at a time, or
//! idles between keep-alive requests is closed after the header read timeout.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step is a failed test"
)]

mod common;

use std::time::{Duration, Instant};

use common::{API_KEY, TestServer};
use kv::server::{AuthSettings, Settings};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The header read timeout of these tests' server.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(1);

async fn server() -> TestServer {
    let mut settings = Settings::new(AuthSettings {
        api_key: Some(API_KEY.into()),
        ..AuthSettings::default()
    })
    .addr(([127, 0, 0, 1], 0).into());
    settings.header_read_timeout = HEADER_READ_TIMEOUT;
    TestServer::with_settings(settings).await
}

/// Sends `request` and returns what the server answered until it closed or 10 s
/// passed. A server that resets the connection after answering is fine.
async fn exchange(s: &TestServer, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    // The server may answer and close before the whole request is written.
    let _ = stream.write_all(request).await;
    read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .0
}

/// What the server sent until it closed the connection, and whether it did so
/// within `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

fn status_line(response: &str) -> &str {
    response.lines().next().unwrap_or_default()
}

#[tokio::test]
async fn an_overlong_uri_is_414() {
    let s = server().await;
    let path = format!("/v1/kv/demo-cache/{}", "k".repeat(70_000));
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {API_KEY}\r\n\r\n"
    );
    let response = exchange(&s, request.as_bytes()).await;
    assert_eq!(status_line(&response), "HTTP/1.1 414 URI Too Long");
    // A long query within the bound is parsed like any other.
    let request = format!(
        "GET /v1/kv/demo-cache?prefix={} HTTP/1.1\r\nhost: 127.0.0.1\r\n\
         authorization: Bearer {API_KEY}\r\nconnection: close\r\n\r\n",
        "p".repeat(60_000)
    );
    let response = exchange(&s, request.as_bytes()).await;
    assert!(
        status_line(&response).starts_with("HTTP/1.1 200"),
        "{response}"
    );
    s.stop().await;
}

#[tokio::test]
async fn an_oversized_head_is_431() {
    let s = server().await;
    let big = format!(
        "GET /v1/kv/demo-cache HTTP/1.1\r\nhost: 127.0.0.1\r\nx-filler: {}\r\n\r\n",
        "f".repeat(500 * 1024)
    );
    let response = exchange(&s, big.as_bytes()).await;
    assert_eq!(
        status_line(&response),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    let mut many = "GET /v1/kv/demo-cache HTTP/1.1\r\nhost: 127.0.0.1\r\n".to_owned();
    for i in 0..101 {
        many.push_str(&format!("x-h{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let response = exchange(&s, many.as_bytes()).await;
    assert_eq!(
        status_line(&response),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_declared_body_larger_than_any_route_takes_is_413_unread() {
    let s = server().await;
    let request = "PUT /client/v4/accounts/a/storage/kv/namespaces/demo-cache/values/k \
         HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 1000000000000\r\n\r\n";
    let started = Instant::now();
    let response = exchange(&s, request.as_bytes()).await;
    assert!(
        status_line(&response).starts_with("HTTP/1.1 413"),
        "{response}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "waited for a body never sent"
    );
    s.stop().await;
}

#[tokio::test]
async fn silent_slow_and_idle_connections_are_closed() {
    let s = server().await;
    // Say nothing.
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    // Send the head a byte every 100 ms, which would take 10 s.
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    // Make one request, then idle on the kept-alive connection.
    let mut idle = TcpStream::connect(s.addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let drip = async {
        let head = format!(
            "GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-pad: {}",
            "p".repeat(80)
        );
        for byte in head.as_bytes() {
            if slow.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let limit = HEADER_READ_TIMEOUT * 5;
    let (silent, idle, ()) = tokio::join!(
        read_until_closed(&mut silent, limit),
        read_until_closed(&mut idle, limit),
        drip,
    );
    assert!(silent.1, "a silent connection stayed open");
    assert!(idle.1, "an idle keep-alive connection stayed open");
    assert!(idle.0.starts_with("HTTP/1.1 200"), "{}", idle.0);
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(1)).await;
    assert!(closed, "a head sent a byte at a time kept its connection");
    // The drip stopped because the server closed the connection, well before its 10 s.
    assert!(started.elapsed() < limit, "{:?}", started.elapsed());
    s.stop().await;
}

#[tokio::test]
async fn a_public_prefix_does_not_open_a_data_route() {
    let s = server().await;
    s.store("demo-cache")
        .put("k", "secret value")
        .await
        .unwrap();
    // Paths are not normalised: `..` under a public prefix stays under it.
    for path in [
        "/ui/../v1/kv/demo-cache/k",
        "/ui/%2e%2e/v1/kv/demo-cache/k",
        "/ui/..%2fv1/kv/demo-cache/k",
        "/ui//v1/kv/demo-cache/k",
        "/ui/app.js/../../v1/admin/info",
        "/health/../v1/kv/demo-cache/k",
        "/open-api.json/../v1/kv/demo-cache/k",
        "http://127.0.0.1/ui/../v1/kv/demo-cache/k",
    ] {
        let request =
            format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n");
        let response = exchange(&s, request.as_bytes()).await;
        let status = status_line(&response);
        assert!(
            status.starts_with("HTTP/1.1 404") || status.starts_with("HTTP/1.1 401"),
            "{path}: {response}"
        );
        assert!(!response.contains("secret value"), "{path}: {response}");
    }
    s.stop().await;
}
