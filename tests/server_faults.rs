//! `kv serve` under faulty clients, over raw TCP: a slow-loris client is cut off after
//! the header read timeout while others are served; an idle keep-alive connection is
//! closed after it; a client that disconnects mid-upload stores nothing (small,
//! streamed and chunked bodies); a shutdown lets in-flight requests finish, closes idle
//! connections, refuses new ones, and gives up on a stalled request after the grace
//! period.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{API_KEY, CONFIG, STORES};
use kv::server::{AuthSettings, ServeError, Server, Settings};
use kv_runtime::{Config, Runtime};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server whose shutdown the test triggers and then awaits separately.
struct Running {
    addr: SocketAddr,
    runtime: Runtime,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServeError>>,
}

async fn start(configure: impl FnOnce(Settings) -> Settings) -> Running {
    let config = Config::from_toml(CONFIG, "kv.toml").unwrap();
    let runtime = Runtime::builder()
        .config(config)
        .in_memory()
        .open()
        .await
        .unwrap();
    let auth = AuthSettings {
        api_key: Some(API_KEY.to_owned()),
        ..AuthSettings::default()
    };
    let settings = configure(Settings::new(auth).addr(([127, 0, 0, 1], 0).into()));
    let server = Server::bind(settings, runtime.clone(), STORES)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    Running {
        addr,
        runtime,
        shutdown: Some(tx),
        task,
    }
}

impl Running {
    fn signal_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).unwrap();
        }
    }

    async fn get(&self, key: &str) -> Option<String> {
        let store = self.runtime.store("demo-cache").unwrap();
        store.get(key).text().await.unwrap()
    }
}

fn value_path(key: &str) -> String {
    format!("/client/v4/accounts/acc/storage/kv/namespaces/demo-cache/values/{key}")
}

/// The request line and headers of an authenticated PUT of `key`, with `framing` (a
/// header line ending in CRLF), without the blank line that ends them.
fn put_head(key: &str, framing: &str) -> String {
    put_head_to(&value_path(key), framing)
}

fn put_head_to(path: &str, framing: &str) -> String {
    format!("PUT {path} HTTP/1.1\r\nHost: kv\r\nAuthorization: Bearer {API_KEY}\r\n{framing}")
}

/// Reads until the server closes the connection (or `limit` passes); what it sent.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Result<String, Duration> {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Ok(String::from_utf8_lossy(&out).into_owned()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return Err(started.elapsed()),
        }
    }
}

/// Reads one response whose body is at most a few KiB (headers and body arrive whole).
async fn read_response(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("a response within 10 s")
            .unwrap();
        assert!(n > 0, "closed before a whole response: {out:?}");
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
}

