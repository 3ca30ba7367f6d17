//! The @workertown/kv style routes (`/v1`), `/health`, `/open-api.json` and
//! `/v1/admin/info`, against a server on 127.0.0.1 port 0.

mod common;

use common::{API_KEY, TestServer, assert_v1_error, json};
use serde_json::json;

#[tokio::test]
async fn put_get_delete_round_trip() {
    let s = TestServer::start().await;
    let body = r#"{"value": {"name": "Ada", "n": [1, 2]}}"#;
    let got = json(
        s.put("/v1/kv/demo-cache/user:1")
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(
        got,
        (
            200,
            json!({"status": 200, "success": true, "data": {"name": "Ada", "n": [1, 2]}})
        )
    );

    let got = json(s.get("/v1/kv/demo-cache/user:1")).await;
    assert_eq!(
        got,
        (
            200,
            json!({"status": 200, "success": true, "data": {"name": "Ada", "n": [1, 2]}})
        )
    );
    // Stored as the JSON text of `value`, as sent, through the runtime.
    let stored = s.store("demo-cache").get("user:1").text().await.unwrap();
    assert_eq!(stored.as_deref(), Some(r#"{"name": "Ada", "n": [1, 2]}"#));

    let got = json(s.delete("/v1/kv/demo-cache/user:1")).await;
    assert_eq!(
        got,
        (200, json!({"status": 200, "success": true, "data": true}))
    );
    let got = json(s.get("/v1/kv/demo-cache/user:1")).await;
    assert_v1_error(&got, 404, "key_not_found", "user:1");
    assert_eq!(got.1["data"], serde_json::Value::Null);
    // Deleting a missing key succeeds.
    let got = json(s.delete("/v1/kv/demo-cache/user:1")).await;
    assert_eq!(got.0, 200);
    s.stop().await;
}

#[tokio::test]
async fn every_json_value_but_null_round_trips() {
    let s = TestServer::start().await;
    for value in [
        json!("text"),
        json!(0),
        json!(-1.5),
        json!(true),
        json!([]),
        json!({}),
        json!(""),
    ] {
        let got = json(
            s.put("/v1/kv/demo-cache/v")
                .json(&json!({ "value": value })),
        )
        .await;
        assert_eq!(got.0, 200, "{value}");
        let got = json(s.get("/v1/kv/demo-cache/v")).await;
        assert_eq!(got.1["data"], value);
    }
    let got = json(s.put("/v1/kv/demo-cache/v").json(&json!({ "value": null }))).await;
    assert_v1_error(&got, 400, "invalid_request", "\"value\"");
    let got = json(s.put("/v1/kv/demo-cache/v").json(&json!({ "ttl": 100 }))).await;
    assert_v1_error(&got, 400, "invalid_request", "\"value\"");
    s.stop().await;
}

#[tokio::test]
async fn ttl_and_metadata_reach_the_store_and_the_listing() {
    let s = TestServer::start().await;
    let got = json(
        s.put("/v1/kv/demo-cache/session:a")
            .json(&json!({"value": 1, "ttl": 3600, "metadata": {"user": 7}})),
    )
    .await;
    assert_eq!(got.0, 200);
    let (status, body) = json(s.get("/v1/kv/demo-cache?prefix=session:")).await;
    assert_eq!(status, 200);
    let key = &body["data"]["keys"][0];
    assert_eq!(key["name"], "session:a");
    assert_eq!(key["metadata"], json!({"user": 7}));
    let expiration = key["expiration"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (now + 3590..=now + 3610).contains(&expiration),
        "{expiration} vs {now}"
    );
    assert_eq!(body["data"]["list_complete"], true);
    s.stop().await;
}

#[tokio::test]
async fn listing_pages_with_cursor_to_the_end() {
    let s = TestServer::start().await;
    for i in 0..25 {
        let got = json(
            s.put(&format!("/v1/kv/demo-cache/k{i:02}"))
                .json(&json!({"value": i})),
        )
        .await;
        assert_eq!(got.0, 200);
    }
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut path = "/v1/kv/demo-cache?limit=10".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, body) = json(s.get(&path)).await;
        assert_eq!(status, 200, "{body}");
        for key in body["data"]["keys"].as_array().unwrap() {
            names.push(key["name"].as_str().unwrap().to_owned());
        }
        if body["data"]["list_complete"] == true {
            assert!(body["data"].get("cursor").is_none(), "{body}");
            cursor = None;
            break;
        }
        cursor = Some(body["data"]["cursor"].as_str().unwrap().to_owned());
    }
    assert!(cursor.is_none(), "listing terminated");
    let expected: Vec<String> = (0..25).map(|i| format!("k{i:02}")).collect();
    assert_eq!(names, expected);
    s.stop().await;
}

#[tokio::test]
async fn keys_with_slash_percent_and_unicode_are_decoded_once() {
    let s = TestServer::start().await;
    let cases = [
        ("a%2Fb", "a/b"),
        ("a/b/c", "a/b/c"),
        ("100%25", "100%"),
        ("%252F", "%2F"),
        ("caf%C3%A9", "café"),
        ("%E2%9C%93%20done", "✓ done"),
        ("q%3Fx%3D1%26y", "q?x=1&y"),
    ];
    for (path_key, key) in cases {
        let got = json(
            s.put(&format!("/v1/kv/demo-cache/{path_key}"))
                .json(&json!({"value": key})),
        )
        .await;
        assert_eq!(got.0, 200, "{path_key}: {}", got.1);
        let stored = s
            .store("demo-cache")
            .get(key)
            .json::<String>()
            .await
            .unwrap();
        assert_eq!(
            stored.as_deref(),
            Some(key),
            "{path_key} decodes to {key:?}"
        );
        let got = json(s.get(&format!("/v1/kv/demo-cache/{path_key}"))).await;
        assert_eq!(got.1["data"], key);
    }
    s.stop().await;
}

#[tokio::test]
async fn bad_input_gets_4xx_json_naming_the_problem() {
    let s = TestServer::start().await;
    let bad_json = s
        .put("/v1/kv/demo-cache/k")
        .header("content-type", "application/json")
        .body("{\"value\": ");
    assert_v1_error(&json(bad_json).await, 400, "invalid_json", "EOF");
    let unknown_field = s
        .put("/v1/kv/demo-cache/k")
        .json(&json!({"value": 1, "tll": 60}));
    assert_v1_error(&json(unknown_field).await, 400, "invalid_json", "tll");
    let short_ttl = s
        .put("/v1/kv/demo-cache/k")
        .json(&json!({"value": 1, "ttl": 30}));
    assert_v1_error(
        &json(short_ttl).await,
        400,
        "expiration_ttl_too_short",
        "Invalid expiration_ttl of 30",
    );
    let bad_ttl = s
        .put("/v1/kv/demo-cache/k")
        .json(&json!({"value": 1, "ttl": "soon"}));
    assert_v1_error(&json(bad_ttl).await, 400, "invalid_parameter", "soon");
    let long_key = "k".repeat(513);
    let got = json(
        s.put(&format!("/v1/kv/demo-cache/{long_key}"))
            .json(&json!({"value": 1})),
    )
    .await;
    assert_v1_error(
        &got,
        400,
        "key_too_long",
        "UTF-8 encoded length of 513 exceeds key length limit of 512",
    );
    let got = json(s.put("/v1/kv/demo-cache/..").json(&json!({"value": 1}))).await;
    assert!(matches!(got.0, 400 | 404), "{got:?}");
    let got = json(s.get("/v1/kv/demo-cache/%FF%FE")).await;
    assert_v1_error(&got, 400, "invalid_parameter", "UTF-8");
    let got = json(s.get("/v1/kv/nope/k")).await;
    assert_v1_error(&got, 404, "store_not_found", "nope");
    let got = json(s.get("/v1/kv/demo-cache?cursor=not-a-cursor")).await;
    assert_v1_error(&got, 400, "invalid_cursor", "cursor");
    let got = json(s.get("/v1/kv/demo-cache?limit=0")).await;
    assert_v1_error(&got, 400, "invalid_list_limit", "key_count_limit of 0");
    let got = json(s.get("/v1/kv/demo-cache?limit=many")).await;
    assert_v1_error(&got, 400, "invalid_parameter", "many");
    let got = json(
        s.client
            .post(s.url("/v1/kv/demo-cache/k"))
            .bearer_auth(API_KEY),
    )
    .await;
    assert_v1_error(&got, 405, "method_not_allowed", "method");
    let got = json(s.get("/v1/nothing-here")).await;
    assert_v1_error(&got, 404, "not_found", "no route");
    // Nothing was written by any of these.
    let page = s.store("demo-cache").list().await.unwrap();
    assert!(page.keys.is_empty(), "{:?}", page.keys);
    s.stop().await;
}

#[tokio::test]
async fn oversized_json_body_gets_413_and_nothing_is_written() {
    let s = TestServer::start().await;
    let big = "x".repeat(200 * 1024);
    let got = json(s.put("/v1/kv/small/big").json(&json!({ "value": big }))).await;
    assert_v1_error(&got, 413, "payload_too_large", "exceeds the limit");
    // Just over the value limit but within the envelope: the runtime's own error.
    let value = "y".repeat(65_536);
    let got = json(s.put("/v1/kv/small/big").json(&json!({ "value": value }))).await;
    assert_v1_error(
        &got,
        413,
        "value_too_large",
        "Value length of 65538 exceeds limit of 65536",
    );
    assert_eq!(s.store("small").get("big").bytes().await.unwrap(), None);
    s.stop().await;
}

#[tokio::test]
async fn values_written_raw_are_read_as_json_or_text() {
    let s = TestServer::start().await;
    s.store("demo-cache")
        .put("raw", "plain text")
        .await
        .unwrap();
    s.store("demo-cache")
        .put("bin", vec![0xff, 0x00])
        .await
        .unwrap();
    let got = json(s.get("/v1/kv/demo-cache/raw")).await;
    assert_eq!(got.1["data"], "plain text");
    let got = json(s.get("/v1/kv/demo-cache/bin")).await;
    assert_v1_error(&got, 422, "invalid_utf8", "binary");
    s.stop().await;
}

#[tokio::test]
async fn health_and_openapi_are_public() {
    let s = TestServer::start().await;
    let got = json(s.client.get(s.url("/health"))).await;
    assert_eq!(
        got,
        (200, json!({"status": 200, "success": true, "data": true}))
    );
    let (status, doc) = json(s.client.get(s.url("/open-api.json"))).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/v1/kv/{store}/{key}",
        "/v1/kv/{store}",
        "/v1/admin/info",
        "/health",
        "/open-api.json",
        "/client/v4/accounts/{account_id}/storage/kv/namespaces",
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}",
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/keys",
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key_name}",
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/metadata/{key_name}",
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk",
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/delete",
        "/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/get",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys()
        );
    }
    assert!(
        paths.keys().all(|p| !p.contains('*')),
        "no axum wildcard syntax leaks"
    );
    let bulk = &paths["/client/v4/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk"];
    assert!(bulk.get("put").is_some() && bulk.get("delete").is_some());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert_eq!(
        paths["/health"]["get"]["security"],
        json!([{}]),
        "health needs no credentials"
    );
    s.stop().await;
}

#[tokio::test]
async fn admin_info_shows_configuration_and_no_secret() {
    let s = TestServer::start().await;
    let got = json(s.client.get(s.url("/v1/admin/info"))).await;
    assert_v1_error(&got, 401, "unauthorized", "credentials");
    let (status, body) = json(s.get("/v1/admin/info")).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    let stores: Vec<&str> = data["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(stores, ["demo-cache", "sessions", "small"]);
    let small = &data["stores"].as_array().unwrap()[2];
    assert_eq!(small["max_value_size"], 65536);
    assert_eq!(small["backend"], "memory");
    assert_eq!(data["auth"]["strategies"], json!(["api_key"]));
    assert_eq!(data["auth"]["no_auth"], false);
    assert!(!body.to_string().contains(API_KEY), "the key never appears");
    s.stop().await;
}
