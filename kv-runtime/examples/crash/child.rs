//! The child process of a trial: opens the store, runs writers until it is killed, and
//! reports on standard output (a pipe to the parent) each operation as it starts and
//! as it is acknowledged.
//!
//! Lines: `R` once the store is open; `S <operation as JSON>` before an operation
//! starts; `A <id> <version>,<version>...` once it returned. Each line is one write to
//! the pipe under a lock, so the pipe holds the events in the order they happened; a
//! line the kill cut short is ignored by the parent.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use kv_runtime::{Config, ManualClock, Runtime};

use crate::workload::{self, Op, Rng};

/// What the parent tells a child.
#[derive(Debug, Clone)]
pub(crate) struct ChildArgs {
    pub(crate) dir: PathBuf,
    pub(crate) durability: String,
    pub(crate) memtable_bytes: Option<u64>,
    pub(crate) seed: u64,
    pub(crate) writers: u64,
    pub(crate) keys_per_writer: u64,
    /// The first operation id of this run (ids are unique across a store's runs).
    pub(crate) first_op: u64,
}

impl ChildArgs {
    pub(crate) fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "--child".to_owned(),
            self.dir.display().to_string(),
            self.durability.clone(),
            self.seed.to_string(),
            self.writers.to_string(),
            self.keys_per_writer.to_string(),
            self.first_op.to_string(),
        ];
        args.extend(self.memtable_bytes.map(|m| m.to_string()));
        args
    }

    pub(crate) fn from_args(args: &[String]) -> Option<Self> {
        let [dir, durability, seed, writers, keys, first, rest @ ..] = args else {
            return None;
        };
        Some(Self {
            dir: PathBuf::from(dir),
            durability: durability.clone(),
            seed: seed.parse().ok()?,
            writers: writers.parse().ok()?,
            keys_per_writer: keys.parse().ok()?,
            first_op: first.parse().ok()?,
            memtable_bytes: match rest {
                [] => None,
                [m] => Some(m.parse().ok()?),
                _ => return None,
            },
        })
    }
}

/// The configuration of the store a trial writes, for the child and for the checker.
pub(crate) fn config(dir: &std::path::Path, durability: &str, memtable: Option<u64>) -> Config {
    let mut text = format!(
        "data_dir = {:?}\n[defaults]\ndurability = \"{durability}\"\n",
        dir.display().to_string()
    );
    if let Some(bytes) = memtable {
        text.push_str(&format!("[backends.fjall]\nmemtable_size = {bytes}\n"));
    }
    Config::from_toml(&text, dir.join("kv.toml")).expect("the trial's configuration is valid")
}

pub(crate) const STORE: &str = "crash";

/// At most this many operations per writer, so that a run that is not killed in time
/// does not fill the disk; then the writer waits to be killed.
const MAX_OPS_PER_WRITER: u64 = 5_000;

static OUT: Mutex<()> = Mutex::new(());

fn emit(line: &str) {
    let _serial = OUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = std::io::stdout().lock();
    // The parent reads until the pipe closes; a failed write means it has gone.
    if out.write_all(format!("{line}\n").as_bytes()).is_err() || out.flush().is_err() {
        std::process::exit(4);
    }
}

pub(crate) fn run(args: &ChildArgs) -> ! {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    tokio.block_on(async {
        let config = config(&args.dir, &args.durability, args.memtable_bytes);
        let rt = match Runtime::builder()
            .config(config)
            .clock(ManualClock::new(workload::T0))
            .open()
            .await
        {
            Ok(rt) => rt,
            Err(e) => {
                emit(&format!("X the store does not open: {e}"));
                std::process::exit(3);
            }
        };
        let store = match rt.store(STORE) {
            Ok(store) => store,
            Err(e) => {
                emit(&format!("X the store does not open: {e}"));
                std::process::exit(3);
            }
        };
        emit("R");
        let next = std::sync::Arc::new(AtomicU64::new(args.first_op));
        let writers: Vec<_> = (0..args.writers)
            .map(|w| {
                let (store, next) = (store.clone(), next.clone());
                let keys = workload::keys_of(w, args.keys_per_writer);
                let mut rng = Rng::new(args.seed ^ (w + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
                tokio::spawn(async move {
                    for _ in 0..MAX_OPS_PER_WRITER {
                        let id = next.fetch_add(1, Ordering::SeqCst);
                        let op = Op::random(&mut rng, id, &keys, 35);
                        let line = serde_json::to_string(&op).expect("an operation serializes");
                        emit(&format!("S {line}"));
                        match op.run(&store).await {
                            Ok(versions) => {
                                let versions: Vec<String> =
                                    versions.iter().map(ToString::to_string).collect();
                                emit(&format!("A {id} {}", versions.join(",")));
                            }
                            Err(e) => {
                                emit(&format!("X operation {id} failed: {e}"));
                                std::process::exit(3);
                            }
                        }
                    }
                })
            })
            .collect();
        for writer in writers {
            let _ = writer.await;
        }
        // Wait to be killed.
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    })
}
