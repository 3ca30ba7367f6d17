//! The redis backend beyond the conformance kit: a server down at start, killed or hung
//! mid-run and back, a cluster master killed and back, secrets, a sharded store on a
//! real cluster, two runtimes sharing a namespace, layouts that disagree, conditional
//! batches across shards, a chunked read whose value is replaced.
//!
//! The servers come from `KV_TEST_REDIS_URL` and `KV_TEST_REDIS_CLUSTER` (`eval "$(bash
//! .ci/redis.sh start)"`); the failure tests start a `redis-server` of their own on a
//! free port. Without the variables a test says SKIPPED and passes, unless `CI` is set.
#![cfg(feature = "redis")]
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use kv_runtime::{Change, Config, Error, Runtime};
use serde_json::json;

/// The value of `var`, or `None` after a loud SKIPPED line (a failure when `CI` is set).
fn server(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => {
            let reason =
                format!("{test}: {var} is not set (`eval \"$(bash .ci/redis.sh start)\"`)");
            if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
                panic!("{reason}; CI is set: a redis test must run, not skip");
            }
            eprintln!("SKIPPED — {reason}");
            None
        }
    }
}

fn unique(prefix: &str) -> String {
    use std::hash::{BuildHasher as _, RandomState};
    format!(
        "{prefix}-{:016x}",
        RandomState::new().hash_one(Instant::now())
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn open(toml: &str, application: &str) -> kv_runtime::Result<Runtime> {
    let config = Config::from_toml(toml, "kv.toml").unwrap();
    Runtime::builder()
        .config(config)
        .application(application)
        .open()
        .await
}

/// A `redis-server` of the test's own, on a free port, in a temporary directory.
struct OwnServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    args: Vec<String>,
}

impl OwnServer {
    fn start(args: &[&str]) -> Self {
        Self::start_on(free_port(), args)
    }

    fn start_on(port: u16, args: &[&str]) -> Self {
        let mut server = Self {
            child: None,
            port,
            dir: tempfile::tempdir().unwrap(),
            args: args.iter().map(|s| (*s).to_owned()).collect(),
        };
        server.restart();
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let child = Command::new(&binary)
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.signal("-CONT");
        }
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_at_start_is_an_error_naming_the_url_without_its_password() {
    let port = free_port();
    let toml = format!(
        "[defaults]\nbackend = \"redis\"\nurl = \"redis://:hunter2@127.0.0.1:{port}/0\"\ntimeout_ms = 500\n"
    );
    let started = Instant::now();
    let err = open(&toml, "app").await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Backend { .. }), "{err:?}");
    assert!(
        message.contains(&format!("redis://:***@127.0.0.1:{port}/0")),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!format!("{err:?}").contains("hunter2"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let err = open(
        "[defaults]\nbackend = \"redis\"\nurl = \"redis://127.0.0.1:1\"\npassword_env = \"KV_TEST_NO_SUCH_VARIABLE\"\n",
        "app",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("KV_TEST_NO_SUCH_VARIABLE is not set"),
        "{err}"
    );

    let err = open(
        "[stores.s]\nbackend = \"redis\"\nurll = \"redis://h\"\n",
        "app",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("kv.toml: line 3"), "{err}");
    assert!(err.to_string().contains("urll: unknown key"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_debug_and_errors() {
    if server("KV_TEST_REDIS_URL", "secrets_stay_out_of_debug_and_errors").is_none() {
        return;
    }
    let redis = OwnServer::start(&["--requirepass", "hunter2"]);
    // The password may come from an environment variable instead (HOME is always set).
    let home = std::env::var("HOME").unwrap();
    let from_env = OwnServer::start(&["--requirepass", &home]);
    let toml = format!(
        "[defaults]\nbackend = \"redis\"\nurl = \"{}\"\npassword_env = \"HOME\"\n",
        from_env.url()
    );
    let rt = open(&toml, &unique("app")).await.unwrap();
    rt.store("s").unwrap().put("k", "v").await.unwrap();
    assert!(!format!("{rt:?}").contains(&home));
    let url = redis.url().replace("redis://", "redis://:hunter2@");
    let toml = format!("[defaults]\nbackend = \"redis\"\nurl = \"{url}\"\n");
    let rt = open(&toml, &unique("app")).await.unwrap();
    let store = rt.store("s").unwrap();
    store.put("k", "v").await.unwrap();
    assert_eq!(store.get("k").text().await.unwrap().as_deref(), Some("v"));
    for shown in [
        format!("{rt:?}"),
        format!("{store:?}"),
        format!("{:?}", rt.config()),
    ] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    let wrong = redis.url().replace("redis://", "redis://:n0t-the-pw@");
    let err = open(
        &format!("[defaults]\nbackend = \"redis\"\nurl = \"{wrong}\"\n"),
        "app",
    )
    .await
    .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("n0t-the-pw"), "{shown}");
    assert!(shown.contains(":***@127.0.0.1"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_or_hung_server_gives_errors_in_time_then_recovers() {
    if server(
        "KV_TEST_REDIS_URL",
        "killed_or_hung_server_gives_errors_in_time_then_recovers",
    )
    .is_none()
    {
        return;
    }
    let mut redis = OwnServer::start(&["--appendonly", "yes", "--appendfsync", "always"]);
    let toml = format!(
        "[defaults]\nbackend = \"redis\"\nurl = \"{}\"\ntimeout_ms = 1000\n",
        redis.url()
    );
    let rt = open(&toml, &unique("app")).await.unwrap();
    let store = rt.store("s").unwrap();
    store.put("before", "v").await.unwrap();
    let in_time = Duration::from_secs(4);

    // Hung (SIGSTOP): every call fails once the timeout is over, none hangs.
    redis.signal("-STOP");
    for _ in 0..2 {
        let started = Instant::now();
        let err = store.put("hung", "v").await.unwrap_err();
        assert!(matches!(err, Error::Backend { .. }), "{err:?}");
        assert!(
            started.elapsed() < in_time,
            "{:?}: {err}",
            started.elapsed()
        );
        let started = Instant::now();
        assert!(store.list().await.is_err());
        assert!(started.elapsed() < in_time, "{:?}", started.elapsed());
    }
    // The store's stats count what failed in the backend, for /metrics.
    assert!(store.stats().backend_errors >= 4, "{:?}", store.stats());
    redis.signal("-CONT");
    eventually(|| async { store.get("before").text().await.is_ok() }).await;

    // Killed while writers run: errors, then everything works again after a restart,
    // and every record is whole.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut written = 0;
                for i in 0..100_000 {
                    let key = format!("w{w}:{i:06}");
                    let value = format!("value {w} {i}");
                    let put = store.put(key, value).metadata(json!({"w": w, "i": i}));
                    if put.await.is_err() {
                        break;
                    }
                    written += 1;
                }
                written
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.kill();
    let started = Instant::now();
    let mut written = 0;
    for writer in writers {
        written += writer.await.unwrap();
    }
    assert!(written > 0);
    assert!(
        started.elapsed() < in_time,
        "writers stopped after {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    assert!(store.get("before").text().await.is_err());
    assert!(started.elapsed() < in_time, "{:?}", started.elapsed());

    redis.restart();
    eventually(|| async { store.put("after", "v").await.is_ok() }).await;
    assert_eq!(
        store.get("before").text().await.unwrap().as_deref(),
        Some("v")
    );
    let mut listed = 0u64;
    let mut cursor = String::new();
    loop {
        let page = store.list().cursor(cursor.clone()).await.unwrap();
        for key in &page.keys {
            let Some((w, i)) = key.name.strip_prefix('w').and_then(|k| k.split_once(':')) else {
                continue;
            };
            let (w, i): (u64, u64) = (w.parse().unwrap(), i.parse().unwrap());
            listed += 1;
            let got = store
                .get_with_metadata(key.name.clone())
                .text()
                .await
                .unwrap();
            assert_eq!(got.value, Some(format!("value {w} {i}")), "{}", key.name);
            assert_eq!(got.metadata, Some(json!({"w": w, "i": i})));
            assert_eq!(key.metadata, got.metadata);
        }
        match page.cursor {
            Some(next) => cursor = next,
            None => break,
        }
    }
    // Acknowledged writes survived (appendfsync always); at most the writes in flight
    // when the server died may have landed without an answer.
    assert!(
        listed >= written && listed <= written + 4,
        "{listed} listed, {written} acknowledged"
    );
    // `before`, `after`, and `hung` if the put sent to the stopped server ran after it
    // resumed (the client had given up on its answer).
    let hung = u64::from(store.get("hung").text().await.unwrap().is_some());
    assert_eq!(store.count().await.unwrap(), listed + 2 + hung);
}

/// Retries `check` for up to 15 s.
async fn eventually<F, Fut>(check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "the store did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The masters of the cluster, as `host:port`.
async fn masters(seed: &str) -> Vec<String> {
    let client = redis::Client::open(seed).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let nodes: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut conn)
        .await
        .unwrap();
    nodes
        .lines()
        .filter(|line| {
            line.split(' ')
                .nth(2)
                .is_some_and(|flags| flags.contains("master"))
        })
        .filter_map(|line| line.split(' ').nth(1)?.split('@').next().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sharded_store_lives_on_several_cluster_nodes() {
    let Some(seeds) = server(
        "KV_TEST_REDIS_CLUSTER",
        "a_sharded_store_lives_on_several_cluster_nodes",
    ) else {
        return;
    };
    let seeds: Vec<&str> = seeds.split(',').map(str::trim).collect();
    let list = seeds
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let application = unique("app");
    let toml = format!("[defaults]\nbackend = \"redis\"\ncluster = [{list}]\nshards = 4\n");
    let rt = open(&toml, &application).await.unwrap();
    let store = rt.store("s").unwrap();
    let items: Vec<(String, String)> = (0..200)
        .map(|i| (format!("k{i:03}"), format!("v{i}")))
        .collect();
    store.put_many(items).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 200);
    let page = store.list().limit(1000).await.unwrap();
    let names: Vec<String> = page.keys.iter().map(|k| k.name.clone()).collect();
    let expected: Vec<String> = (0..200).map(|i| format!("k{i:03}")).collect();
    assert_eq!(names, expected, "shards merge in byte order");

    let pattern = format!("kv:{{{application}/s:*");
    let mut nodes_with_keys = 0;
    for node in masters(seeds[0]).await {
        let client = redis::Client::open(format!("redis://{node}")).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let mut keys: Vec<String> = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .unwrap();
            keys.extend(batch);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        if let Some(key) = keys.first() {
            let slot: u64 = redis::cmd("CLUSTER")
                .arg("KEYSLOT")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap();
            let here: u64 = redis::cmd("CLUSTER")
                .arg("COUNTKEYSINSLOT")
                .arg(slot)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(here > 0, "{node} holds keys of slot {slot}");
            nodes_with_keys += 1;
        }
    }
    assert!(
        nodes_with_keys >= 2,
        "the store's keys are on {nodes_with_keys} node(s)"
    );

    // A conditional batch over several shards is refused before anything is written.
    let err = store
        .put_many([
            kv_runtime::BulkPut::new("k000", "x").if_absent(),
            kv_runtime::BulkPut::new("k001", "x"),
            kv_runtime::BulkPut::new("k002", "x"),
            kv_runtime::BulkPut::new("k003", "x"),
            kv_runtime::BulkPut::new("k004", "x"),
        ])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("must stay within one shard"),
        "{err}"
    );
    assert_eq!(
        store.get("k001").text().await.unwrap().as_deref(),
        Some("v1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runtimes_on_one_namespace_see_each_other() {
    let Some(url) = server(
        "KV_TEST_REDIS_URL",
        "two_runtimes_on_one_namespace_see_each_other",
    ) else {
        return;
    };
    let application = unique("app");
    let toml = format!("[defaults]\nbackend = \"redis\"\nurl = \"{url}\"\n");
    let (a, b) = (
        open(&toml, &application).await.unwrap(),
        open(&toml, &application).await.unwrap(),
    );
    let (a, b) = (a.store("sessions").unwrap(), b.store("sessions").unwrap());
    let mut changes = a.watch().prefix("session:").await.unwrap();
    let version = b.put("session:1", "alice").await.unwrap();
    assert_eq!(
        a.get("session:1").text().await.unwrap().as_deref(),
        Some("alice")
    );
    let next = tokio::time::timeout(Duration::from_secs(10), changes.next())
        .await
        .unwrap();
    assert_eq!(
        next.unwrap().unwrap(),
        Change::put("session:1", version, None)
    );
    b.delete("session:1").await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), changes.next())
        .await
        .unwrap();
    assert_eq!(next.unwrap().unwrap(), Change::delete("session:1"));

    // A cached read may be up to cache_ttl old with respect to another runtime's writes.
    b.put("flag", "on").await.unwrap();
    assert_eq!(
        a.get("flag").cache_ttl(60).text().await.unwrap().as_deref(),
        Some("on")
    );
    b.put("flag", "off").await.unwrap();
    assert_eq!(
        a.get("flag").cache_ttl(60).text().await.unwrap().as_deref(),
        Some("on")
    );
    assert_eq!(a.get("flag").text().await.unwrap().as_deref(), Some("off"));

    // Another shard count on the same namespace is refused, naming both.
    let other = format!("{toml}shards = 2\n");
    let err = open(&other, &application)
        .await
        .unwrap()
        .store("sessions")
        .unwrap()
        .get("x")
        .text()
        .await;
    let err = err.unwrap_err().to_string();
    assert!(
        err.contains("shards=1") && err.contains("shards=2"),
        "{err}"
    );
}

/// A port P free on loopback with P + 10000 (a cluster node's bus) free too.
fn free_cluster_port(taken: &[u16]) -> u16 {
    use std::hash::{BuildHasher as _, RandomState};
    for attempt in 0..1000u32 {
        let port = 20_000 + (RandomState::new().hash_one(attempt) % 20_000) as u16;
        let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        if !taken.contains(&port) && free(port) && free(port + 10_000) {
            return port;
        }
    }
    panic!("no free port pair");
}

async fn cluster_ok(port: u16) -> bool {
    let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}")) else {
        return false;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    let info: redis::RedisResult<String> = redis::cmd("CLUSTER")
        .arg("INFO")
        .query_async(&mut conn)
        .await;
    info.is_ok_and(|info| info.contains("cluster_state:ok"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_node_killed_mid_run_gives_errors_in_time_then_recovers() {
    let test = "a_cluster_node_killed_mid_run_gives_errors_in_time_then_recovers";
    if server("KV_TEST_REDIS_CLUSTER", test).is_none() {
        return;
    }
    // A cluster of the test's own: killing a node of the shared one would disturb the
    // other tests.
    let mut ports = Vec::new();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let port = free_cluster_port(&ports);
        ports.push(port);
        // nodes.conf and the append-only file go to the server's own directory (its
        // working directory), so that a restarted node rejoins with its data.
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "1000",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ];
        nodes.push(OwnServer::start_on(port, &args));
    }
    let cli = std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".to_owned());
    let status = Command::new(&cli)
        .arg("--cluster")
        .arg("create")
        .args(ports.iter().map(|p| format!("127.0.0.1:{p}")))
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "redis-cli --cluster create failed");
    for &port in &ports {
        eventually(|| cluster_ok(port)).await;
    }
    let list = ports
        .iter()
        .map(|p| format!("\"redis://127.0.0.1:{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let toml = format!(
        "[defaults]\nbackend = \"redis\"\ncluster = [{list}]\nshards = 4\ntimeout_ms = 1000\n"
    );
    let rt = open(&toml, &unique("app")).await.unwrap();
    let store = rt.store("s").unwrap();
    let items: Vec<(String, String)> = (0..50)
        .map(|i| (format!("k{i:02}"), format!("v{i}")))
        .collect();
    store.put_many(items).await.unwrap();

    // The first master owns slots 0-5460, where the store's first shard lives.
    nodes[0].kill();
    let mut failed = 0;
    for i in 0..20 {
        let started = Instant::now();
        if store.put(format!("k{i:02}"), "new").await.is_err() {
            failed += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "a put took {:?}",
            started.elapsed()
        );
    }
    assert!(failed > 0, "with a master down, writes to its shards fail");

    nodes[0].restart();
    for &port in &ports {
        eventually(|| cluster_ok(port)).await;
    }
    eventually(|| async {
        let mut all = true;
        for i in 0..20 {
            all &= store.put(format!("k{i:02}"), "back").await.is_ok();
        }
        all
    })
    .await;
    assert_eq!(store.count().await.unwrap(), 50);
    assert_eq!(
        store.get("k49").text().await.unwrap().as_deref(),
        Some("v49")
    );
    assert_eq!(
        store.get("k00").text().await.unwrap().as_deref(),
        Some("back")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_read_never_mixes_two_values() {
    let Some(url) = server("KV_TEST_REDIS_URL", "a_chunked_read_never_mixes_two_values") else {
        return;
    };
    let application = unique("app");
    let toml = format!("[defaults]\nbackend = \"redis\"\nurl = \"{url}\"\n");
    let rt = open(&toml, &application).await.unwrap();
    let store = rt.store("s").unwrap();
    let old: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    store.put("big", old.clone()).await.unwrap();

    // A read in progress when the value is replaced finishes with the value it started.
    let mut stream = store.get("big").stream().await.unwrap().unwrap();
    let mut got = stream.next().await.unwrap().unwrap().to_vec();
    store.put("big", vec![7u8; 1_000_000]).await.unwrap();
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(got, old);

    // Once the replaced value's chunks are gone (their grace period over), a read that
    // started before fails rather than mixing in the new value.
    let mut stream = store.get("big").stream().await.unwrap().unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.iter().all(|&b| b == 7));
    store.put("big", vec![9u8; 1_000_000]).await.unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let pattern = format!("kv:{{{application}/s:*:c:*");
    let chunks: Vec<String> = redis::cmd("KEYS")
        .arg(&pattern)
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut retired = 0;
    for chunk in chunks {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&chunk)
            .query_async(&mut conn)
            .await
            .unwrap();
        if (0..=60).contains(&ttl) {
            let _: () = redis::cmd("DEL")
                .arg(&chunk)
                .query_async(&mut conn)
                .await
                .unwrap();
            retired += 1;
        }
    }
    assert_eq!(
        retired, 8,
        "the two replaced values' chunks have a grace TTL"
    );
    let mut failed = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => assert!(bytes.iter().all(|&b| b == 7), "only bytes of one value"),
            Err(err) => {
                failed = Some(err.to_string());
                break;
            }
        }
    }
    let failed = failed.expect("the read fails once its chunks are gone");
    assert!(
        failed.contains("replaced or removed while it was read"),
        "{failed}"
    );
    assert!(stream.next().await.is_none(), "nothing after the error");
    let now = store.get("big").bytes().await.unwrap().unwrap();
    assert!(now.iter().all(|&b| b == 9) && now.len() == 1_000_000);
}
