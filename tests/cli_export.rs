//! `kv export` and `kv import` through the binary: a lossless round trip (binary,
//! streamed, expiring and metadata-carrying values), locally and on a `kv serve`;
//! skipped expired keys, idempotent re-import, and errors that name the line.

#![allow(clippy::unwrap_used, reason = "test helpers panic on broken fixtures")]

mod cli_support;
mod serve_bin;

use cli_support::{Project, Server, noise, now, read, text};

/// Fills `demo-cache` and `files` with every kind of value.
fn fill(project: &Project, server: Option<&Server>) {
    let kv = project.on(server);
    let binary = project.write("binary.bin", noise(4096, 11));
    // Over 1 MiB, so split across lines; text with multi-byte characters, so a piece
    // boundary falls inside one unless it is moved.
    let text_value: String = "ünïcödé text · ".repeat(120_000);
    let streamed_text = project.write("streamed.txt", &text_value);
    let streamed_binary = project.write("streamed.bin", noise(2_500_000, 5));
    let small_streamed = project.write("small.bin", noise(300 * 1024, 9));
    for (store, key, path) in [
        ("files", "binary", &binary),
        ("files", "big/text", &streamed_text),
        ("files", "big/binary", &streamed_binary),
        ("files", "small streamed", &small_streamed),
    ] {
        kv.kv(&["key", "put", store, key, "--path", path.to_str().unwrap()])
            .assert()
            .success();
    }
    kv.kv(&[
        "key",
        "put",
        "files",
        "big/with-metadata",
        "--ttl",
        "7200",
        "--path",
        streamed_binary.to_str().unwrap(),
        "--metadata",
        r#"{"type":"application/octet-stream","n":[1,2.5]}"#,
    ])
    .assert()
    .success();
    kv.kv(&[
        "key",
        "put",
        "demo-cache",
        "user:1",
        "John Doe",
        "--metadata",
        r#"{"b":1,"a":"x"}"#,
    ])
    .assert()
    .success();
    kv.kv(&[
        "key",
        "put",
        "demo-cache",
        "session:1",
        "soon gone",
        "--ttl",
        "3600",
    ])
    .assert()
    .success();
    kv.kv(&["key", "put", "demo-cache", "empty", ""])
        .assert()
        .success();
    kv.kv(&[
        "key",
        "put",
        "demo-cache",
        "quotes\"and\\slashes/\n",
        "\u{1}\u{1f}",
    ])
    .assert()
    .success();
}

fn export(project: &Project, server: Option<&Server>, name: &str) -> Vec<u8> {
    let out = project.path(name);
    project
        .on(server)
        .kv(&["export", "--out", out.to_str().unwrap()])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    read(&out)
}

