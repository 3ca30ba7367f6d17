//! An oversized streamed body is refused with 413 while memory stays flat: the server
//! never holds the body, it streams it into the runtime, which stops at the store's
//! `max_value_size`, and then discards the rest within bounds. (Alone in this test
//! binary so that no other test's allocations disturb the measurement.)

mod common;

use common::{API_KEY, TestServer, assert_cf_error, json};

/// Peak resident memory of this process so far, in bytes (Linux).
#[allow(clippy::unwrap_used, reason = "test helper")]
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[tokio::test]
async fn a_48_mib_body_to_a_64_kib_store_gets_413_with_flat_memory() {
    let s = TestServer::start().await;
    // Warm up the connection pool and the server's buffers first.
    let got = json(
        s.client
            .put(s.cf("/small/values/warm"))
            .bearer_auth(API_KEY)
            .body(vec![b'w'; 60_000]),
    )
    .await;
    assert_eq!(got.0, 200);
    let before = peak_rss();

    const CHUNK: usize = 256 * 1024;
    const TOTAL: usize = 48 * 1024 * 1024;
    let chunk = bytes::Bytes::from(vec![b'x'; CHUNK]);
    let chunks = (0..TOTAL / CHUNK).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let got = json(
        s.client
            .put(s.cf("/small/values/huge"))
            .bearer_auth(API_KEY)
            .body(body),
    )
    .await;
    assert_cf_error(&got, 413, 10902, "exceeds limit of 65536");
    assert_eq!(
        s.store("small").get("huge").bytes().await.unwrap(),
        None,
        "nothing was written"
    );

    if let (Some(before), Some(after)) = (before, peak_rss()) {
        let grown = after.saturating_sub(before);
        assert!(
            grown < 16 * 1024 * 1024,
            "peak RSS grew by {grown} bytes for a {TOTAL}-byte body"
        );
    }
    // The server still answers on a new request.
    let got = json(s.client.get(s.cf("/small/keys")).bearer_auth(API_KEY)).await;
    assert_eq!(got.0, 200);
    s.stop().await;
}
