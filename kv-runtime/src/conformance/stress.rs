//! Many tasks at once on overlapping keys: the last writer wins per key, no reader
//! ever sees a torn value (whole or chunked), a listing walk never returns a key twice
//! while writers insert and delete, and nothing deadlocks (every behaviour finishes
//! within [`DEADLINE`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::{TryStreamExt as _, stream};
use serde_json::json;

use super::{CHUNK_BYTES, Harness, Target};
use crate::{Body, Bytes, KvStore, Version};

/// How long a behaviour may take before it counts as a deadlock.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// Runs `work`, failing if it does not finish within [`DEADLINE`].
async fn bounded<F: Future>(what: &str, work: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, work).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: no end within {DEADLINE:?} (a deadlock?)"),
    }
}

/// A small deterministic generator (xorshift), one per task.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The value writer `w` writes on its `s`-th write: a header naming the write, then
/// `len` bytes that follow from it, so that a reader can tell a whole value from a
/// torn one.
fn tagged(w: usize, s: usize, len: usize) -> Bytes {
    let mut out = format!("w{w}:s{s}:").into_bytes();
    let seed = (w * 1_000 + s) as u8;
    out.extend((0..len).map(|i| seed.wrapping_add((i % 251) as u8)));
    Bytes::from(out)
}

/// The write a value came from, if the value is exactly what that write wrote.
fn parse(value: &[u8], len: impl Fn(usize, usize) -> usize) -> Option<(usize, usize)> {
    let header = value.get(..value.len().min(24))?;
    let colons: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b':')
        .map(|(i, _)| i)
        .take(2)
        .collect();
    let [first, second] = colons[..] else {
        return None;
    };
    let number = |bytes: &[u8]| std::str::from_utf8(bytes).ok()?.parse::<usize>().ok();
    let w = number(header.get(1..first)?)?;
    let s = number(header.get(first + 2..second)?)?;
    (tagged(w, s, len(w, s)).as_ref() == value).then_some((w, s))
}

/// One completed put: which write, when it ran, and the version it returned.
#[derive(Debug, Clone, Copy)]
struct Write {
    tag: (usize, usize),
    start: Instant,
    end: Instant,
    version: Version,
}

/// The final value of a key must come from a write that no other write of the key
/// started after (the last writer wins, in real-time order), with that write's version.
fn check_last_writer(key: &str, writes: &[Write], tag: (usize, usize), version: Option<Version>) {
    let Some(winner) = writes.iter().find(|w| w.tag == tag) else {
        panic!("{key}: holds {tag:?}, which no write wrote");
    };
    assert_eq!(
        version,
        Some(winner.version),
        "{key}: value of {tag:?} with another write's version"
    );
    if let Some(later) = writes.iter().find(|w| w.start > winner.end) {
        panic!(
            "{key}: holds {tag:?}, but {:?} started after it had finished (last writer lost)",
            later.tag
        );
    }
}

