//! Actors: serialized per id, parallel across ids, started on first use, dropped when
//! idle, and state kept in a store survives a restart.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kv_runtime::actor::{Actor, ActorError, Context, Namespace};
use kv_runtime::{KvStore, Runtime};

/// Shared by every actor of a test: the store, and counters the test inspects.
#[derive(Clone)]
struct Env {
    store: KvStore,
    starts: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    barrier: Arc<tokio::sync::Barrier>,
}

impl Env {
    fn new(store: KvStore) -> Self {
        Self {
            store,
            starts: Arc::default(),
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
            barrier: Arc::new(tokio::sync::Barrier::new(2)),
        }
    }
}

/// Appends to a log kept in the store under the actor's id.
struct Log {
    entries: Vec<String>,
}

#[derive(Debug)]
enum Msg {
    Append(String),
    Meet,
    Panic,
}

impl Actor for Log {
    type Env = Env;
    type Message = Msg;
    type Reply = Vec<String>;

    async fn start(ctx: &Context<Env>) -> kv_runtime::Result<Self> {
        if ctx.id() == "unstartable" {
            ctx.env().store.get("").text().await?; // an invalid key: start fails
        }
        ctx.env().starts.fetch_add(1, Ordering::SeqCst);
        let entries = ctx
            .env()
            .store
            .get(ctx.id())
            .json()
            .await?
            .unwrap_or_default();
        Ok(Log { entries })
    }

    async fn handle(&mut self, msg: Msg, ctx: &Context<Env>) -> Vec<String> {
        let env = ctx.env();
        let now = env.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        env.max_in_flight.fetch_max(now, Ordering::SeqCst);
        match msg {
            Msg::Append(entry) => {
                tokio::task::yield_now().await; // give other callers a chance to overlap
                self.entries.push(entry);
                env.store
                    .put(ctx.id(), kv_runtime::Json(&self.entries))
                    .await
                    .unwrap();
            }
            Msg::Meet => {
                env.barrier.wait().await;
            }
            Msg::Panic => panic!("the actor fails on purpose"),
        }
        env.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.entries.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_to_one_id_are_serialized_and_in_order() {
    let env = Env::new(KvStore::in_memory("logs"));
    let logs = Namespace::<Log>::new(env.clone());
    assert_eq!(logs.active(), 0);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let log = logs.get("room-1");
            tokio::spawn(async move { log.call(Msg::Append(format!("{i}"))).await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        env.max_in_flight.load(Ordering::SeqCst),
        1,
        "messages to one actor overlapped"
    );
    assert_eq!(logs.active(), 1, "created on first use, once");
    assert_eq!(env.starts.load(Ordering::SeqCst), 1);
    // One caller's messages keep their order.
    let log = logs.get("ordered");
    for i in 0..5 {
        log.call(Msg::Append(format!("{i}"))).await.unwrap();
    }
    assert_eq!(
        log.call(Msg::Append("5".into())).await.unwrap(),
        ["0", "1", "2", "3", "4", "5"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_ids_run_in_parallel() {
    let env = Env::new(KvStore::in_memory("logs"));
    let logs = Namespace::<Log>::new(env);
    // Each actor waits at a barrier of two: this completes only if both run at once.
    let (a, b) = (logs.get("a"), logs.get("b"));
    let both = async { tokio::join!(a.call(Msg::Meet), b.call(Msg::Meet)) };
    let (ra, rb) = tokio::time::timeout(Duration::from_secs(5), both)
        .await
        .expect("actors of different ids did not run in parallel");
    ra.unwrap();
    rb.unwrap();
    assert_eq!(logs.active(), 2);
}

#[tokio::test(start_paused = true)]
async fn idle_actors_are_dropped_and_restart_with_their_state() {
    let env = Env::new(KvStore::in_memory("logs"));
    let logs = Namespace::<Log>::with_idle_timeout(env.clone(), Duration::from_secs(30));
    let log = logs.get("room-1");
    log.call(Msg::Append("hello".into())).await.unwrap();
    assert_eq!(logs.active(), 1);
    tokio::time::sleep(Duration::from_secs(29)).await;
    log.call(Msg::Append("again".into())).await.unwrap();
    tokio::time::sleep(Duration::from_secs(29)).await;
    assert_eq!(logs.active(), 1, "a message resets the idle timer");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(logs.active(), 0, "dropped after 30 s without messages");
    let entries = log.call(Msg::Append("back".into())).await.unwrap();
    assert_eq!(
        entries,
        ["hello", "again", "back"],
        "restarted from its stored state"
    );
    assert_eq!(env.starts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn state_survives_a_process_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let rt = Runtime::open(dir.path()).await.unwrap();
        let logs = Namespace::<Log>::new(Env::new(rt.store("logs").unwrap()));
        logs.get("room-1")
            .call(Msg::Append("before restart".into()))
            .await
            .unwrap();
    }
    // The namespace, its actors and the runtime are gone; the data directory stays.
    let rt = Runtime::open(dir.path()).await.unwrap();
    let logs = Namespace::<Log>::new(Env::new(rt.store("logs").unwrap()));
    let entries = logs
        .get("room-1")
        .call(Msg::Append("after".into()))
        .await
        .unwrap();
    assert_eq!(entries, ["before restart", "after"]);
}

#[tokio::test]
async fn failures_are_errors_and_the_next_call_recovers() {
    let env = Env::new(KvStore::in_memory("logs"));
    let logs = Namespace::<Log>::new(env.clone());
    let err = logs
        .get("unstartable")
        .call(Msg::Append("x".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, ActorError::Start { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "actor \"unstartable\" failed to start: key name cannot be empty"
    );

    let log = logs.get("fragile");
    log.call(Msg::Append("kept".into())).await.unwrap();
    let err = log.call(Msg::Panic).await.unwrap_err();
    assert_eq!(err.to_string(), "actor \"fragile\" stopped before replying");
    // A new instance starts from the stored state.
    assert_eq!(
        log.call(Msg::Append("next".into())).await.unwrap(),
        ["kept", "next"]
    );
}
