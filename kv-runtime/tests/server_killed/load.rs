//! Writers under load, the kill and the checks every backend's test shares.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kv_runtime::KvStore;

use crate::check::{self, Ledger, Verdict};
use crate::history::{History, Model};
use crate::workload::{self, Op, Rng};

pub(crate) const WRITERS: u64 = 4;
pub(crate) const KEYS_PER_WRITER: u64 = 8;

/// Whether a test whose server is missing runs (`Some`) or skips (`None`, loudly; a
/// failure when `CI` is set).
pub(crate) fn required(present: bool, test: &str, what: &str) -> Option<()> {
    if present {
        return Some(());
    }
    let reason = format!("{test}: {what}");
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{reason}; CI is set: this test must run, not skip");
    }
    eprintln!("SKIPPED — {reason}");
    None
}

pub(crate) fn keys() -> Vec<String> {
    (0..WRITERS)
        .flat_map(|w| workload::keys_of(w, KEYS_PER_WRITER))
        .collect()
}

/// How a writer's run ended.
#[derive(Debug)]
struct End {
    /// When its first error came, and the error.
    failed: Option<(Instant, String)>,
}

/// Writers that each own a few keys and run random operations on them (small puts,
/// chunked and streamed puts, bulk puts, deletes, bulk deletes) until told to stop or
/// until their first error.
pub(crate) struct Writers {
    history: Arc<Mutex<History>>,
    acked: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    handles: Vec<tokio::task::JoinHandle<End>>,
}

impl Writers {
    /// Starts the writers; operation ids start at `first_op`.
    pub(crate) fn start(store: &KvStore, first_op: u64, seed: u64) -> Self {
        let history = Arc::new(Mutex::new(History::default()));
        let acked = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicU64::new(first_op));
        let handles = (0..WRITERS)
            .map(|w| {
                let (store, history) = (store.clone(), history.clone());
                let (acked, stop, next) = (acked.clone(), stop.clone(), next.clone());
                let keys = workload::keys_of(w, KEYS_PER_WRITER);
                let mut rng = Rng::new(seed ^ (w + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let id = next.fetch_add(1, Ordering::SeqCst);
                        let op = Op::random(&mut rng, id, &keys, 25);
                        history.lock().unwrap().start(op.clone());
                        match op.run(&store).await {
                            Ok(versions) => {
                                let versions = versions.iter().map(ToString::to_string).collect();
                                history.lock().unwrap().ack(id, versions).unwrap();
                                acked.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) => {
                                return End {
                                    failed: Some((Instant::now(), e.to_string())),
                                };
                            }
                        }
                    }
                    End { failed: None }
                })
            })
            .collect();
        Self {
            history,
            acked,
            stop,
            handles,
        }
    }

    /// Waits until `n` operations were acknowledged in all (at most 60 s).
    pub(crate) async fn wait_for_acks(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.acked.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} operations acknowledged in 60 s",
                self.acked.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// After the server was killed at `killed`: every writer must stop with an error
    /// within `in_time` of the kill. Returns the history and the slowest error's delay.
    pub(crate) async fn failed(self, killed: Instant, in_time: Duration) -> (History, Duration) {
        let mut slowest = Duration::ZERO;
        for handle in self.handles {
            let end = tokio::time::timeout(in_time + Duration::from_secs(5), handle)
                .await
                .expect("a writer hangs after the server was killed")
                .unwrap();
            let (at, error) = end.failed.expect("the writer stopped with an error");
            let after = at.saturating_duration_since(killed);
            assert!(
                after < in_time,
                "an error came {after:?} after the kill: {error}"
            );
            slowest = slowest.max(after);
        }
        let history = self.history.lock().unwrap().clone();
        (history, slowest)
    }

    /// Stops the writers (each finishes its operation) and returns the history; none
    /// may have failed.
    pub(crate) async fn stop(self) -> History {
        self.stop.store(true, Ordering::SeqCst);
        for handle in self.handles {
            let end = handle.await.unwrap();
            assert!(end.failed.is_none(), "a writer failed: {:?}", end.failed);
        }
        self.history.lock().unwrap().clone()
    }
}

/// Retries `check` for up to 30 s; returns how long it took.
pub(crate) async fn recovery<F, Fut>(mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no recovery within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

/// Reads `store` back and checks it against `history` under `model`.
pub(crate) async fn check_store(
    store: &KvStore,
    ledger: &mut Ledger,
    history: &History,
    model: Model,
) -> Verdict {
    let observed = check::observe(store, &keys())
        .await
        .unwrap_or_else(|e| panic!("reading the store back: {e}"));
    ledger
        .check(history, &observed, model)
        .unwrap_or_else(|problems| {
            panic!(
                "the store is not in a state its history allows:\n{}",
                problems.join("\n")
            )
        })
}

/// A server a test owns: it can kill it, start it again, and check its storage.
pub(crate) trait Server {
    /// SIGKILL: no shutdown, no last write.
    fn kill(&mut self);
    /// Starts it again on the same port and data.
    fn restart(&mut self);
    /// Checks what the store keeps beyond its records (chunks): nothing left behind
    /// that will not go by itself.
    fn audit(&self) -> impl Future<Output = ()>;
}

/// The whole scenario: load, kill, errors in time, restart, recovery, checks (what
/// the kill may cost is `model`), and a second round of writes that must all succeed.
pub(crate) async fn kill_and_restart(
    name: &str,
    store: &KvStore,
    in_time: Duration,
    server: &mut impl Server,
    model: Model,
) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = Rng::new(seed);
    let mut ledger = Ledger::default();
    let writers = Writers::start(store, 10_000_000, rng.next_u64());
    writers.wait_for_acks(60).await;
    tokio::time::sleep(Duration::from_millis(rng.below(300))).await;
    let killed = Instant::now();
    server.kill();
    let started = Instant::now();
    assert!(
        store.get("w0/k0").bytes().await.is_err(),
        "a read while the server is down fails"
    );
    assert!(
        started.elapsed() < in_time,
        "a read failed only after {:?}",
        started.elapsed()
    );
    let (history, slowest) = writers.failed(killed, in_time).await;
    server.restart();
    let recovered = recovery(|| async { store.get("w0/k0").bytes().await.is_ok() }).await;
    let verdict = check_store(store, &mut ledger, &history, model).await;
    server.audit().await;

    // Back in business: a round of writes that all succeed, checked the same way.
    let writers = Writers::start(store, 20_000_000, rng.next_u64());
    writers.wait_for_acks(40).await;
    let again = writers.stop().await;
    let after = check_store(store, &mut ledger, &again, Model::Acknowledged).await;
    server.audit().await;
    eprintln!(
        "{name} (seed {seed}): {} operations acknowledged before the kill ({} of them lost), {} in flight ({} took effect); \
         every writer failed within {slowest:?} of the kill; the store answered again {recovered:?} after the restart; \
         {} keys with values checked whole ({} chunked); then {} more acknowledged and checked",
        verdict.acked,
        verdict.lost.len(),
        verdict.in_flight,
        verdict.in_flight_applied,
        verdict.present,
        verdict.chunked,
        after.acked,
    );
}
