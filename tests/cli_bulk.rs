//! `kv bulk put|get|delete` through the binary, locally and on a `kv serve`: wrangler's
//! file formats, validation before anything is written, batches past 10,000 items.

#![allow(clippy::unwrap_used, reason = "test helpers panic on broken fixtures")]

mod cli_support;
mod serve_bin;

use cli_support::{Project, Server, noise, text};

fn put_get_delete(project: &Project, server: Option<&Server>) {
    use base64::Engine as _;
    let kv = project.on(server);
    let binary = noise(2000, 3);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&binary);
    let items = serde_json::json!([
        {"key": "a", "value": "1"},
        {"key": "b", "value": encoded, "base64": true, "metadata": {"type": "bin"}},
        {"key": "c", "value": "expiring", "expiration_ttl": 3600.0},
    ]);
    let file = project.write("items.json", items.to_string());
    kv.kv(&["bulk", "put", "demo-cache", "--json"])
        .arg(&file)
        .assert()
        .success()
        .stdout("{\"store\":\"demo-cache\",\"written\":3}\n")
        .stderr("");
    let got = kv.kv(&["key", "get", "demo-cache", "b"]).output().unwrap();
    assert!(got.stdout == binary);

    let keys = project.write("keys.json", r#"["a", {"key": "b"}, "c", "missing"]"#);
    let out = kv
        .kv(&["bulk", "get", "demo-cache"])
        .arg(&keys)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "warning: 1 of 4 keys not found: \"missing\"\n"
    );
    let found: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(found.len(), 3);
    assert_eq!(found[0], serde_json::json!({"key": "a", "value": "1"}));
    assert_eq!(
        found[1],
        serde_json::json!({"key": "b", "value": encoded, "base64": true, "metadata": {"type": "bin"}})
    );
    assert!(found[2]["expiration"].as_u64().is_some());
    // What bulk get prints, bulk put reads.
    let copy = project.write("copy.json", &out.stdout);
    kv.kv(&["bulk", "put", "files"])
        .arg(&copy)
        .assert()
        .success();
    let got = kv.kv(&["key", "get", "files", "b"]).output().unwrap();
    assert!(got.stdout == binary);

    kv.kv(&["bulk", "delete", "demo-cache", "--json"])
        .arg(&keys)
        .assert()
        .success()
        .stdout("{\"deleted\":4,\"store\":\"demo-cache\"}\n");
    kv.kv(&["key", "list", "demo-cache"])
        .assert()
        .success()
        .stdout("[]\n");
}

#[test]
fn put_get_delete_locally() {
    put_get_delete(&Project::new(), None);
}

#[test]
fn put_get_delete_remotely() {
    let project = Project::new();
    let server = project.serve();
    put_get_delete(&project, Some(&server));
}

fn a_long_key_writes_nothing(project: &Project, server: Option<&Server>) {
    let kv = project.on(server);
    let long = "k".repeat(513);
    let items = serde_json::json!([
        {"key": "first", "value": "1"},
        {"key": "second", "value": "2"},
        {"key": long, "value": "3"},
    ]);
    let file = project.write("items.json", items.to_string());
    kv.kv(&["bulk", "put", "demo-cache"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "item 2 (key \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"… (513 bytes)): \
             UTF-8 encoded length of 513 exceeds key length limit of 512; nothing was written",
        ));
    kv.kv(&["key", "list", "demo-cache"])
        .assert()
        .success()
        .stdout("[]\n");
}

#[test]
fn a_513_byte_key_writes_nothing_locally() {
    a_long_key_writes_nothing(&Project::new(), None);
}

#[test]
fn a_513_byte_key_writes_nothing_remotely() {
    let project = Project::new();
    let server = project.serve();
    a_long_key_writes_nothing(&project, Some(&server));
}

#[test]
fn every_item_is_checked_against_the_store_first() {
    let project = Project::new();
    let cases = [
        (
            r#"[{"key":"a","value":"1"},{"key":"b","value":"%%","base64":true}]"#,
            "item 1 (key \"b\"): the value is not valid base64",
        ),
        (
            r#"[{"key":"a","value":"1","expiration_ttl":30}]"#,
            "item 0 (key \"a\"): Invalid expiration_ttl of 30. Expiration TTL must be at least 60.",
        ),
        (
            r#"[{"key":"a","value":"1","expiration_ttl":"soon"}]"#,
            "item 0 (key \"a\"): Invalid expiration_ttl of \"soon\"",
        ),
    ];
    for (json, message) in cases {
        let file = project.write("items.json", json);
        project
            .kv()
            .args(["bulk", "put", "demo-cache"])
            .arg(&file)
            .assert()
            .code(1)
            .stderr(predicates::str::contains(message));
    }
    project
        .kv()
        .args(["key", "list", "demo-cache"])
        .assert()
        .stdout("[]\n");
}

#[test]
fn malformed_json_names_its_line() {
    let project = Project::new();
    let file = project.write(
        "items.json",
        "[\n  {\"key\": \"a\", \"value\": \"1\"},\n  {\"key\": \"b\" \"value\": \"2\"}\n]\n",
    );
    project
        .kv()
        .args(["bulk", "put", "demo-cache"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("items.json` is not a JSON array"))
        .stderr(predicates::str::contains("line 3 column"))
        .stderr(predicates::str::contains("nothing was written"));
}

#[test]
fn more_than_10000_items_go_in_batches() {
    let project = Project::new();
    let items: Vec<serde_json::Value> = (0..12_345)
        .map(|i| serde_json::json!({"key": format!("k{i:05}"), "value": "v"}))
        .collect();
    let file = project.write("items.json", serde_json::to_vec(&items).unwrap());
    // Standard error is piped here: no progress bar, no summary.
    project
        .kv()
        .args(["bulk", "put", "demo-cache"])
        .arg(&file)
        .assert()
        .success()
        .stdout("")
        .stderr("");
    let keys: Vec<String> = (0..12_345).map(|i| format!("k{i:05}")).collect();
    let file = project.write("keys.json", serde_json::to_vec(&keys).unwrap());
    project
        .kv()
        .args(["bulk", "delete", "demo-cache", "--json"])
        .arg(&file)
        .assert()
        .success()
        .stdout("{\"deleted\":12345,\"store\":\"demo-cache\"}\n")
        .stderr("");
}
