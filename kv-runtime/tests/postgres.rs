//! The postgres backend beyond the conformance kit: startup failures, a server that
//! goes away mid-run, migrations under concurrent opens, a newer schema, byte order
//! against a collation that is not, literal `%`/`_`, two processes on one database,
//! and secrets.
//!
//! These run against the server `KV_TEST_POSTGRES_URL` names (`eval "$(bash
//! .ci/postgres.sh start)"` starts one). Without it each test prints a SKIPPED line and
//! passes — or fails when `CI` is set. The mid-run test starts a private cluster of its
//! own with `.ci/postgres.sh`, so stopping it disturbs no other test.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use kv_runtime::{Body, Bytes, Change, Config, KvStore, ManualClock, Runtime, WatchStream};

const VAR: &str = "KV_TEST_POSTGRES_URL";
const T0: u64 = 1_700_000_000;

/// The test server's URL, or `None` after a loud SKIPPED line (a failure under `CI`).
fn server(test: &str) -> Option<String> {
    match std::env::var(VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none_or(|v| v.is_empty()),
                "{VAR} is not set and CI is: the postgres tests must run"
            );
            eprintln!(
                "SKIPPED — {test}: {VAR} is not set (eval \"$(bash .ci/postgres.sh start)\")"
            );
            None
        }
    }
}

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A name no other test run uses.
fn unique(what: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{what}_{}_{:x}_{}",
        std::process::id(),
        nanos % (1 << 40),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A configuration with every store on postgres at `url`, plus `extra` TOML lines in
/// `[defaults]`.
fn config(url: &str, extra: &str) -> Config {
    let text = format!("[defaults]\nbackend = \"postgres\"\nurl = \"{url}\"\n{extra}\n");
    Config::from_toml(&text, "kv.toml").unwrap()
}

async fn open(config: Config, application: &str) -> kv_runtime::Result<Runtime> {
    Runtime::builder()
        .config(config)
        .application(application)
        .clock(ManualClock::new(T0))
        .open()
        .await
}

/// Runs `sql` through psql against `url`; returns its unaligned output.
fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The password in `url` (`scheme://user:password@host...`).
fn password_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split_once('@')?.0;
    Some(userinfo.split_once(':')?.1.to_owned())
}

async fn next(changes: &mut WatchStream) -> Change {
    tokio::time::timeout(Duration::from_secs(10), changes.next())
        .await
        .expect("a change within 10 s")
        .expect("the stream goes on")
        .expect("no error")
}

async fn names(store: &KvStore, prefix: &str) -> Vec<String> {
    let page = store.list().prefix(prefix).await.unwrap();
    page.keys.into_iter().map(|k| k.name).collect()
}

#[test]
fn database_down_at_start_names_host_and_database_never_the_password() {
    // Needs no server: a port where nothing listens.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    tokio().block_on(async {
        let url = format!("postgres://kv:hunter2secret@127.0.0.1:{port}/appdb");
        let started = Instant::now();
        let err = open(config(&url, "timeout_ms = 1000"), "app")
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(started.elapsed() < Duration::from_secs(5), "{message}");
        assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
        assert!(message.contains("database \"appdb\""), "{message}");
        assert!(!message.contains("hunter2secret"), "{message}");
        assert!(!format!("{err:?}").contains("hunter2secret"), "{err:?}");
    });
}

#[test]
fn settings_errors_name_file_and_key() {
    tokio().block_on(async {
        let err = open(
            config("postgres://kv:hunter2secret@127.0.0.1:1/db", "pool = 3"),
            "app",
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("kv.toml: line 4"), "{err}");
        assert!(err.contains("[defaults] pool: unknown key"), "{err}");
        assert!(err.contains("password_env"), "lists the known keys: {err}");
        let err = open(
            config(
                "postgres://kv:hunter2secret@127.0.0.1:1/db",
                "table = \"Kv-1\"",
            ),
            "app",
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("[defaults] table: \"Kv-1\" is not a plain identifier"),
            "{err}"
        );
        assert!(!err.contains("hunter2secret"), "{err}");
    });
}

