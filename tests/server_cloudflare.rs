//! The Cloudflare Workers KV API v4 routes (`/client/v4/accounts/{account}/storage/kv/
//! namespaces/...`): shapes as Cloudflare's clients read them, keys as they send them.

mod common;

use common::{API_KEY, TestServer, assert_cf_error, json, now};
use serde_json::json;

#[tokio::test]
async fn namespaces_page_with_page_and_per_page_and_end_empty() {
    let s = TestServer::start().await;
    let (status, body) = json(s.cf_get("")).await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    assert_eq!(body["errors"], json!([]));
    assert_eq!(body["messages"], json!([]));
    assert_eq!(
        body["result"],
        json!([
            {"id": "demo-cache", "title": "demo-cache", "supports_url_encoding": true},
            {"id": "sessions", "title": "sessions", "supports_url_encoding": true},
            {"id": "small", "title": "small", "supports_url_encoding": true},
        ])
    );
    assert_eq!(
        body["result_info"],
        json!({"page": 1, "per_page": 20, "count": 3, "total_count": 3})
    );
    // Official clients ask for page + 1 until a page comes back empty.
    let (_, body) = json(s.cf_get("?page=2&per_page=20")).await;
    assert_eq!(body["result"], json!([]));
    assert_eq!(
        body["result_info"],
        json!({"page": 2, "per_page": 20, "count": 0, "total_count": 3})
    );
    // per_page is clamped to Cloudflare's 5..=100; direction and order are honoured.
    let (_, body) = json(s.cf_get("?per_page=1&direction=desc&order=title")).await;
    assert_eq!(body["result_info"]["per_page"], 5);
    assert_eq!(body["result"][0]["id"], "small");
    let got = json(s.cf_get("?direction=sideways")).await;
    assert_cf_error(&got, 400, 10908, "sideways");
    let (_, body) = json(s.cf_get("/sessions")).await;
    assert_eq!(body["result"]["id"], "sessions");
    let got = json(s.cf_get("/nope")).await;
    assert_cf_error(&got, 404, 10013, "namespace not found");
    s.stop().await;
}