async fn health(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: kv\r\n\r\n")
        .await
        .unwrap();
    read_response(&mut s).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_is_cut_off_after_the_header_timeout_while_others_are_served() {
    let timeout = Duration::from_millis(500);
    let server = start(|mut s| {
        s.header_read_timeout = timeout;
        s
    })
    .await;
    let mut loris = Vec::new();
    for _ in 0..20 {
        let addr = server.addr;
        loris.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /health HTTP/1.1\r\nHost: kv\r\n")
                .await
                .unwrap();
            // One byte of a header every 50 ms, for as long as the server listens.
            for byte in b"X-Slow: 1234567890abcdefghijklmnopqrstuvwxyz0123456789\r\n"
                .iter()
                .cycle()
            {
                if started.elapsed() > Duration::from_secs(10) {
                    panic!("a slow-loris client was served for 10 s");
                }
                if s.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                let mut probe = [0u8; 512];
                match tokio::time::timeout(Duration::from_millis(1), s.read(&mut probe)).await {
                    Ok(Ok(0) | Err(_)) => break,
                    Ok(Ok(n)) => {
                        let text = String::from_utf8_lossy(&probe[..n]).into_owned();
                        assert!(
                            !text.contains(" 200 "),
                            "the slow request was answered: {text}"
                        );
                        break;
                    }
                    Err(_) => {}
                }
            }
            started.elapsed()
        }));
    }
    // Meanwhile everyone else is served.
    for _ in 0..10 {
        let response = health(server.addr).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    for task in loris {
        let lasted = task.await.unwrap();
        assert!(
            lasted >= timeout && lasted < timeout + Duration::from_secs(3),
            "a slow-loris connection lasted {lasted:?} with a {timeout:?} header timeout"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(400);
    let server = start(|mut s| {
        s.header_read_timeout = timeout;
        s
    })
    .await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: kv\r\n\r\n")
        .await
        .unwrap();
    let response = read_response(&mut s).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let idle = Instant::now();
    let rest = read_to_close(&mut s, Duration::from_secs(5)).await;
    assert_eq!(rest.as_deref(), Ok(""), "closed without another response");
    let lasted = idle.elapsed();
    assert!(lasted >= timeout / 2, "closed too early: {lasted:?}");
}

/// Starts a PUT of `key` with `framing` headers, sends `sent` and disconnects; on the
/// `/v1` route (a JSON body) if `v1`.
async fn abandon_upload(addr: SocketAddr, key: &str, framing: &str, sent: &[u8], v1: bool) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = if v1 {
        put_head_to(&format!("/v1/kv/demo-cache/{key}"), framing)
    } else {
        put_head(key, framing)
    };
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(b"\r\n").await.unwrap();
    s.write_all(sent).await.unwrap();
    s.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_mid_upload_stores_nothing() {
    let server = start(|s| s).await;
    let store = server.runtime.store("demo-cache").unwrap();
    let big = vec![b'x'; 700 * 1024];
    let cases: [(&str, String, &[u8]); 6] = [
        ("small", "Content-Length: 1000\r\n".to_owned(), &big[..500]),
        (
            "v1-json",
            "Content-Length: 1000\r\n".to_owned(),
            b"{\"value\": \"abc",
        ),
        (
            "v1-json-chunked",
            "Transfer-Encoding: chunked\r\n".to_owned(),
            b"10\r\n{\"value\": \"abc\"}\r\n",
        ),
        (
            "streamed",
            format!("Content-Length: {}\r\n", 2 * 1024 * 1024),
            &big[..],
        ),
        (
            "chunked",
            "Transfer-Encoding: chunked\r\n".to_owned(),
            b"10000\r\nxxxxxxxx",
        ),
        (
            "chunked-whole-chunks",
            "Transfer-Encoding: chunked\r\n".to_owned(),
            b"4\r\nabcd\r\n",
        ),
    ];
    for (name, framing, sent) in &cases {
        let (fresh, kept) = (format!("{name}-fresh"), format!("{name}-kept"));
        store.put(kept.clone(), "old").await.unwrap();
        let v1 = name.starts_with("v1");
        abandon_upload(server.addr, &fresh, framing, sent, v1).await;
        abandon_upload(server.addr, &kept, framing, sent, v1).await;
        // Nothing appears, and the old value stays, however long one looks.
        for _ in 0..10 {
            assert_eq!(
                server.get(&fresh).await,
                None,
                "{name}: a partial upload was stored"
            );
            assert_eq!(
                server.get(&kept).await.as_deref(),
                Some("old"),
                "{name}: the old value changed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // The server still serves uploads after all that.
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(put_head("after", "Content-Length: 2\r\n").as_bytes())
        .await
        .unwrap();
    s.write_all(b"\r\nok").await.unwrap();
    let response = read_response(&mut s).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(server.get("after").await.as_deref(), Some("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_requests_and_refuses_new_ones() {
    let mut server = start(|mut s| {
        s.shutdown_grace = Duration::from_secs(10);
        s
    })
    .await;
    // An upload in flight: headers and half of the body sent.
    let mut in_flight = TcpStream::connect(server.addr).await.unwrap();
    in_flight
        .write_all(put_head("in-flight", "Content-Length: 10\r\n").as_bytes())
        .await
        .unwrap();
    in_flight.write_all(b"\r\nhello").await.unwrap();
    // An idle keep-alive connection.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: kv\r\n\r\n")
        .await
        .unwrap();
    assert!(read_response(&mut idle).await.starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(100)).await;

    let signalled = Instant::now();
    server.signal_shutdown();
    // New connections are refused, soon. One that the kernel completed before the
    // listener closed is reset, or served: never left hanging.
    loop {
        match TcpStream::connect(server.addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("a new connection failed otherwise than refused: {e}"),
            Ok(mut late) => {
                assert!(
                    signalled.elapsed() < Duration::from_secs(2),
                    "still accepting 2 s after the signal"
                );
                let _ = late
                    .write_all(b"GET /health HTTP/1.1\r\nHost: kv\r\n\r\n")
                    .await;
                let answer = read_to_close(&mut late, Duration::from_secs(2)).await;
                assert!(
                    answer
                        .as_ref()
                        .is_ok_and(|a| a.is_empty() || a.starts_with("HTTP/1.1 200")),
                    "a connection made during shutdown: {answer:?}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The idle connection is closed at once, without a response.
    let rest = read_to_close(&mut idle, Duration::from_secs(2)).await;
    assert_eq!(
        rest.as_deref(),
        Ok(""),
        "the idle connection was not closed"
    );
    // The upload in flight finishes, is stored, and its connection then closes.
    in_flight.write_all(b"world").await.unwrap();
    let response = read_to_close(&mut in_flight, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("connection: close"),
        "{response}"
    );
    let stopped = tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .expect("the server stops once in-flight requests are done");
    stopped.unwrap().unwrap();
    let store = server.runtime.store("demo-cache").unwrap();
    assert_eq!(
        store.get("in-flight").text().await.unwrap().as_deref(),
        Some("helloworld")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_gives_up_on_a_stalled_request_after_the_grace_period() {
    let grace = Duration::from_millis(800);
    let mut server = start(|mut s| {
        s.shutdown_grace = grace;
        s
    })
    .await;
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(put_head("stalled", "Content-Length: 10\r\n").as_bytes())
        .await
        .unwrap();
    stalled.write_all(b"\r\nhello").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let signalled = Instant::now();
    server.signal_shutdown();
    let stopped = tokio::time::timeout(grace + Duration::from_secs(5), server.task)
        .await
        .expect("the server stops within the grace period and a margin");
    stopped.unwrap().unwrap();
    let took = signalled.elapsed();
    assert!(
        took >= grace.mul_f32(0.9),
        "stopped after {took:?}, before the grace period"
    );
    let store = server.runtime.store("demo-cache").unwrap();
    assert_eq!(store.get("stalled").text().await.unwrap(), None);
}