#[test]
fn wrong_password_is_a_clear_error_without_the_password() {
    let Some(url) = server("wrong_password") else {
        return;
    };
    let Some(password) = password_of(&url) else {
        return;
    };
    let wrong = url.replacen(&format!(":{password}@"), ":not-the-password-42@", 1);
    tokio().block_on(async {
        let err = open(config(&wrong, ""), "app")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("password authentication failed"), "{err}");
        assert!(!err.contains("not-the-password-42"), "{err}");
    });
}

#[test]
fn password_from_the_environment_and_secrets_never_printed() {
    let Some(url) = server("password_env") else {
        return;
    };
    let Some(password) = password_of(&url) else {
        return;
    };
    // The edition forbids setting variables in this (threaded) process: a child
    // process of this test binary gets it instead.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_password_env", "--nocapture"])
        .env("KV_PG_CHILD_PASSWORD", &password)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{printed}");
    assert!(printed.contains("1 passed"), "{printed}");
    assert!(!printed.contains(&password), "{printed}");
    tokio().block_on(async {
        let rt = open(config(&url, ""), &unique("app")).await.unwrap();
        let store = rt.store("s").unwrap();
        for shown in [
            format!("{rt:?}"),
            format!("{store:?}"),
            format!("{:?}", rt.config()),
        ] {
            assert!(!shown.contains(&password), "{shown}");
        }
    });
}

/// Run by [`password_from_the_environment_and_secrets_never_printed`] with
/// `KV_PG_CHILD_PASSWORD` set: connects with a URL without password and
/// `password_env`, and prints what the runtime shows of itself.
#[test]
fn child_password_env() {
    let (Ok(url), Ok(password)) = (std::env::var(VAR), std::env::var("KV_PG_CHILD_PASSWORD"))
    else {
        return;
    };
    let bare = url.replacen(&format!(":{password}@"), "@", 1);
    tokio().block_on(async {
        let settings = "password_env = \"KV_PG_CHILD_PASSWORD\"";
        let rt = open(config(&bare, settings), &unique("app")).await.unwrap();
        let store = rt.store("s").unwrap();
        store.put("k", "v").await.unwrap();
        assert_eq!(store.get("k").text().await.unwrap().as_deref(), Some("v"));
        println!("{rt:?} {store:?} {:?}", rt.config());
        // Without the variable's password, the server refuses, and says who refused.
        let err = open(config(&bare, ""), "app").await.unwrap_err();
        println!("{err} {err:?}");
    });
}

#[test]
fn keys_sort_by_bytes_not_by_the_database_collation() {
    let Some(url) = server("byte_order") else {
        return;
    };
    let collated = psql(
        &url,
        "SELECT array_to_string(array_agg(k ORDER BY k), ' ') FROM unnest(ARRAY['a','B','é','z']) k",
    );
    if collated != "a B é z" {
        eprintln!("note: the database's collation sorts {collated:?}, close to byte order");
    }
    tokio().block_on(async {
        let rt = open(config(&url, ""), &unique("app")).await.unwrap();
        let store = rt.store("s").unwrap();
        for key in ["a", "B", "é", "z", "Z", "ab", "a\u{0}b"] {
            store.put(key, "v").await.unwrap();
        }
        let mut expected = vec!["a", "B", "é", "z", "Z", "ab", "a\u{0}b"];
        expected.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(names(&store, "").await, expected);
        // Paging with a cursor keeps byte order too.
        let first = store.list().limit(3).await.unwrap();
        let rest = store
            .list()
            .cursor(first.cursor.clone().unwrap())
            .await
            .unwrap();
        let paged: Vec<String> = first
            .keys
            .into_iter()
            .chain(rest.keys)
            .map(|k| k.name)
            .collect();
        assert_eq!(paged, expected);
    });
}