#[tokio::test]
async fn values_round_trip_raw_bytes_with_expiration_header() {
    let s = TestServer::start().await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let (status, body) = json(s.cf_put("/demo-cache/values/bin").body(bytes.clone())).await;
    assert_eq!(
        (status, &body),
        (
            200,
            &json!({"success": true, "errors": [], "messages": [], "result": {}})
        )
    );
    let response = s
        .client
        .get(s.cf("/demo-cache/values/bin"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(response.headers()["content-length"], "10000");
    assert!(
        response.headers().get("expiration").is_none(),
        "no expiration, no header"
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), bytes.as_slice());

    // expiration_ttl as the Python SDK sends it (a float), and the header on GET.
    let got = json(
        s.cf_put("/demo-cache/values/ttl?expiration_ttl=120.0")
            .body("v"),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let response = s
        .client
        .get(s.cf("/demo-cache/values/ttl"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    let expiration: u64 = response.headers()["expiration"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (now() + 110..=now() + 130).contains(&expiration),
        "{expiration}"
    );
    // Absolute expiration; expiration_ttl wins when both are given.
    let at = now() + 7200;
    let got = json(
        s.cf_put(&format!("/demo-cache/values/at?expiration={at}"))
            .body("v"),
    )
    .await;
    assert_eq!(got.0, 200);
    let response = s
        .client
        .get(s.cf("/demo-cache/values/at"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["expiration"].to_str().unwrap(),
        at.to_string()
    );
    let got = json(
        s.cf_put(&format!(
            "/demo-cache/values/at?expiration={at}&expiration_ttl=600"
        ))
        .body("v"),
    )
    .await;
    assert_eq!(got.0, 200);
    let page = s.store("demo-cache").list().prefix("at").await.unwrap();
    assert!(page.keys[0].expiration.unwrap() <= now() + 610);

    // The empty value is a value.
    let got = json(s.cf_put("/demo-cache/values/empty").body("")).await;
    assert_eq!(got.0, 200);
    let response = s
        .client
        .get(s.cf("/demo-cache/values/empty"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().len(), 0);

    let got = json(s.cf_delete("/demo-cache/values/bin")).await;
    assert_eq!(
        got,
        (
            200,
            json!({"success": true, "errors": [], "messages": [], "result": {}})
        )
    );
    let got = json(s.cf_get("/demo-cache/values/bin")).await;
    assert_cf_error(&got, 404, 10009, "key not found");
    s.stop().await;
}

#[tokio::test]
async fn large_values_stream_both_ways() {
    let s = TestServer::start().await;
    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(100_000).map(|c| Ok(c.to_vec())).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let got = json(s.cf_put("/demo-cache/values/big").body(body)).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let response = s
        .client
        .get(s.cf("/demo-cache/values/big"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-length"], big.len().to_string());
    assert!(response.bytes().await.unwrap().as_ref() == big.as_slice());
    s.stop().await;
}

#[allow(clippy::unwrap_used, reason = "test helper")]
fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----kv-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, content) in parts {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn multipart_writes_value_and_metadata_in_either_order() {
    let s = TestServer::start().await;
    for (key, parts) in [
        (
            "meta-first",
            vec![
                (
                    "metadata",
                    br#"{"contentType":"image/png","n":1}"#.as_slice(),
                ),
                ("value", b"\x89PNG".as_slice()),
            ],
        ),
        (
            "value-first",
            vec![
                ("value", b"\x89PNG".as_slice()),
                (
                    "metadata",
                    br#"{"contentType":"image/png","n":1}"#.as_slice(),
                ),
            ],
        ),
    ] {
        let (content_type, body) = multipart(&parts);
        let got = json(
            s.cf_put(&format!("/demo-cache/values/{key}?expiration_ttl=300"))
                .header("content-type", content_type)
                .body(body),
        )
        .await;
        assert_eq!(got.0, 200, "{key}: {}", got.1);
        let response = s
            .client
            .get(s.cf(&format!("/demo-cache/values/{key}")))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert!(response.headers().get("expiration").is_some());
        assert_eq!(response.bytes().await.unwrap().as_ref(), b"\x89PNG");
        let got = json(s.cf_get(&format!("/demo-cache/metadata/{key}"))).await;
        assert_eq!(got.1["result"], json!({"contentType": "image/png", "n": 1}));
    }
    // A raw write without metadata removes it; the metadata route then answers null.
    let got = json(s.cf_put("/demo-cache/values/meta-first").body("plain")).await;
    assert_eq!(got.0, 200);
    let got = json(s.cf_get("/demo-cache/metadata/meta-first")).await;
    assert_eq!(
        got,
        (
            200,
            json!({"success": true, "errors": [], "messages": [], "result": null})
        )
    );
    let got = json(s.cf_get("/demo-cache/metadata/missing")).await;
    assert_cf_error(&got, 404, 10009, "missing");

    let (content_type, body) = multipart(&[("metadata", b"{}")]);
    let got = json(
        s.cf_put("/demo-cache/values/x")
            .header("content-type", content_type)
            .body(body),
    )
    .await;
    assert_cf_error(&got, 400, 10908, "no \"value\" part");
    let (content_type, body) = multipart(&[("metadata", b"{not json"), ("value", b"v")]);
    let got = json(
        s.cf_put("/demo-cache/values/x")
            .header("content-type", content_type)
            .body(body),
    )
    .await;
    assert_cf_error(&got, 400, 10907, "metadata part is not valid JSON");
    let big_meta = format!("{{\"a\":\"{}\"}}", "m".repeat(1100));
    let (content_type, body) = multipart(&[("metadata", big_meta.as_bytes()), ("value", b"v")]);
    let got = json(
        s.cf_put("/demo-cache/values/x")
            .header("content-type", content_type)
            .body(body),
    )
    .await;
    assert_cf_error(
        &got,
        413,
        10903,
        "Metadata length of 1108 exceeds limit of 1024",
    );
    let (content_type, body) = multipart(&[("value", &vec![b'v'; 70_000])]);
    let got = json(
        s.cf_put("/small/values/x")
            .header("content-type", content_type)
            .body(body),
    )
    .await;
    assert_cf_error(&got, 413, 10902, "exceeds limit of 65536");
    assert_eq!(s.store("demo-cache").get("x").bytes().await.unwrap(), None);
    assert_eq!(s.store("small").get("x").bytes().await.unwrap(), None);
    s.stop().await;
}

#[tokio::test]
async fn keys_page_until_the_cursor_is_empty() {
    let s = TestServer::start().await;
    for i in 0..25 {
        s.store("demo-cache")
            .put(format!("k{i:02}"), "v")
            .metadata(json!({"i": i}))
            .await
            .unwrap();
    }
    s.store("demo-cache").put("other", "v").await.unwrap();
    let mut names = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 10, "listing must terminate");
        let (status, body) = json(s.cf_get(&format!(
            "/demo-cache/keys?prefix=k&limit=10&cursor={cursor}"
        )))
        .await;
        assert_eq!(status, 200, "{body}");
        let keys = body["result"].as_array().unwrap();
        assert_eq!(body["result_info"]["count"], keys.len());
        assert_eq!(
            body["result_info"].as_object().unwrap().len(),
            2,
            "result_info is {{count, cursor}}"
        );
        for key in keys {
            assert!(
                key.get("expiration").is_none(),
                "absent when the key does not expire"
            );
            names.push((
                key["name"].as_str().unwrap().to_owned(),
                key["metadata"]["i"].as_u64().unwrap(),
            ));
        }
        cursor = body["result_info"]["cursor"]
            .as_str()
            .expect("cursor is a string")
            .to_owned();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 25);
    assert_eq!(names[24], ("k24".to_owned(), 24));
    // A page that ends exactly at the last key is the last page: empty cursor.
    let (_, body) = json(s.cf_get("/demo-cache/keys?prefix=k2&limit=5")).await;
    assert_eq!(body["result_info"], json!({"count": 5, "cursor": ""}));
    let got = json(s.cf_get("/demo-cache/keys?cursor=bogus")).await;
    assert_cf_error(&got, 400, 10906, "cursor was not issued");
    let got = json(s.cf_get("/demo-cache/keys?limit=1001")).await;
    assert_cf_error(&got, 400, 10905, "key_count_limit of 1001");
    s.stop().await;
}

#[tokio::test]
async fn keys_arrive_percent_encoded_and_are_decoded_once() {
    let s = TestServer::start().await;
    for (path_key, key) in [
        ("a%2Fb", "a/b"),
        ("a/b", "a/b"),
        ("50%25", "50%"),
        ("%2525", "%25"),
        ("%E6%97%A5%E6%9C%AC", "日本"),
        ("sp%20ace%3A%21", "sp ace:!"),
    ] {
        let got = json(
            s.cf_put(&format!("/demo-cache/values/{path_key}"))
                .body(key.to_owned()),
        )
        .await;
        assert_eq!(got.0, 200, "{path_key}");
        assert_eq!(
            s.store("demo-cache")
                .get(key)
                .text()
                .await
                .unwrap()
                .as_deref(),
            Some(key),
            "{path_key}"
        );
        let response = s
            .client
            .get(s.cf(&format!("/demo-cache/values/{path_key}")))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(response.text().await.unwrap(), key);
    }
    let got = json(
        s.cf_put(&format!("/demo-cache/values/{}", "é".repeat(257)))
            .body("v"),
    )
    .await;
    assert_cf_error(
        &got,
        400,
        10901,
        "UTF-8 encoded length of 514 exceeds key length limit of 512",
    );
    s.stop().await;
}

#[tokio::test]
async fn bad_expirations_are_refused_and_nothing_is_written() {
    let s = TestServer::start().await;
    for (query, status, code, needle) in [
        (
            "expiration_ttl=30",
            400,
            10904,
            "Invalid expiration_ttl of 30. Expiration TTL must be at least 60.",
        ),
        (
            "expiration_ttl=abc",
            400,
            10904,
            "Invalid expiration_ttl of abc",
        ),
        (
            "expiration_ttl=-5",
            400,
            10904,
            "Invalid expiration_ttl of -5",
        ),
        ("expiration=1000", 400, 10904, "Invalid expiration of 1000"),
    ] {
        let got = json(s.cf_put(&format!("/demo-cache/values/k?{query}")).body("v")).await;
        assert_cf_error(&got, status, code, needle);
    }
    // The store's own floor: `sessions` accepts 1 second.
    let got = json(s.cf_put("/sessions/values/k?expiration_ttl=1").body("v")).await;
    assert_eq!(got.0, 200);
    assert_eq!(s.store("demo-cache").get("k").bytes().await.unwrap(), None);
    s.stop().await;
}

#[tokio::test]
async fn bulk_write_get_and_both_deletes() {
    let s = TestServer::start().await;
    let items = json!([
        {"key": "a", "value": "alpha"},
        {"key": "b", "value": "AAEC/w==", "base64": true, "metadata": {"kind": "bytes"}},
        {"key": "c", "value": "{\"n\":1}", "expiration_ttl": 600.0},
        {"key": "d/e", "value": "slash", "expiration": now() + 3600},
    ]);
    let got = json(s.cf_put("/demo-cache/bulk").json(&items)).await;
    assert_eq!(
        got,
        (
            200,
            json!({"success": true, "errors": [], "messages": [], "result": {"successful_key_count": 4, "unsuccessful_keys": []}})
        )
    );
    assert_eq!(
        s.store("demo-cache")
            .get("b")
            .bytes()
            .await
            .unwrap()
            .unwrap()
            .as_ref(),
        [0u8, 1, 2, 255]
    );

    let got = json(
        s.cf_post("/demo-cache/bulk/get")
            .json(&json!({"keys": ["a", "c", "zz"]})),
    )
    .await;
    assert_eq!(
        got.1["result"],
        json!({"values": {"a": "alpha", "c": "{\"n\":1}", "zz": null}})
    );
    let got = json(
        s.cf_post("/demo-cache/bulk/get")
            .json(&json!({"keys": ["c"], "type": "json", "withMetadata": true})),
    )
    .await;
    assert_eq!(
        got.1["result"],
        json!({"values": {"c": {"value": {"n": 1}, "metadata": null}}})
    );
    let got = json(
        s.cf_post("/demo-cache/bulk/get")
            .json(&json!({"keys": ["a"], "type": "json"})),
    )
    .await;
    assert_cf_error(&got, 422, 10910, "non-JSON value");
    let got = json(s.cf_post("/demo-cache/bulk/get").json(&json!({"keys": []}))).await;
    assert_cf_error(&got, 400, 10908, "minimum of 1 key");

    let got = json(s.cf_delete("/demo-cache/bulk").json(&json!(["a", "b"]))).await;
    assert_eq!(
        got.1["result"],
        json!({"successful_key_count": 2, "unsuccessful_keys": []})
    );
    let got =
        json(
            s.cf_post("/demo-cache/bulk/delete")
                .json(&json!(["c", "d/e", "never-existed"])),
        )
        .await;
    assert_eq!(
        got.1["result"],
        json!({"successful_key_count": 3, "unsuccessful_keys": []})
    );
    assert!(s.store("demo-cache").list().await.unwrap().keys.is_empty());
    s.stop().await;
}

#[tokio::test]
async fn bulk_write_is_all_or_nothing_and_names_the_bad_item() {
    let s = TestServer::start().await;
    let items = json!([
        {"key": "ok-1", "value": "v"},
        {"key": "ok-2", "value": "v"},
        {"key": "short", "value": "v", "expiration_ttl": 10},
    ]);
    let got = json(s.cf_put("/demo-cache/bulk").json(&items)).await;
    assert_cf_error(
        &got,
        400,
        10904,
        "item 2 (key \"short\"): Invalid expiration_ttl of 10",
    );
    let got = json(
        s.cf_put("/demo-cache/bulk")
            .json(&json!([{"key": "x", "value": "%%%", "base64": true}])),
    )
    .await;
    assert_cf_error(
        &got,
        400,
        10908,
        "item 0 (key \"x\"): Invalid value: it is not valid base64",
    );
    let got = json(
        s.cf_put("/demo-cache/bulk")
            .json(&json!([{"key": "", "value": "v"}])),
    )
    .await;
    assert_cf_error(&got, 400, 10901, "item 0");
    let got = json(
        s.cf_put("/demo-cache/bulk")
            .json(&json!({"key": "not-an-array"})),
    )
    .await;
    assert_cf_error(&got, 400, 10907, "JSON array");
    let got = json(
        s.cf_put("/demo-cache/bulk")
            .header("content-type", "application/json")
            .body("[{\"key\": \"a\", \"value\": "),
    )
    .await;
    assert_cf_error(&got, 400, 10907, "EOF");
    let many: Vec<_> = (0..10_001)
        .map(|i| json!({"key": format!("k{i}"), "value": ""}))
        .collect();
    let got = json(s.cf_put("/demo-cache/bulk").json(&many)).await;
    assert_cf_error(
        &got,
        413,
        10909,
        "Bulk operation of 10001 items exceeds the limit of 10000",
    );
    let got = json(
        s.cf_post("/demo-cache/bulk/delete")
            .json(&json!(["ok", ".."])),
    )
    .await;
    assert_cf_error(&got, 400, 10901, "item 1");
    assert!(
        s.store("demo-cache").list().await.unwrap().keys.is_empty(),
        "nothing was written"
    );
    s.stop().await;
}

#[tokio::test]
async fn oversized_streamed_body_gets_413_and_nothing_is_written() {
    let s = TestServer::start().await;
    s.store("small").put("k", "before").await.unwrap();
    // Chunked (no Content-Length): refused while streaming, mid-body.
    let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 64 * 1024]));
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let got = json(s.cf_put("/small/values/k").body(body)).await;
    assert_cf_error(&got, 413, 10902, "exceeds limit of 65536");
    assert_eq!(
        s.store("small").get("k").text().await.unwrap().as_deref(),
        Some("before")
    );
    // Declared Content-Length: refused before reading.
    let got = json(s.cf_put("/small/values/k").body(vec![b'y'; 65_537])).await;
    assert_cf_error(
        &got,
        413,
        10902,
        "Value length of 65537 exceeds limit of 65536",
    );
    assert_eq!(
        s.store("small").get("k").text().await.unwrap().as_deref(),
        Some("before")
    );
    // Exactly the limit is fine.
    let got = json(s.cf_put("/small/values/k").body(vec![b'z'; 65_536])).await;
    assert_eq!(got.0, 200);
    s.stop().await;
}

#[tokio::test]
async fn errors_use_the_cloudflare_envelope() {
    let s = TestServer::start().await;
    let got = json(s.client.get(s.cf("/demo-cache/keys"))).await;
    assert_cf_error(&got, 401, 10000, "missing credentials");
    let got = json(s.cf_get("/demo-cache/nowhere")).await;
    assert_cf_error(&got, 404, 7000, "no route");
    let got = json(s.cf_post("/demo-cache/values/k")).await;
    assert_cf_error(&got, 405, 10914, "method not allowed");
    s.stop().await;
}

/// The hot value routes are answered without the router when a request has their
/// ordinary shape; an empty query string (`?`) sends the same request through the
/// router. Both must answer alike: same status, body and headers that matter.
#[tokio::test]
async fn hot_routes_answer_as_the_router_does() {
    let s = TestServer::start().await;
    s.store("demo-cache")
        .put("a/b", "value")
        .expiration_ttl(600)
        .await
        .unwrap();
    s.store("small").put("k", "v").await.unwrap();
    let stale = "\"ffff\"".to_owned();
    type Case<'a> = (&'a str, String, Option<(&'a str, String)>, Vec<u8>);
    let cases: Vec<Case<'_>> = vec![
        ("GET", s.cf("/demo-cache/values/a%2Fb"), None, vec![]),
        ("GET", s.cf("/demo-cache/values/missing"), None, vec![]),
        ("GET", s.cf("/demo-cache/values/%FF"), None, vec![]),
        ("GET", s.cf("/nope/values/k"), None, vec![]),
        (
            "GET",
            s.cf(&format!("/demo-cache/values/{}", "k".repeat(513))),
            None,
            vec![],
        ),
        ("GET", s.url("/v1/kv/demo-cache/a%2Fb"), None, vec![]),
        ("GET", s.url("/v1/kv/demo-cache/missing"), None, vec![]),
        ("PUT", s.cf("/small/values/new"), None, b"1234".to_vec()),
        ("PUT", s.cf("/small/values/big"), None, vec![b'x'; 65_537]),
        (
            "PUT",
            s.cf("/small/values/k"),
            Some(("if-match", stale)),
            b"v2".to_vec(),
        ),
        (
            "PUT",
            s.cf("/small/values/k"),
            Some(("if-none-match", "*".into())),
            b"v3".to_vec(),
        ),
    ];
    for (method, url, header, body) in cases {
        let mut answers = Vec::new();
        for url in [url.clone(), format!("{url}?")] {
            let mut request = s
                .client
                .request(method.parse().unwrap(), &url)
                .bearer_auth(API_KEY)
                .body(body.clone());
            if let Some((name, value)) = &header {
                request = request.header(*name, value);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let headers: Vec<(String, String)> = ["content-type", "expiration", "etag"]
                .iter()
                .filter_map(|h| {
                    Some((
                        h.to_string(),
                        response.headers().get(*h)?.to_str().ok()?.to_owned(),
                    ))
                })
                .collect();
            let body = response.bytes().await.unwrap();
            answers.push((status, headers, body));
        }
        let (fast, routed) = (&answers[0], &answers[1]);
        assert_eq!(fast.0, routed.0, "{method} {url} {header:?}: status");
        assert_eq!(fast.2, routed.2, "{method} {url}: body");
        // A PUT's ETag is the new version, different for each of the two writes.
        let names = |h: &Vec<(String, String)>| {
            h.iter()
                .map(|(n, v)| {
                    if n == "etag" && method == "PUT" {
                        (n.clone(), String::new())
                    } else {
                        (n.clone(), v.clone())
                    }
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&fast.1), names(&routed.1), "{method} {url}: headers");
    }
    s.stop().await;
}