fn import(project: &Project, server: Option<&Server>, file: &std::path::Path) -> serde_json::Value {
    let out = project
        .on(server)
        .kv(&["import", "--json"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "stderr is piped: nothing but errors");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check_format(dump: &[u8]) {
    let lines: Vec<&[u8]> = dump
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines[0], br#"{"format":"kv-export","version":1}"#);
    assert_eq!(lines[lines.len() - 1], br#"{"end":true,"keys":9}"#);
    for line in &lines {
        assert!(
            line.len() < 3 * 1024 * 1024,
            "a line holds at most one MiB of value"
        );
        let _: serde_json::Value = serde_json::from_slice(line).unwrap();
    }
    let text = String::from_utf8_lossy(dump);
    assert!(text.contains(r#""key":"user:1","value":"John Doe","metadata":{"a":"x","b":1}}"#));
    assert!(text.contains(r#""more":true"#));
    // The streamed text stays text, piece by piece.
    assert!(text.contains(r#"{"store":"files","key":"big/text","value":"ünïcödé"#));
    // demo-cache first (the manifest's order), keys in byte order.
    let first_files = text.find(r#""store":"files""#).unwrap();
    assert!(text.rfind(r#""store":"demo-cache""#).unwrap() < first_files);
}

#[test]
fn export_import_export_is_identical_locally() {
    let source = Project::new();
    fill(&source, None);
    let first = export(&source, None, "dump.jsonl");
    check_format(&first);
    let fresh = Project::new();
    let summary = import(&fresh, None, &source.path("dump.jsonl"));
    assert_eq!(summary["imported"], 9);
    assert_eq!(summary["skipped_expired"], 0);
    let second = export(&fresh, None, "dump.jsonl");
    assert!(first == second, "export → import → export changed the file");
    // Values are byte-exact.
    let got = fresh
        .kv()
        .args(["key", "get", "files", "big/binary"])
        .output()
        .unwrap();
    assert!(got.stdout == read(&source.path("streamed.bin")));
    // Importing again rewrites the same keys: nothing duplicated, same export.
    let again = import(&fresh, None, &source.path("dump.jsonl"));
    assert_eq!(again["imported"], 9);
    assert!(export(&fresh, None, "again.jsonl") == first);
}

#[test]
fn export_import_export_is_identical_remotely_and_across() {
    let source = Project::new();
    let server = source.serve();
    fill(&source, Some(&server));
    let first = export(&source, Some(&server), "dump.jsonl");
    check_format(&first);
    // Remote to remote.
    let target = Project::new();
    let target_server = target.serve();
    let summary = import(&target, Some(&target_server), &source.path("dump.jsonl"));
    assert_eq!(summary["imported"], 9);
    assert!(export(&target, Some(&target_server), "dump.jsonl") == first);
    // Remote to local gives the same file as the local export of the same data.
    let local = Project::new();
    import(&local, None, &source.path("dump.jsonl"));
    assert!(export(&local, None, "dump.jsonl") == first);
}

#[test]
fn export_to_stdout_and_of_named_stores() {
    let project = Project::new();
    project
        .kv()
        .args(["key", "put", "sessions", "s", "1"])
        .assert()
        .success();
    project
        .kv()
        .args(["key", "put", "demo-cache", "d", "2"])
        .assert()
        .success();
    let out = project
        .kv()
        .args(["export", "sessions", "demo-cache"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stderr, b"");
    assert_eq!(
        text(&out.stdout),
        "{\"format\":\"kv-export\",\"version\":1}\n\
         {\"store\":\"sessions\",\"key\":\"s\",\"value\":\"1\"}\n\
         {\"store\":\"demo-cache\",\"key\":\"d\",\"value\":\"2\"}\n\
         {\"end\":true,\"keys\":2}\n"
    );
    // --into puts every record into one store.
    let dump = project.write("dump.jsonl", &out.stdout);
    let fresh = Project::new();
    fresh
        .kv()
        .args(["import", "--into", "files"])
        .arg(&dump)
        .assert()
        .success();
    fresh
        .kv()
        .args(["key", "get", "files", "s"])
        .assert()
        .stdout("1");
    project
        .kv()
        .args(["export", "demo-cache", "filez", "--out", "never.jsonl"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("did you mean \"files\"?"));
    assert!(!project.path("never.jsonl").exists(), "nothing written");
}

#[test]
fn expired_keys_are_skipped_and_counted() {
    let project = Project::new();
    let later = now() + 3600;
    let dump = project.write(
        "dump.jsonl",
        format!(
            "{{\"format\":\"kv-export\",\"version\":1}}\n\
             {{\"store\":\"demo-cache\",\"key\":\"gone\",\"value\":\"x\",\"expiration\":1000}}\n\
             {{\"store\":\"demo-cache\",\"key\":\"gone too\",\"value\":\"x\",\"expiration\":1000,\"more\":true}}\n\
             {{\"store\":\"demo-cache\",\"key\":\"gone too\",\"value\":\"y\"}}\n\
             {{\"store\":\"sessions\",\"key\":\"kept\",\"value\":\"x\",\"expiration\":{later}}}\n\
             {{\"end\":true,\"keys\":3}}\n"
        ),
    );
    let summary = import(&project, None, &dump);
    assert_eq!(summary["imported"], 1);
    assert_eq!(summary["skipped_expired"], 2);
    let out = project
        .kv()
        .args(["key", "get", "sessions", "kept", "--json"])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["expiration"], later, "the expiration is kept exactly");
    // Without --quiet and without --json the count is a warning.
    project
        .kv()
        .arg("import")
        .arg(&dump)
        .assert()
        .success()
        .stderr("warning: skipped 2 keys that had expired\n");
}

#[test]
fn a_broken_import_names_the_line() {
    let project = Project::new();
    let header = "{\"format\":\"kv-export\",\"version\":1}\n";
    let cases = [
        (
            "not a kv export",
            "{\"key\":\"a\",\"value\":\"1\"}\n".to_owned(),
            "dump.jsonl:1: not a kv export",
        ),
        (
            "malformed line",
            format!(
                "{header}{{\"store\":\"demo-cache\",\"key\":\"a\",\"value\":\"1\"}}\n{{\"store\": oops}}\n"
            ),
            "dump.jsonl:3: not a record of an export: expected value at line 1 column 11",
        ),
        (
            "cut short",
            format!("{header}{{\"store\":\"demo-cache\",\"key\":\"a\",\"value\":\"1\"}}\n"),
            "ends at line 2 without the export's closing line",
        ),
        (
            "missing store",
            format!("{header}{{\"store\":\"demo-cach\",\"key\":\"a\",\"value\":\"1\"}}\n"),
            "dump.jsonl:2: no store \"demo-cach\" in the manifest",
        ),
        (
            "bad key",
            format!(
                "{header}{{\"store\":\"demo-cache\",\"key\":\"..\",\"value\":\"1\"}}\n{{\"end\":true,\"keys\":1}}\n"
            ),
            "dump.jsonl:2: store \"demo-cache\": writing 1 keys: item 0 (key \"..\"): \"..\" is not allowed as a key name",
        ),
        (
            "a piece of another key",
            format!(
                "{header}{{\"store\":\"files\",\"key\":\"a\",\"value\":\"1\",\"more\":true}}\n{{\"store\":\"files\",\"key\":\"b\",\"value\":\"2\"}}\n"
            ),
            "dump.jsonl:3: expected the next piece of key \"a\"",
        ),
    ];
    for (what, contents, message) in cases {
        let dump = project.write("dump.jsonl", contents);
        let out = project.kv().arg("import").arg(&dump).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(message), "{what}: {stderr}");
    }
    // The cut-short file's complete records were written; the half-sent value was not.
    project
        .kv()
        .args(["key", "get", "demo-cache", "a"])
        .assert()
        .success()
        .stdout("1");
    project
        .kv()
        .args(["key", "get", "files", "a"])
        .assert()
        .code(1);
}