#[test]
fn percent_and_underscore_in_prefixes_are_literal() {
    let Some(url) = server("literal_prefixes") else {
        return;
    };
    tokio().block_on(async {
        let rt = open(config(&url, ""), &unique("app")).await.unwrap();
        let store = rt.store("s").unwrap();
        for key in ["a%", "a%b", "a_c", "axb", "ab", "a\\b", "b"] {
            store.put(key, "v").await.unwrap();
        }
        assert_eq!(names(&store, "a%").await, ["a%", "a%b"]);
        assert_eq!(names(&store, "a_").await, ["a_c"]);
        assert_eq!(names(&store, "a\\").await, ["a\\b"]);
        assert_eq!(store.count().prefix("a%").await.unwrap(), 2);
        assert_eq!(store.count().prefix("a_").await.unwrap(), 1);
        assert_eq!(store.delete_prefix("a_").await.unwrap(), 1);
        assert_eq!(store.delete_prefix("a%").await.unwrap(), 2);
        assert_eq!(names(&store, "").await, ["a\\b", "ab", "axb", "b"]);
    });
}

#[test]
fn migration_is_idempotent_under_concurrent_opens() {
    let Some(url) = server("concurrent_migration") else {
        return;
    };
    let table = unique("t");
    tokio().block_on(async {
        let opens = (0..8).map(|_| {
            let config = config(&url, &format!("table = \"{table}\""));
            let application = unique("app");
            tokio::spawn(async move { open(config, &application).await })
        });
        for opened in futures_util::future::join_all(opens).await {
            let rt = opened.unwrap().unwrap();
            rt.store("s").unwrap().put("k", "v").await.unwrap();
        }
        // And once more, on tables that exist.
        open(config(&url, &format!("table = \"{table}\"")), "again")
            .await
            .unwrap();
    });
    assert_eq!(
        psql(&url, &format!("SELECT version FROM {table}_schema")),
        "1"
    );
    assert_eq!(
        psql(&url, &format!("SELECT count(*) FROM {table}_records")),
        "8"
    );
}

#[test]
fn a_newer_schema_version_is_refused() {
    let Some(url) = server("newer_schema") else {
        return;
    };
    let table = unique("t");
    let settings = format!("table = \"{table}\"");
    tokio().block_on(async {
        open(config(&url, &settings), "app").await.unwrap();
    });
    psql(&url, &format!("UPDATE {table}_schema SET version = 99"));
    tokio().block_on(async {
        let err = open(config(&url, &settings), "app")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("schema version 99"), "{err}");
        assert!(
            err.contains("newer than this kv-runtime understands (1)"),
            "{err}"
        );
        if let Some(password) = password_of(&url) {
            assert!(!err.contains(&password), "{err}");
        }
    });
}

/// Acts as the second process of [`two_processes_see_each_others_writes_and_changes`]
/// when started by it; otherwise does nothing.
#[test]
fn child_process_writer() {
    let (Ok(url), Ok(application)) = (std::env::var(VAR), std::env::var("KV_PG_CHILD_APPLICATION"))
    else {
        return;
    };
    tokio().block_on(async {
        let rt = open(config(&url, ""), &application).await.unwrap();
        let store = rt.store("s").unwrap();
        let parent = store.get("from-parent").text().await.unwrap();
        store
            .put("room:1", parent.unwrap_or_default() + " and back")
            .await
            .unwrap();
        store.delete("room:1").await.unwrap();
        store.put("room:2", "from the child").await.unwrap();
    });
}

#[test]
fn two_processes_see_each_others_writes_and_changes() {
    let Some(url) = server("two_processes") else {
        return;
    };
    let application = unique("app");
    tokio().block_on(async {
        let rt = open(config(&url, ""), &application).await.unwrap();
        let store = rt.store("s").unwrap();
        store.put("from-parent", "hello").await.unwrap();
        let mut changes = store.watch().prefix("room:").await.unwrap();
        let child = tokio::task::spawn_blocking({
            let application = application.clone();
            move || {
                Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", "child_process_writer", "--nocapture"])
                    .env("KV_PG_CHILD_APPLICATION", application)
                    .output()
                    .unwrap()
            }
        })
        .await
        .unwrap();
        assert!(
            child.status.success(),
            "the child failed: {}",
            String::from_utf8_lossy(&child.stderr)
        );
        let Change::Put { key, .. } = next(&mut changes).await else {
            panic!("expected a put");
        };
        assert_eq!(key, "room:1");
        assert_eq!(next(&mut changes).await, Change::delete("room:1"));
        let Change::Put { key, version, .. } = next(&mut changes).await else {
            panic!("expected a put");
        };
        assert_eq!(key, "room:2");
        let read = store.get_with_metadata("room:2").text().await.unwrap();
        assert_eq!(read.value.as_deref(), Some("from the child"));
        assert_eq!(read.version, Some(version));
        assert_eq!(store.get("room:1").text().await.unwrap(), None);
    });
}

