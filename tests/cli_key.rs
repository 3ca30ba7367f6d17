//! `kv key put|get|list|delete` through the binary, on a local data directory and on a
//! `kv serve` (`--remote`).

#![allow(clippy::unwrap_used, reason = "test helpers panic on broken fixtures")]

mod cli_support;
mod serve_bin;

use cli_support::{Project, Server, noise, now, text};

fn put_get_list_delete(project: &Project, server: Option<&Server>) {
    let kv = project.on(server);
    kv.kv(&[
        "key",
        "put",
        "demo-cache",
        "user:1",
        "John Doe",
        "--ttl",
        "3600",
    ])
    .arg("--metadata")
    .arg(r#"{"role":"admin"}"#)
    .assert()
    .success()
    .stdout("")
    .stderr("");
    kv.kv(&["key", "get", "demo-cache", "user:1"])
        .assert()
        .success()
        .stdout("John Doe");
    kv.kv(&["key", "get", "demo-cache", "user:1", "--text"])
        .assert()
        .success()
        .stdout("John Doe\n");
    let out = kv
        .kv(&["key", "get", "demo-cache", "user:1", "--with-metadata"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["value"], "John Doe");
    assert_eq!(shown["metadata"], serde_json::json!({"role": "admin"}));
    let expiration = shown["expiration"].as_u64().unwrap();
    assert!(
        expiration >= now() + 3500 && expiration <= now() + 3700,
        "{shown}"
    );

    // A binary value over 256 KiB, from a file; and one from standard input.
    let blob = noise(300 * 1024, 7);
    let file = project.write("blob.bin", &blob);
    kv.kv(&[
        "key",
        "put",
        "files",
        "dir/blob.bin",
        "--path",
        file.to_str().unwrap(),
    ])
    .assert()
    .success();
    let got = kv
        .kv(&["key", "get", "files", "dir/blob.bin"])
        .output()
        .unwrap();
    assert!(got.status.success(), "{}", text(&got.stderr));
    assert!(got.stdout == blob, "binary value differs");
    kv.kv(&["key", "put", "files", "stdin", "--path", "-"])
        .write_stdin("from stdin")
        .assert()
        .success();
    kv.kv(&["key", "get", "files", "stdin"])
        .assert()
        .success()
        .stdout("from stdin");
    let shown = kv
        .kv(&["key", "get", "files", "dir/blob.bin", "--json"])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["base64"], true);
    kv.kv(&["key", "get", "files", "dir/blob.bin", "--text"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("is not UTF-8 text"));

    kv.kv(&["key", "put", "demo-cache", "user:2", "Ada"])
        .assert()
        .success();
    let listed = kv.kv(&["key", "list", "demo-cache"]).output().unwrap();
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        listed,
        serde_json::json!([
            {"name": "user:1", "expiration": expiration, "metadata": {"role": "admin"}},
            {"name": "user:2"}
        ])
    );
    let limited = kv
        .kv(&[
            "key",
            "list",
            "demo-cache",
            "--prefix",
            "user:",
            "--limit",
            "1",
        ])
        .output()
        .unwrap();
    let limited: serde_json::Value = serde_json::from_slice(&limited.stdout).unwrap();
    assert_eq!(limited.as_array().unwrap().len(), 1);
    kv.kv(&["key", "list", "demo-cache", "--prefix", "nobody:"])
        .assert()
        .success()
        .stdout("[]\n");

    kv.kv(&["key", "delete", "demo-cache", "user:1", "--json"])
        .assert()
        .success()
        .stdout("{\"deleted\":true,\"key\":\"user:1\",\"store\":\"demo-cache\"}\n");
    kv.kv(&["key", "get", "demo-cache", "user:1"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("error: key \"user:1\" not found in store \"demo-cache\"\n");
    // Deleting a missing key succeeds.
    kv.kv(&["key", "delete", "demo-cache", "user:1"])
        .assert()
        .success();
}

#[test]
fn put_get_list_delete_locally() {
    put_get_list_delete(&Project::new(), None);
}

#[test]
fn put_get_list_delete_remotely() {
    let project = Project::new();
    let server = project.serve();
    put_get_list_delete(&project, Some(&server));
}

fn listing_pages(project: &Project, server: Option<&Server>) {
    let kv = project.on(server);
    let items: Vec<serde_json::Value> = (0..2500)
        .map(|i| serde_json::json!({"key": format!("k{i:05}"), "value": "v"}))
        .collect();
    let file = project.write("items.json", serde_json::to_vec(&items).unwrap());
    kv.kv(&["bulk", "put", "demo-cache"])
        .arg(&file)
        .assert()
        .success();
    let all = kv.kv(&["key", "list", "demo-cache"]).output().unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_slice(&all.stdout).unwrap();
    assert_eq!(all.len(), 2500);
    assert_eq!(all[2499]["name"], "k02499");
    let some = kv
        .kv(&["key", "list", "demo-cache", "--limit", "1500"])
        .output()
        .unwrap();
    let some: Vec<serde_json::Value> = serde_json::from_slice(&some.stdout).unwrap();
    assert_eq!(some.len(), 1500);
    assert_eq!(some[1499]["name"], "k01499");
}

#[test]
fn listing_follows_every_page_locally() {
    listing_pages(&Project::new(), None);
}

#[test]
fn listing_follows_every_page_remotely() {
    let project = Project::new();
    let server = project.serve();
    listing_pages(&project, Some(&server));
}

#[test]
fn a_store_missing_from_the_manifest_gets_a_suggestion() {
    let project = Project::new();
    project
        .kv()
        .args(["key", "get", "demo-cach", "user:1"])
        .assert()
        .code(1)
        .stderr(
            "error: no store \"demo-cach\" in the manifest (its stores: demo-cache, files, sessions)\n\
             hint: did you mean \"demo-cache\"?\n",
        );
    let server = project.serve();
    project
        .on(Some(&server))
        .kv(&["key", "put", "sesions", "k", "v"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "no store \"sesions\" in the server",
        ))
        .stderr(predicates::str::contains("did you mean \"sessions\"?"));
}

#[test]
fn a_held_data_directory_suggests_remote() {
    let project = Project::new();
    let _server = project.serve();
    project
        .kv()
        .args(["key", "get", "demo-cache", "user:1"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("is in use by another process"))
        .stderr(predicates::str::contains(
            "hint: talk to the running server instead: --remote http://127.0.0.1:8787",
        ));
}

#[test]
fn remote_without_credentials_says_what_to_set() {
    let project = Project::new();
    let server = project.serve();
    project
        .kv()
        .args(["key", "get", "demo-cache", "k", "--remote", &server.url])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("the server answered 401"))
        .stderr(predicates::str::contains("hint: set KV_API_KEY"));
}

#[test]
fn usage_errors_exit_2_and_runtime_errors_exit_1() {
    let project = Project::new();
    project
        .kv()
        .args(["key", "put", "demo-cache", "k"])
        .assert()
        .code(2);
    project
        .kv()
        .args(["key", "put", "demo-cache", "k", "v", "--metadata", "plain"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--metadata is not valid JSON"));
    project
        .kv()
        .args(["key", "put", "demo-cache", "k", "v", "--ttl", "30"])
        .assert()
        .code(1)
        .stderr(
            "error: writing key \"k\": Invalid expiration_ttl of 30. Expiration TTL must be at least 60.\n",
        );
    project
        .kv()
        .args([
            "key",
            "list",
            "demo-cache",
            "--config",
            "kv.toml",
            "--remote",
            "http://x",
        ])
        .assert()
        .code(2);
}

#[test]
fn every_help_shows_an_example() {
    let project = Project::new();
    for args in [
        &["--help"][..],
        &["key", "--help"],
        &["key", "put", "--help"],
        &["key", "get", "--help"],
        &["key", "list", "--help"],
        &["key", "delete", "--help"],
        &["bulk", "--help"],
        &["bulk", "put", "--help"],
        &["bulk", "get", "--help"],
        &["bulk", "delete", "--help"],
        &["export", "--help"],
        &["import", "--help"],
        &["serve", "--help"],
    ] {
        project
            .kv()
            .args(args)
            .assert()
            .success()
            .stdout(predicates::str::contains("Example: kv "));
    }
}

#[test]
fn the_fjall_block_cache_is_set_in_backends_fjall() {
    let project = Project::new();
    project.write(
        "kv.toml",
        "data_dir = \"data\"\n[backends.fjall]\nblock_cache_size = 16777216\n",
    );
    project
        .kv()
        .args(["key", "put", "demo-cache", "k", "v"])
        .assert()
        .success();
    project.write(
        "kv.toml",
        "data_dir = \"data\"\n[backends.fjall]\nblock_cache_size = 16777216\n\
         [stores.demo-cache]\nblock_cache_size = 5\n",
    );
    project
        .kv()
        .args(["key", "get", "demo-cache", "k"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "[stores.demo-cache] block_cache_size: this belongs to the whole fjall database: \
             set it in [backends.fjall]",
        ));
}
