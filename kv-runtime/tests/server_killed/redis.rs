//! A `redis-server` with `appendonly yes` and `appendfsync always`, killed under load.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kv_runtime::{Config, ManualClock, Runtime};

use crate::history::Model;
use crate::load::{self, Server};
use crate::workload::T0;

fn binary() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned())
}

/// A `redis-server` of the test's own, on a free port, with its data in a temporary
/// directory that outlives restarts.
struct OwnRedis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            child: None,
            port,
            dir: tempfile::tempdir().unwrap(),
        };
        server.restart();
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Server for OwnRedis {
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn restart(&mut self) {
        let child = Command::new(binary())
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--daemonize", "no"])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary()));
        self.child = Some(child);
        // Up once it answers PING (it loads its append-only file first).
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let pong = redis::Client::open(self.url())
                .and_then(|c| c.get_connection())
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if pong.is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every chunk belongs to a record, or expires by itself (a put the kill
    /// interrupted: its staging TTL; a replaced value: its grace TTL).
    async fn audit(&self) {
        let mut conn = redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap();
        let scan = |conn: &mut redis::Connection, pattern: &str| -> Vec<String> {
            let mut cursor = 0u64;
            let mut out = Vec::new();
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query(conn)
                    .unwrap();
                out.extend(keys);
                if next == 0 {
                    return out;
                }
                cursor = next;
            }
        };
        let mut live = std::collections::HashSet::new();
        for record in scan(&mut conn, "kv:*:r:*") {
            let blob: Option<String> = redis::cmd("HGET")
                .arg(&record)
                .arg("b")
                .query(&mut conn)
                .unwrap();
            live.extend(blob);
        }
        let mut left = Vec::new();
        for chunk in scan(&mut conn, "kv:*:c:*") {
            let blob = chunk
                .rsplit_once(":c:")
                .and_then(|(_, rest)| rest.rsplit_once(':'))
                .map(|(blob, _)| blob.to_owned())
                .unwrap_or_else(|| panic!("unexpected chunk key {chunk}"));
            if live.contains(&blob) {
                continue;
            }
            let ttl: i64 = redis::cmd("TTL").arg(&chunk).query(&mut conn).unwrap();
            if ttl < 0 {
                left.push(chunk);
            }
        }
        assert!(
            left.is_empty(),
            "chunks of no record that never expire: {left:?}"
        );
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_under_load_keeps_every_acknowledged_write_whole() {
    let test = "redis_killed_under_load_keeps_every_acknowledged_write_whole";
    let found = Command::new(binary())
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if load::required(found, test, "redis-server is not installed").is_none() {
        return;
    }
    let mut redis = OwnRedis::start();
    let toml = format!(
        "[defaults]\nbackend = \"redis\"\nurl = \"{}\"\ntimeout_ms = 1000\n",
        redis.url()
    );
    let rt = Runtime::builder()
        .config(Config::from_toml(&toml, "kv.toml").unwrap())
        .clock(ManualClock::new(T0))
        .open()
        .await
        .unwrap();
    let store = rt.store("s").unwrap();
    let in_time = Duration::from_secs(4);
    load::kill_and_restart("redis", &store, in_time, &mut redis, Model::Acknowledged).await;
}