/// A private cluster for the tests that stop the server: started with
/// `.ci/postgres.sh`, stopped (and removed) when dropped.
struct Cluster {
    script: std::path::PathBuf,
    state: std::path::PathBuf,
    url: String,
}

impl Cluster {
    fn start() -> Option<Self> {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/postgres.sh");
        let state = std::env::temp_dir().join(format!("{}.state", unique("kv-pg-private")));
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .env("KV_PG_STATE", &state)
            .output()
            .ok()?;
        if !out.status.success() {
            panic!(
                "could not start a private cluster: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let stdout = String::from_utf8(out.stdout).ok()?;
        let url = stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("export {VAR}=")))?
            .to_owned();
        Some(Self { script, state, url })
    }

    fn run(&self, action: &str) {
        let status = Command::new("bash")
            .arg(&self.script)
            .arg(action)
            .env("KV_PG_STATE", &self.state)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), ".ci/postgres.sh {action} failed");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .env("KV_PG_STATE", &self.state)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[test]
fn a_server_stopped_mid_run_gives_errors_in_time_and_recovers() {
    if server("server_stopped_mid_run").is_none() {
        return;
    }
    let cluster = Cluster::start().expect("a private cluster");
    tokio().block_on(async {
        let rt = open(config(&cluster.url, "timeout_ms = 1500"), "app")
            .await
            .unwrap();
        let store = rt.store("s").unwrap();
        let big: Vec<u8> = (0..3 * 256 * 1024).map(|i| (i % 251) as u8).collect();
        store.put("k", "before").await.unwrap();
        store.put("big", big.clone()).await.unwrap();
        let mut changes = store.watch().await.unwrap();

        cluster.run("pause");
        for attempt in 0..3 {
            let started = Instant::now();
            let put = store.put("k", "during").await;
            let get = store.get("k").text().await;
            assert!(
                put.is_err() && get.is_err(),
                "attempt {attempt}: {put:?} {get:?}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(7),
                "errors come within the timeout, took {:?}",
                started.elapsed()
            );
            let message = put.unwrap_err().to_string();
            assert!(message.contains("postgres backend failed"), "{message}");
        }
        // A streamed put that cannot finish writes nothing.
        let stream = futures_util::stream::iter(
            (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![7u8; 256 * 1024]))),
        );
        assert!(store.put("big", Body::from_stream(stream)).await.is_err());

        cluster.run("resume");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match store.get("k").text().await {
                Ok(value) => {
                    assert_eq!(value.as_deref(), Some("before"), "nothing half-written");
                    break;
                }
                Err(e) if Instant::now() < deadline => {
                    eprintln!("not yet: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no recovery within 20 s: {e}"),
            }
        }
        let got = store.get("big").bytes().await.unwrap().unwrap();
        assert!(
            got.as_ref() == big.as_slice(),
            "the chunked value is intact"
        );
        // The watcher was told it may have missed changes, then sees new ones.
        assert_eq!(next(&mut changes).await, Change::lagged(None));
        let v = store.put("k", "after").await.unwrap();
        assert_eq!(next(&mut changes).await, Change::put("k", v, None));
    });
}

#[test]
fn a_chunked_read_finishes_with_the_version_it_started_while_replaced() {
    let Some(url) = server("chunked_read_snapshot") else {
        return;
    };
    tokio().block_on(async {
        let rt = open(config(&url, ""), &unique("app")).await.unwrap();
        let store = rt.store("s").unwrap();
        let old = vec![1u8; 4 * 256 * 1024 + 3];
        store.put("big", old.clone()).await.unwrap();
        let mut stream = store.get("big").stream().await.unwrap().unwrap();
        let first = stream.next().await.unwrap().unwrap();
        // Replaced (its chunks deleted by the trigger) and then deleted, mid-read.
        store.put("big", vec![2u8; 5 * 256 * 1024]).await.unwrap();
        store.put("big", "small now").await.unwrap();
        let mut read = first.to_vec();
        while let Some(chunk) = stream.next().await {
            read.extend_from_slice(&chunk.unwrap());
        }
        assert!(read == old, "the read saw one version, the old one");
        assert_eq!(
            store.get("big").text().await.unwrap().as_deref(),
            Some("small now")
        );
        // A read dropped half-way gives its connection back: many in a row still work.
        for _ in 0..40 {
            store
                .put("big2", vec![3u8; 2 * 256 * 1024 + 1])
                .await
                .unwrap();
            let mut stream = store.get("big2").stream().await.unwrap().unwrap();
            stream.next().await.unwrap().unwrap();
        }
        assert_eq!(store.count().await.unwrap(), 2);
    });
}

