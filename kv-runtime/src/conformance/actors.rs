//! The actor namespace under contention, with its state in the store under test:
//! many callers, few ids, actors that go idle and restart between messages.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::stress::{DEADLINE, Rng};
use super::{Harness, Target};
use crate::actor::{Actor, Context, Namespace};
use crate::{Json, KvStore};

#[derive(Clone)]
struct Env {
    store: KvStore,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
    overlaps: Arc<AtomicUsize>,
    starts: Arc<AtomicUsize>,
}

/// A counter per id whose count lives in the store: started from it, written back
/// after every message.
struct Counter {
    count: u64,
}

impl Actor for Counter {
    type Env = Env;
    type Message = ();
    type Reply = crate::Result<u64>;

    async fn start(ctx: &Context<Env>) -> crate::Result<Self> {
        ctx.env().starts.fetch_add(1, Ordering::SeqCst);
        let count = ctx.env().store.get(ctx.id()).json().await?.unwrap_or(0);
        Ok(Self { count })
    }

    async fn handle(&mut self, (): (), ctx: &Context<Env>) -> crate::Result<u64> {
        let env = ctx.env();
        let busy = |delta: isize| {
            let mut map = env.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
            let n = map.entry(ctx.id().to_owned()).or_default();
            *n = n.saturating_add_signed(delta);
            *n
        };
        if busy(1) > 1 {
            env.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        self.count += 1;
        let written = env.store.put(ctx.id(), Json(&self.count)).await;
        tokio::task::yield_now().await;
        busy(-1);
        written.map(|_| self.count)
    }
}

/// 32 callers send 20 messages each to 4 actors that go idle after 2 ms (and do,
/// between bursts): messages to one id are handled one at a time, none is lost or
/// handled twice (each id's replies are exactly 1..=n, and its stored count is n),
/// each caller sees its own replies in order, and actors restart from the store.
pub async fn actor_namespace_under_contention<T: Target>(t: T) {
    const CALLERS: u64 = 32;
    const MESSAGES: usize = 20;
    const IDS: usize = 4;
    let h = Harness::new(t).await;
    let env = Env {
        store: h.store.clone(),
        in_flight: Arc::default(),
        overlaps: Arc::default(),
        starts: Arc::default(),
    };
    let actors = Namespace::<Counter>::with_idle_timeout(env.clone(), Duration::from_millis(2));
    let work = async {
        let mut callers = Vec::new();
        for c in 0..CALLERS {
            let actors = actors.clone();
            callers.push(tokio::spawn(async move {
                let mut rng = Rng::new(c + 1);
                let mut replies: Vec<(String, u64)> = Vec::new();
                for m in 0..MESSAGES {
                    if m == MESSAGES / 2 {
                        // Long enough for every actor to go idle and stop.
                        tokio::time::sleep(Duration::from_millis(30)).await;
                    } else if rng.below(4) == 0 {
                        tokio::time::sleep(Duration::from_millis(rng.below(4) as u64)).await;
                    }
                    let id = format!("counter-{}", rng.below(IDS));
                    let n = actors.get(id.clone()).call(()).await.unwrap().unwrap();
                    replies.push((id, n));
                }
                replies
            }));
        }
        let mut by_id: HashMap<String, Vec<u64>> = HashMap::new();
        for caller in callers {
            let replies = caller.await.unwrap();
            let mut last: HashMap<&str, u64> = HashMap::new();
            for (id, n) in &replies {
                let previous = last.insert(id, *n).unwrap_or(0);
                assert!(*n > previous, "{id}: a caller saw {n} after {previous}");
                by_id.entry(id.clone()).or_default().push(*n);
            }
        }
        by_id
    };
    let by_id = match tokio::time::timeout(DEADLINE, work).await {
        Ok(by_id) => by_id,
        Err(_) => panic!("actors under contention: no end within {DEADLINE:?} (a deadlock?)"),
    };
    assert_eq!(
        env.overlaps.load(Ordering::SeqCst),
        0,
        "an actor handled two messages at once"
    );
    let mut total = 0;
    for (id, mut replies) in by_id {
        replies.sort_unstable();
        let n = replies.len() as u64;
        assert_eq!(
            replies,
            (1..=n).collect::<Vec<_>>(),
            "{id}: replies lost or repeated"
        );
        let stored: Option<u64> = h.store.get(id.clone()).json().await.unwrap();
        assert_eq!(stored, Some(n), "{id}: the stored count");
        total += replies.len();
    }
    assert_eq!(total, CALLERS as usize * MESSAGES);
    let starts = env.starts.load(Ordering::SeqCst);
    assert!(
        starts > IDS,
        "actors never restarted ({starts} starts for {IDS} ids)"
    );
}
