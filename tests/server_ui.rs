//! The data browser's files at `/ui`: served without credentials, with their content
//! types, a strict Content-Security-Policy, `nosniff`, no referrer and revalidation by
//! `ETag` — while every data route still answers 401 without credentials, and no path
//! that merely starts like `/ui` opens one.

mod common;

use common::{TestServer, assert_v1_error, json};
use reqwest::StatusCode;
use serde_json::json;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[allow(clippy::unwrap_used, reason = "test helper")]
async fn get_public(s: &TestServer, path: &str) -> reqwest::Response {
    s.client.get(s.url(path)).send().await.unwrap()
}

/// A GET sent byte for byte as given (no normalization of the path): status and body.
#[allow(clippy::unwrap_used, reason = "test helper")]
async fn raw_get(s: &TestServer, path: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let (addr, path) = (s.addr, path.to_owned());
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    })
    .await
    .unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn files_are_public_with_strict_headers() {
    let s = TestServer::start().await;
    for (path, content_type, needle) in [
        (
            "/ui",
            "text/html; charset=utf-8",
            "<script type=\"module\" src=\"/ui/app.js\">",
        ),
        ("/ui/index.html", "text/html; charset=utf-8", "<title>"),
        (
            "/ui/app.js",
            "text/javascript; charset=utf-8",
            "sessionStorage",
        ),
        ("/ui/style.css", "text/css; charset=utf-8", ":root"),
        ("/ui/favicon.svg", "image/svg+xml", "<svg"),
    ] {
        let response = get_public(&s, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, "content-type"), content_type, "{path}");
        assert_eq!(header(&response, "content-security-policy"), CSP, "{path}");
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
        assert_eq!(
            header(&response, "referrer-policy"),
            "no-referrer",
            "{path}"
        );
        assert_eq!(header(&response, "cache-control"), "no-cache", "{path}");
        let etag = header(&response, "etag").to_owned();
        assert!(etag.starts_with('"') && etag.len() > 2, "{path}: {etag:?}");
        let body = response.text().await.expect("body");
        assert!(body.contains(needle), "{path} should contain {needle:?}");

        // Revalidation: the same ETag is answered 304, with the same headers, no body.
        let again = s
            .client
            .get(s.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .expect("sent");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(header(&again, "etag"), etag, "{path}");
        assert_eq!(header(&again, "content-security-policy"), CSP, "{path}");
        assert!(again.bytes().await.expect("body").is_empty());
        let stale = s
            .client
            .get(s.url(path))
            .header("if-none-match", "\"0000000000000000\"")
            .send()
            .await
            .expect("sent");
        assert_eq!(stale.status(), StatusCode::OK, "{path}");
    }
    // `/ui/` sends the browser to `/ui`, where the page's links resolve.
    let slash = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(s.url("/ui/"))
        .send()
        .await
        .expect("sent");
    assert_eq!(slash.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&slash, "location"), "/ui");
    s.stop().await;
}

#[tokio::test]
async fn data_routes_still_need_credentials() {
    let s = TestServer::start().await;
    s.store("demo-cache").put("k", "v").await.expect("put");
    for path in [
        "/v1/admin/info",
        "/v1/kv/demo-cache",
        "/v1/kv/demo-cache/k",
        "/v1/stores/demo-cache/count",
        "/client/v4/accounts/any/storage/kv/namespaces/demo-cache/values/k",
    ] {
        let got = json(s.client.get(s.url(path))).await;
        assert_eq!(got.0, 401, "{path}: {}", got.1);
    }
    // Paths that look like the page's but are not are not public either.
    for path in ["/uix", "/ui.json", "/UI", "/ui%2Fapp.js", "/v1/ui"] {
        let got = json(s.client.get(s.url(path))).await;
        assert_eq!(got.0, 401, "{path}: {}", got.1);
    }
    // Dot segments are not resolved: nothing under /ui reaches a data route. (Sent
    // raw: an HTTP client would resolve them before sending.)
    for path in [
        "/ui/../v1/admin/info",
        "/ui/%2e%2e/v1/kv/demo-cache/k",
        "/ui/..%2Fv1%2Fadmin%2Finfo",
    ] {
        let (status, body) = raw_get(&s, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("demo-cache"), "{path}: {body}");
    }
    // The data is still there for those who sign in, and the page is no way around it.
    let got = json(s.get("/v1/kv/demo-cache/k")).await;
    assert_eq!(
        got,
        (200, json!({"status": 200, "success": true, "data": "v"}))
    );
    s.stop().await;
}

#[tokio::test]
async fn unknown_files_are_404() {
    let s = TestServer::start().await;
    for path in ["/ui/x", "/ui/app.js.map", "/ui/.env", "/ui/index.htm"] {
        let got = json(s.client.get(s.url(path))).await;
        assert_v1_error(&got, 404, "not_found", "");
    }
    let got = json(s.client.get(s.url("/ui/x"))).await;
    assert!(
        got.1["error"].as_str().unwrap_or("").contains("\"x\""),
        "{}",
        got.1
    );
    // Writing to the page's paths is refused, not served.
    let response = s
        .client
        .post(s.url("/ui/app.js"))
        .body("x")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    s.stop().await;
}

#[tokio::test]
async fn the_script_never_parses_data_as_html() {
    let s = TestServer::start().await;
    let script = get_public(&s, "/ui/app.js")
        .await
        .text()
        .await
        .expect("body");
    for banned in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "alert(",
    ] {
        assert!(!script.contains(banned), "app.js uses {banned}");
    }
    // Credentials go in a header, from session storage only.
    assert!(script.contains("sessionStorage"));
    assert!(!script.contains("localStorage"));
    assert!(!script.contains("document.cookie"));
    let page = get_public(&s, "/ui").await.text().await.expect("body");
    assert!(
        !page.contains("<script>") && !page.contains("style="),
        "nothing inline"
    );
    s.stop().await;
}

#[tokio::test]
async fn documented_as_public_in_the_openapi_document() {
    let s = TestServer::start().await;
    let (status, doc) = json(s.client.get(s.url("/open-api.json"))).await;
    assert_eq!(status, 200);
    for path in ["/ui", "/ui/{file}"] {
        assert_eq!(doc["paths"][path]["get"]["security"], json!([{}]), "{path}");
    }
    s.stop().await;
}
