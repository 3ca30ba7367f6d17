//! What Workers KV lacks, over HTTP: versions as ETags and conditional writes
//! (`If-Match`, `If-None-Match: *`, 412), touch (`PATCH`), count, delete by prefix, and
//! watch as Server-Sent Events.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{TestServer, assert_cf_error, assert_v1_error, json};
use futures_util::StreamExt as _;
use serde_json::json;

fn etag(response: &reqwest::Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn etags_and_conditional_writes_on_v1() {
    let s = TestServer::start().await;
    let put = s.put("/v1/kv/demo-cache/hits").json(&json!({"value": 1}));
    let first = put.send().await.unwrap();
    assert_eq!(first.status(), 200);
    let v1 = etag(&first);
    assert!(v1.starts_with('"') && v1.ends_with('"'), "{v1}");
    let read = s.get("/v1/kv/demo-cache/hits").send().await.unwrap();
    assert_eq!(
        etag(&read),
        v1,
        "a read's ETag is the version the write returned"
    );

    let second = s
        .put("/v1/kv/demo-cache/hits")
        .header("if-match", &v1)
        .json(&json!({"value": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200);
    let v2 = etag(&second);
    assert_ne!(v1, v2);
    let stale = s
        .put("/v1/kv/demo-cache/hits")
        .header("if-match", &v1)
        .json(&json!({"value": 3}));
    assert_v1_error(
        &json(stale).await,
        412,
        "conflict",
        "the current version is",
    );
    let got = json(s.get("/v1/kv/demo-cache/hits")).await;
    assert_eq!(got.1["data"], 2, "a refused write writes nothing");

    let create = || {
        s.put("/v1/kv/demo-cache/lock")
            .header("if-none-match", "*")
            .json(&json!({"value": "me"}))
    };
    assert_eq!(json(create()).await.0, 200);
    assert_v1_error(&json(create()).await, 412, "conflict", "already exists");

    for (header, value, code) in [
        ("if-match", "\"not-hex\"", "invalid_version"),
        ("if-match", "W/\"1\"", "invalid_version"),
        ("if-match", "*", "invalid_request"),
        ("if-none-match", "\"1\"", "invalid_request"),
    ] {
        let bad = s
            .put("/v1/kv/demo-cache/hits")
            .header(header, value)
            .json(&json!({"value": 9}));
        assert_v1_error(&json(bad).await, 400, code, "");
    }
    let stale_delete = s.delete("/v1/kv/demo-cache/hits").header("if-match", &v1);
    assert_v1_error(&json(stale_delete).await, 412, "conflict", "");
    assert_eq!(json(s.get("/v1/kv/demo-cache/hits")).await.1["data"], 2);
    let delete = s.delete("/v1/kv/demo-cache/hits").header("if-match", &v2);
    assert_eq!(json(delete).await.0, 200);
    assert_eq!(json(s.get("/v1/kv/demo-cache/hits")).await.0, 404);
    s.stop().await;
}

#[tokio::test]
async fn etags_and_conditional_writes_on_cloudflare_routes() {
    let s = TestServer::start().await;
    let url = s.cf("/demo-cache/values/k");
    let put = s.client.put(&url).bearer_auth(common::API_KEY).body("one");
    let first = put.send().await.unwrap();
    let v1 = etag(&first);
    let read = s
        .client
        .get(&url)
        .bearer_auth(common::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(etag(&read), v1);
    let stale = s
        .client
        .put(&url)
        .bearer_auth(common::API_KEY)
        .header("if-none-match", "*")
        .body("two");
    assert_cf_error(&json(stale).await, 412, 10915, "already exists");
    let matched = s
        .client
        .put(&url)
        .bearer_auth(common::API_KEY)
        .header("if-match", &v1)
        .body("two");
    assert_eq!(json(matched).await.0, 200);
    let again = s
        .client
        .put(&url)
        .bearer_auth(common::API_KEY)
        .header("if-match", &v1)
        .body("three");
    assert_cf_error(&json(again).await, 412, 10915, "version mismatch");
    let malformed = s
        .client
        .delete(&url)
        .bearer_auth(common::API_KEY)
        .header("if-match", "\"zz\"");
    assert_cf_error(&json(malformed).await, 400, 10916, "invalid version");
    let value = s.store("demo-cache").get("k").text().await.unwrap();
    assert_eq!(value.as_deref(), Some("two"));
    s.stop().await;
}

#[tokio::test]
async fn patch_touches_only_the_expiration() {
    let s = TestServer::start().await;
    let store = s.store("demo-cache");
    store
        .put("session:abc", "{\"user\":1}")
        .metadata(json!({"ip": "10.0.0.1"}))
        .expiration_ttl(600)
        .await
        .unwrap();
    let touch = |body: serde_json::Value| {
        s.client
            .patch(s.url("/v1/kv/demo-cache/session:abc"))
            .bearer_auth(common::API_KEY)
            .json(&body)
    };
    let got = json(touch(json!({"ttl": 86_400}))).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let expiration = got.1["data"]["expiration"].as_u64().unwrap();
    assert!(expiration >= store.now() + 86_000, "{expiration}");
    let read = store.get_with_metadata("session:abc").text().await.unwrap();
    assert_eq!(read.value.as_deref(), Some("{\"user\":1}"));
    assert_eq!(read.metadata, Some(json!({"ip": "10.0.0.1"})));
    assert_eq!(read.expiration, Some(expiration));

    let got = json(touch(json!({"persist": true}))).await;
    assert_eq!(got.1["data"]["expiration"], serde_json::Value::Null);
    assert_v1_error(
        &json(touch(json!({"ttl": 30}))).await,
        400,
        "expiration_ttl_too_short",
        "Invalid expiration_ttl of 30",
    );
    assert_v1_error(
        &json(touch(json!({"ttl": 60, "persist": true}))).await,
        400,
        "invalid_request",
        "exactly one",
    );
    assert_v1_error(
        &json(touch(json!({}))).await,
        400,
        "invalid_request",
        "exactly one",
    );
    let missing = s
        .client
        .patch(s.url("/v1/kv/demo-cache/nobody"))
        .bearer_auth(common::API_KEY)
        .json(&json!({"ttl": 60}));
    assert_v1_error(&json(missing).await, 404, "key_not_found", "nobody");
    assert_eq!(
        store
            .get_with_metadata("session:abc")
            .text()
            .await
            .unwrap()
            .expiration,
        None,
        "refused touches changed nothing"
    );
    s.stop().await;
}

#[tokio::test]
async fn count_and_delete_by_prefix() {
    let s = TestServer::start().await;
    let store = s.store("demo-cache");
    store
        .put_many([
            ("session:a", "1"),
            ("session:b", "2"),
            ("user:1", "3"),
            ("a%b", "4"),
        ])
        .await
        .unwrap();
    let count = |prefix: &str| json(s.get(&format!("/v1/stores/demo-cache/count?prefix={prefix}")));
    assert_eq!(count("session%3A").await.1["data"], json!({"count": 2}));
    assert_eq!(
        count("a%25").await.1["data"],
        json!({"count": 1}),
        "% is literal"
    );
    assert_eq!(
        json(s.get("/v1/stores/demo-cache/count")).await.1["data"]["count"],
        4
    );

    let no_prefix = s.delete("/v1/stores/demo-cache/keys");
    assert_v1_error(&json(no_prefix).await, 400, "invalid_request", "prefix");
    assert_eq!(
        store.count().await.unwrap(),
        4,
        "nothing deleted without a prefix"
    );
    let got = json(s.delete("/v1/stores/demo-cache/keys?prefix=session:")).await;
    assert_eq!(got.1["data"], json!({"deleted": 2}));
    assert_eq!(store.count().await.unwrap(), 2);
    let got = json(s.delete("/v1/stores/demo-cache/keys?prefix=")).await;
    assert_eq!(
        got.1["data"],
        json!({"deleted": 2}),
        "an empty prefix clears the store"
    );
    let got = json(s.get("/v1/stores/nope/count")).await;
    assert_v1_error(&got, 404, "store_not_found", "nope");
    s.stop().await;
}

/// Reads Server-Sent Events from `response` until `count` events with data arrived.
async fn events(response: reqwest::Response, count: usize) -> Vec<(String, serde_json::Value)> {
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let mut out = Vec::new();
    while out.len() < count {
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream is open")
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(rest) = line.strip_prefix("event:") {
                    name = rest.trim().to_owned();
                } else if let Some(rest) = line.strip_prefix("data:") {
                    data.push_str(rest.trim());
                }
            }
            if !data.is_empty() {
                out.push((name, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    out
}

#[tokio::test]
async fn watch_streams_changes_as_server_sent_events() {
    let s = TestServer::start().await;
    let response = s
        .get("/v1/stores/demo-cache/watch?prefix=room:1:")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let store = s.store("demo-cache");
    store.put("room:2:msg", "elsewhere").await.unwrap();
    let version = store
        .put("room:1:msg", "hello")
        .expiration_ttl(600)
        .await
        .unwrap();
    store.delete("room:1:msg").await.unwrap();
    let got = events(response, 2).await;
    assert_eq!(got[0].0, "put");
    assert_eq!(got[0].1["key"], "room:1:msg");
    assert_eq!(got[0].1["version"], version.to_string());
    assert!(got[0].1["expiration"].is_u64());
    assert_eq!(
        got[1],
        (
            "delete".to_owned(),
            json!({"key": "room:1:msg", "expired": false})
        )
    );
    s.stop().await;
}