#[test]
fn delete_prefix_reports_each_live_key_to_watchers() {
    let Some(url) = server("delete_prefix_watch") else {
        return;
    };
    tokio().block_on(async {
        let clock = ManualClock::new(T0);
        let rt = Runtime::builder()
            .config(config(&url, ""))
            .application(unique("app"))
            .clock(clock.clone())
            .open()
            .await
            .unwrap();
        let store = rt.store("s").unwrap();
        store.put("p:gone", "v").expiration_ttl(60).await.unwrap();
        for i in 0..3 {
            store.put(format!("p:{i}"), "v").await.unwrap();
        }
        store.put("q", "v").await.unwrap();
        clock.advance(Duration::from_secs(60));
        let mut changes = store.watch().await.unwrap();
        assert_eq!(store.delete_prefix("p:").await.unwrap(), 3);
        for i in 0..3 {
            assert_eq!(next(&mut changes).await, Change::delete(format!("p:{i}")));
        }
        let v = store.put("after", "v").await.unwrap();
        assert_eq!(
            next(&mut changes).await,
            Change::put("after", v, None),
            "no change for the expired key"
        );
    });
}

/// A TCP proxy to the test server that can go silent: connections stay open but no
/// byte passes, as with a hung server or a dead network path.
async fn silent_proxy(
    target: std::net::SocketAddr,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let silent = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let flag = Arc::clone(&silent);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                continue;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            for (mut from, mut to, flag) in [
                (
                    Box::new(cr) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
                    Box::new(sw) as Box<dyn tokio::io::AsyncWrite + Unpin + Send>,
                    Arc::clone(&flag),
                ),
                (Box::new(sr), Box::new(cw), Arc::clone(&flag)),
            ] {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let Ok(n) = from.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        while flag.load(Ordering::Relaxed) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        if to.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        }
    });
    (port, silent)
}

#[test]
fn a_silent_server_gives_errors_within_the_timeout() {
    let Some(url) = server("silent_server") else {
        return;
    };
    let authority = url.split_once('@').unwrap().1.split('/').next().unwrap();
    let target: std::net::SocketAddr = authority.parse().unwrap();
    tokio().block_on(async {
        let (port, silent) = silent_proxy(target).await;
        let proxied = url.replacen(authority, &format!("127.0.0.1:{port}"), 1);
        let rt = open(config(&proxied, "timeout_ms = 800"), &unique("app"))
            .await
            .unwrap();
        let store = rt.store("s").unwrap();
        store.put("k", "before").await.unwrap();
        silent.store(true, std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        let err = store.put("k", "during").await.unwrap_err().to_string();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}: {err}",
            started.elapsed()
        );
        assert!(err.contains("no answer within 800 ms"), "{err}");
        silent.store(false, std::sync::atomic::Ordering::Relaxed);
        // The stuck connection was closed, not reused: the next calls work.
        let deadline = Instant::now() + Duration::from_secs(10);
        let value = loop {
            match store.get("k").text().await {
                Ok(value) => break value,
                Err(e) if Instant::now() < deadline => eprintln!("not yet: {e}"),
                Err(e) => panic!("no recovery: {e}"),
            }
        };
        assert!(
            matches!(value.as_deref(), Some("before" | "during")),
            "{value:?}"
        );
        store.put("k", "after").await.unwrap();
        assert_eq!(
            store.get("k").text().await.unwrap().as_deref(),
            Some("after")
        );
    });
}
