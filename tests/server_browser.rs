//! What a web page can make a visitor's browser send to a `kv serve` on their machine:
//! a cross-site "simple" request (a form post, `fetch` with `mode: "no-cors"`), which
//! needs no CORS approval and carries the browser's cached basic credentials — or none
//! at all with `--no-auth`; and, with `--no-auth`, same-origin requests after the page
//! rebinds its own host name to 127.0.0.1 (DNS rebinding). All are refused; clients
//! that are not browsers, and the server's own page, are served as before.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed step is a failed test"
)]

mod common;

use base64::Engine as _;
use common::{TestServer, json};
use kv::server::{AuthSettings, BasicCredentials, Settings};

const DELETE: &str = "/demo-cache/bulk/delete";

async fn no_auth_server() -> TestServer {
    let settings = Settings::new(AuthSettings::default())
        .addr(([127, 0, 0, 1], 0).into())
        .no_auth(true);
    TestServer::with_settings(settings).await
}

async fn exists(s: &TestServer, key: &str) -> bool {
    s.store("demo-cache")
        .get(key)
        .bytes()
        .await
        .unwrap()
        .is_some()
}

/// `POST .../bulk/delete` of `["k"]` as a form or `no-cors` fetch sends it: text/plain,
/// with the given browser headers.
async fn delete_k(s: &TestServer, headers: &[(&str, String)]) -> (u16, serde_json::Value) {
    let mut request = s
        .client
        .post(s.cf(DELETE))
        .header("content-type", "text/plain;charset=UTF-8")
        .body(r#"["k"]"#);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    json(request).await
}

fn refused(got: &(u16, serde_json::Value), needle: &str) {
    assert_eq!(got.0, 401, "{}", got.1);
    let message = got.1["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "{message:?} should contain {needle:?}"
    );
}

#[tokio::test]
async fn no_auth_refuses_what_a_page_on_another_site_sends() {
    let s = no_auth_server().await;
    s.store("demo-cache").put("k", "v").await.unwrap();
    let here = format!("http://{}", s.addr);
    let cases = [
        vec![
            ("origin", "https://evil.test".to_owned()),
            ("sec-fetch-site", "cross-site".to_owned()),
        ],
        // Another port of this machine is the same site, not the same origin.
        vec![
            ("origin", "http://127.0.0.1:3000".to_owned()),
            ("sec-fetch-site", "same-site".to_owned()),
        ],
        // Browsers too old for Sec-Fetch-Site still send Origin on a POST.
        vec![("origin", "https://evil.test".to_owned())],
        vec![("origin", "null".to_owned())],
        vec![("origin", "http://127.0.0.1:3000".to_owned())],
    ];
    for headers in cases {
        let got = delete_k(&s, &headers).await;
        refused(&got, "cross-");
        assert!(exists(&s, "k").await, "{headers:?} deleted the key");
    }
    // The server's own page, and clients that are not browsers, are served.
    let got = delete_k(
        &s,
        &[
            ("origin", here.clone()),
            ("sec-fetch-site", "same-origin".to_owned()),
        ],
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert!(!exists(&s, "k").await);
    s.store("demo-cache").put("k", "v").await.unwrap();
    let got = delete_k(&s, &[("origin", here)]).await;
    assert_eq!(got.0, 200, "{}", got.1);
    s.store("demo-cache").put("k", "v").await.unwrap();
    assert_eq!(delete_k(&s, &[]).await.0, 200);
    assert!(!exists(&s, "k").await);
    s.stop().await;
}

#[tokio::test]
async fn no_auth_answers_only_requests_addressed_to_a_loopback_host() {
    let s = no_auth_server().await;
    s.store("demo-cache")
        .put("k", "secret value")
        .await
        .unwrap();
    let port = s.addr.port();
    // After rebinding evil.test to 127.0.0.1, the page is "same-origin" with the
    // server as far as the browser knows; only Host tells.
    for host in [
        format!("evil.test:{port}"),
        format!("localhost.evil.test:{port}"),
        format!("127.0.0.1.nip.test:{port}"),
        "evil.test".to_owned(),
    ] {
        let got = json(
            s.client
                .get(s.url("/v1/kv/demo-cache/k"))
                .header("host", &host)
                .header("sec-fetch-site", "same-origin"),
        )
        .await;
        assert_eq!(got.0, 401, "{host}: {}", got.1);
        let message = got.1["error"].as_str().unwrap_or_default();
        assert!(message.contains("DNS rebinding"), "{message}");
        assert!(!got.1.to_string().contains("secret value"));
        let origin = format!("http://{host}");
        let got = delete_k(
            &s,
            &[
                ("host", host.clone()),
                ("origin", origin),
                ("sec-fetch-site", "same-origin".to_owned()),
            ],
        )
        .await;
        refused(&got, "DNS rebinding");
        assert!(exists(&s, "k").await, "{host} deleted the key");
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        format!("kv.localhost:{port}"),
    ] {
        let response = s
            .client
            .get(s.url("/v1/kv/demo-cache/k"))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{host}");
        assert!(response.text().await.unwrap().contains("secret value"));
    }
    s.stop().await;
}

#[tokio::test]
async fn cached_basic_credentials_do_not_travel_cross_site() {
    let s = TestServer::with_auth(AuthSettings {
        basic: Some(BasicCredentials {
            username: "admin".into(),
            password: "pw".into(),
        }),
        ..AuthSettings::default()
    })
    .await;
    s.store("demo-cache").put("k", "v").await.unwrap();
    // What the browser attaches on its own once the user answered its prompt.
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin:pw")
    );
    let got = delete_k(
        &s,
        &[
            ("authorization", basic.clone()),
            ("origin", "https://evil.test".to_owned()),
            ("sec-fetch-site", "cross-site".to_owned()),
        ],
    )
    .await;
    refused(&got, "cross-site");
    assert!(exists(&s, "k").await);
    let got = delete_k(&s, &[("authorization", basic)]).await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert!(!exists(&s, "k").await);
    s.stop().await;
}
