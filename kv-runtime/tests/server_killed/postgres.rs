//! A PostgreSQL cluster of the test's own (`.ci/postgres.sh` with a private state
//! file), its postmaster and every backend killed at once under load.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use kv_runtime::{Config, ManualClock, Runtime};

use crate::history::Model;
use crate::load::{self, Server};
use crate::workload::T0;

/// A private cluster: started, killed and resumed with `.ci/postgres.sh`, removed
/// when dropped.
struct Cluster {
    script: PathBuf,
    state: PathBuf,
    url: String,
}

impl Cluster {
    fn start() -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/postgres.sh");
        let state = std::env::temp_dir().join(format!(
            "kv-pg-killed-{}-{}.state",
            std::process::id(),
            T0 ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        ));
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .env("KV_PG_STATE", &state)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "could not start a private cluster: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let url = stdout
            .lines()
            .find_map(|l| l.strip_prefix("export KV_TEST_POSTGRES_URL="))
            .expect("the script prints the URL")
            .to_owned();
        Self { script, state, url }
    }

    fn run(&self, action: &str) {
        let status = Command::new("bash")
            .arg(&self.script)
            .arg(action)
            .env("KV_PG_STATE", &self.state)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), ".ci/postgres.sh {action} failed");
    }

    fn psql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                &self.url,
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

impl Server for Cluster {
    fn kill(&mut self) {
        self.run("kill");
    }

    fn restart(&mut self) {
        self.run("resume");
    }

    /// No chunk without its record, and every chunked record's chunks add up.
    async fn audit(&self) {
        let orphaned = self.psql(
            "SELECT count(*) FROM kv_chunks c \
             WHERE NOT EXISTS (SELECT 1 FROM kv_records r WHERE r.blob = c.blob)",
        );
        assert_eq!(orphaned, "0", "chunks that belong to no record");
        let short = self.psql(
            "SELECT count(*) FROM kv_records r WHERE r.blob IS NOT NULL AND r.len <> \
             COALESCE((SELECT sum(length(c.data)) FROM kv_chunks c WHERE c.blob = r.blob), -1)",
        );
        assert_eq!(short, "0", "chunked records whose chunks do not add up");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .env("KV_PG_STATE", &self.state)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn binaries_found() -> bool {
    std::fs::read_dir("/usr/lib/postgresql")
        .map(|versions| {
            versions
                .filter_map(Result::ok)
                .any(|v| v.path().join("bin/initdb").exists())
        })
        .unwrap_or(false)
}

/// The cluster, or `None` (a SKIPPED line; a failure under `CI`).
fn cluster(test: &str) -> Option<Cluster> {
    let what =
        "no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)";
    load::required(binaries_found(), test, what)?;
    Some(Cluster::start())
}

async fn store(cluster: &Cluster, durability: &str) -> (Runtime, kv_runtime::KvStore) {
    let toml = format!(
        "[defaults]\nbackend = \"postgres\"\nurl = \"{}\"\ntimeout_ms = 1500\ndurability = \"{durability}\"\n",
        cluster.url
    );
    let rt = Runtime::builder()
        .config(Config::from_toml(&toml, "kv.toml").unwrap())
        .clock(ManualClock::new(T0))
        .open()
        .await
        .unwrap();
    let store = rt.store("s").unwrap();
    (rt, store)
}

/// `durability = "sync"` (`synchronous_commit = on`): nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_under_load_keeps_every_acknowledged_write_whole() {
    let test = "postgres_killed_under_load_keeps_every_acknowledged_write_whole";
    let Some(mut cluster) = cluster(test) else {
        return;
    };
    let (_rt, store) = store(&cluster, "sync").await;
    let in_time = Duration::from_secs(7);
    let model = Model::Acknowledged;
    load::kill_and_restart("postgres sync", &store, in_time, &mut cluster, model).await;
}

/// `durability = "buffered"` keeps the server's `synchronous_commit`; with it `off` (here
/// the role's default), a commit returns before its WAL is flushed, so the kill may
/// take the last acknowledged writes — but only a suffix of history, each write whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_with_synchronous_commit_off_loses_only_a_suffix_of_history() {
    let test = "postgres_with_synchronous_commit_off_loses_only_a_suffix_of_history";
    let Some(mut cluster) = cluster(test) else {
        return;
    };
    cluster.psql("ALTER ROLE kv SET synchronous_commit = off");
    assert_eq!(cluster.psql("SHOW synchronous_commit"), "off");
    let (_rt, store) = store(&cluster, "buffered").await;
    let in_time = Duration::from_secs(7);
    let name = "postgres buffered, synchronous_commit off";
    load::kill_and_restart(name, &store, in_time, &mut cluster, Model::Prefix).await;
}