/// Eight writers put small values with metadata to six overlapping keys while two
/// readers read them: every read is a whole value with its own metadata, and each
/// key ends with a last write and that write's version.
pub async fn concurrent_writers_last_write_wins<T: Target>(t: T) {
    const WRITERS: usize = 8;
    const WRITES: usize = 40;
    const KEYS: usize = 6;
    let h = Harness::new(t).await;
    let len = |w: usize, s: usize| 10 + (w * 37 + s * 11) % 200;
    let log: Arc<Mutex<HashMap<String, Vec<Write>>>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    bounded("concurrent writers", async {
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let (store, log) = (h.store.clone(), Arc::clone(&log));
            writers.push(tokio::spawn(async move {
                let mut rng = Rng::new(w as u64);
                for s in 0..WRITES {
                    let key = format!("k{}", rng.below(KEYS));
                    let start = Instant::now();
                    let version = store
                        .put(key.clone(), tagged(w, s, len(w, s)))
                        .metadata(json!({ "w": w, "s": s }))
                        .await
                        .unwrap();
                    let write = Write {
                        tag: (w, s),
                        start,
                        end: Instant::now(),
                        version,
                    };
                    let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
                    log.entry(key).or_default().push(write);
                }
            }));
        }
        let mut readers = Vec::new();
        for r in 0..2 {
            let (store, done) = (h.store.clone(), Arc::clone(&done));
            readers.push(tokio::spawn(async move {
                let mut rng = Rng::new(100 + r);
                let mut seen = Vec::new();
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let key = format!("k{}", rng.below(KEYS));
                    let got = store.get_with_metadata(key.clone()).bytes().await.unwrap();
                    let Some(value) = got.value else { continue };
                    let tag = parse(&value, len).unwrap_or_else(|| {
                        panic!("{key}: a torn or foreign value of {} bytes", value.len())
                    });
                    assert_eq!(
                        got.metadata,
                        Some(json!({ "w": tag.0, "s": tag.1 })),
                        "{key}: the metadata of another write than the value's"
                    );
                    seen.push((key, tag, got.version));
                }
                seen
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let log = log.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for reader in readers {
            for (key, tag, version) in reader.await.unwrap() {
                let write = log[&key].iter().find(|w| w.tag == tag).unwrap();
                assert_eq!(
                    version,
                    Some(write.version),
                    "{key}: {tag:?} read with another version"
                );
            }
        }
        for (key, writes) in &log {
            let got = h
                .store
                .get_with_metadata(key.clone())
                .bytes()
                .await
                .unwrap();
            let value = got.value.unwrap();
            let tag = parse(&value, len).unwrap_or_else(|| panic!("{key}: torn value"));
            check_last_writer(key, writes, tag, got.version);
        }
    })
    .await;
}

fn streamed(value: Bytes) -> Body {
    let pieces: Vec<Result<Bytes, Infallible>> = value
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Body::from_stream(stream::iter(pieces))
}

/// Values of several chunks, written as streams by four writers to two keys while
/// readers read them whole and as streams: every read is one writer's whole value.
pub async fn chunked_values_never_tear<T: Target>(t: T) {
    const WRITERS: usize = 4;
    const WRITES: usize = 3;
    let h = Harness::new(t).await;
    let len = |w: usize, s: usize| 2 * CHUNK_BYTES + 1_000 * w + 7 * s;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    bounded("chunked writers", async {
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let store = h.store.clone();
            writers.push(tokio::spawn(async move {
                let mut log = Vec::new();
                for s in 0..WRITES {
                    let key = format!("big{}", (w + s) % 2);
                    let start = Instant::now();
                    let version = store
                        .put(key.clone(), streamed(tagged(w, s, len(w, s))))
                        .await
                        .unwrap();
                    let end = Instant::now();
                    log.push((
                        key,
                        Write {
                            tag: (w, s),
                            start,
                            end,
                            version,
                        },
                    ));
                }
                log
            }));
        }
        let mut readers = Vec::new();
        for r in 0..2usize {
            let (store, done) = (h.store.clone(), Arc::clone(&done));
            readers.push(tokio::spawn(async move {
                let mut reads = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                    let key = format!("big{}", reads % 2);
                    reads += 1;
                    let value = if (reads + r) % 2 == 0 {
                        store.get(key.clone()).bytes().await.unwrap()
                    } else {
                        match store.get(key.clone()).stream().await.unwrap() {
                            Some(s) => Some(Bytes::from(
                                s.try_collect::<Vec<Bytes>>().await.unwrap().concat(),
                            )),
                            None => None,
                        }
                    };
                    if let Some(value) = value {
                        assert!(
                            parse(&value, len).is_some(),
                            "{key}: a torn value of {} bytes",
                            value.len()
                        );
                    }
                }
            }));
        }
        let mut log: HashMap<String, Vec<Write>> = HashMap::new();
        for writer in writers {
            for (key, write) in writer.await.unwrap() {
                log.entry(key).or_default().push(write);
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        for reader in readers {
            reader.await.unwrap();
        }
        for (key, writes) in &log {
            let got = h
                .store
                .get_with_metadata(key.clone())
                .bytes()
                .await
                .unwrap();
            let tag = parse(&got.value.unwrap(), len).unwrap_or_else(|| panic!("{key}: torn"));
            check_last_writer(key, writes, tag, got.version);
        }
    })
    .await;
}

/// Walks every key in pages of seven while writers put and delete keys between the
/// stable ones: no walk returns a key twice or out of order, and every walk returns
/// every key that existed throughout it.
pub async fn list_walks_never_repeat_keys_under_writes<T: Target>(t: T) {
    let h = Harness::new(t).await;
    let stable: Vec<String> = (0..60).map(|i| format!("k{:03}", 2 * i)).collect();
    h.store
        .put_many(stable.iter().map(|k| (k.clone(), "stable")))
        .await
        .unwrap();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    bounded("listing under writes", async {
        let mut churn = Vec::new();
        for w in 0..3u64 {
            let (store, done) = (h.store.clone(), Arc::clone(&done));
            churn.push(tokio::spawn(async move {
                let mut rng = Rng::new(w + 7);
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let key = format!("k{:03}", 2 * rng.below(60) + 1);
                    if rng.below(2) == 0 {
                        store.put(key, "churn").await.unwrap();
                    } else {
                        store.delete(key).await.unwrap();
                    }
                }
            }));
        }
        for walk in 0..8 {
            let names = walk_all(&h.store, 7).await;
            for pair in names.windows(2) {
                assert!(
                    pair[0] < pair[1],
                    "walk {walk}: {:?} then {:?} (a repeat or out of order)",
                    pair[0],
                    pair[1]
                );
            }
            for key in &stable {
                assert!(names.contains(key), "walk {walk}: stable key {key} missing");
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in churn {
            task.await.unwrap();
        }
    })
    .await;
}

async fn walk_all(store: &KvStore, limit: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = store.list().limit(limit).cursor(cursor).await.unwrap();
        names.extend(page.keys.into_iter().map(|k| k.name));
        match page.cursor {
            Some(next) => cursor = next,
            None => return names,
        }
    }
}
