//! What a crash trial writes: operations on a few keys per writer (small values, values
//! in chunks, streamed values, bulk puts and deletes, deletes, overwrites), and values
//! that are unique to their operation and key, so that a torn value, or one mixed from
//! two writes, cannot pass for a whole one.
//!
//! A value is `kv-crash op=<id> key=<key> len=<len>;` followed by bytes drawn from a
//! generator seeded by the operation and the key, `len` bytes in all. Its metadata is
//! `{"op": id, "key": key}` (or none) and its expiration `EXPIRATION_BASE + id` (or
//! none), so value, metadata and expiration each say which write they came from.
//!
//! Shared by the crash harness and by `tests/server_killed.rs`.

use bytes::Bytes;
use kv_runtime::{Body, BulkPut, KvStore, Version};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The clock of every trial (a `ManualClock`): nothing ever expires during a trial.
pub(crate) const T0: u64 = 1_700_000_000;
/// Expirations are `EXPIRATION_BASE + op id`: about eleven days after `T0`.
pub(crate) const EXPIRATION_BASE: u64 = T0 + 1_000_000;
/// The size above which a value is stored in chunks (the fjall backend's, PostgreSQL's
/// and Redis's alike).
pub(crate) const CHUNK_BYTES: u64 = 256 * 1024;

/// A small, fast, seedable generator (SplitMix64): deterministic from its seed.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `range` (which must not be empty).
    pub(crate) fn below(&mut self, end: u64) -> u64 {
        self.next_u64() % end.max(1)
    }

    pub(crate) fn between(&mut self, start: u64, end: u64) -> u64 {
        start + self.below(end - start)
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One key's part of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Write {
    /// A value of `len` bytes, with metadata and an expiration if asked; a single put
    /// may send it as a stream.
    Put {
        key: String,
        len: u64,
        metadata: bool,
        expires: bool,
        stream: bool,
    },
    Delete {
        key: String,
    },
}

impl Write {
    pub(crate) fn key(&self) -> &str {
        match self {
            Self::Put { key, .. } | Self::Delete { key } => key,
        }
    }
}

/// An operation: one write (`put`, `delete`), or several (`put_many`, `delete_many`:
/// all puts or all deletes, distinct keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Op {
    pub(crate) id: u64,
    pub(crate) bulk: bool,
    pub(crate) writes: Vec<Write>,
}

/// The keys writer `writer` owns: each key is written by one writer only, one
/// operation at a time, so each key's history is a sequence.
pub(crate) fn keys_of(writer: u64, per_writer: u64) -> Vec<String> {
    (0..per_writer).map(|k| format!("w{writer}/k{k}")).collect()
}

/// A value length: mostly small, some exactly at and just over the chunk size, many
/// chunked (up to six chunks).
fn random_len(rng: &mut Rng, large_percent: u64) -> u64 {
    match rng.below(100) {
        n if n < 5 => CHUNK_BYTES + rng.below(2),
        n if n < 5 + large_percent => rng.between(CHUNK_BYTES + 2, 6 * CHUNK_BYTES),
        _ => rng.between(64, 4096),
    }
}

impl Op {
    /// A random operation with id `id` on some of `keys`. `large_percent` of the puts
    /// are chunked.
    pub(crate) fn random(rng: &mut Rng, id: u64, keys: &[String], large_percent: u64) -> Self {
        let key = |rng: &mut Rng| keys[rng.below(keys.len() as u64) as usize].clone();
        let put = |rng: &mut Rng, key: String, stream: bool| Write::Put {
            len: random_len(rng, large_percent),
            metadata: rng.chance(50),
            expires: rng.chance(30),
            stream,
            key,
        };
        let pick = |rng: &mut Rng| {
            let mut picked: Vec<String> = keys.to_vec();
            let n = rng.between(2, 5).min(picked.len() as u64) as usize;
            for i in 0..n {
                let j = i + rng.below((picked.len() - i) as u64) as usize;
                picked.swap(i, j);
            }
            picked.truncate(n);
            picked
        };
        let (bulk, writes) = match rng.below(100) {
            n if n < 55 => {
                let k = key(rng);
                (false, vec![put(rng, k, false)])
            }
            n if n < 65 => {
                let k = key(rng);
                let mut write = put(rng, k, true);
                if let Write::Put { len, .. } = &mut write {
                    *len = rng.between(CHUNK_BYTES / 2, 5 * CHUNK_BYTES);
                }
                (false, vec![write])
            }
            n if n < 77 => {
                let writes = pick(rng).into_iter().map(|k| put(rng, k, false)).collect();
                (true, writes)
            }
            n if n < 93 => (false, vec![Write::Delete { key: key(rng) }]),
            _ => {
                let writes = pick(rng)
                    .into_iter()
                    .map(|key| Write::Delete { key })
                    .collect();
                (true, writes)
            }
        };
        Self { id, bulk, writes }
    }

    /// Runs the operation; the new versions of its puts, in order.
    pub(crate) async fn run(&self, store: &KvStore) -> kv_runtime::Result<Vec<Version>> {
        if self.bulk && matches!(self.writes.first(), Some(Write::Delete { .. })) {
            let keys = self.writes.iter().map(|w| w.key().to_owned());
            store.delete_many(keys).await?;
            return Ok(Vec::new());
        }
        if self.bulk {
            let items = self.writes.iter().map(|write| {
                let Write::Put {
                    key,
                    len,
                    metadata,
                    expires,
                    ..
                } = write
                else {
                    unreachable!("a bulk put has puts only");
                };
                let mut item = BulkPut::new(key.clone(), value(self.id, key, *len).to_vec());
                if *metadata {
                    item = item.metadata(metadata_of(self.id, key));
                }
                if *expires {
                    item = item.expiration(expiration_of(self.id));
                }
                item
            });
            return store.put_many(items.collect::<Vec<_>>()).await;
        }
        match &self.writes[..] {
            [Write::Delete { key }] => {
                store.delete(key.clone()).await?;
                Ok(Vec::new())
            }
            [
                Write::Put {
                    key,
                    len,
                    metadata,
                    expires,
                    stream,
                },
            ] => {
                let bytes = value(self.id, key, *len);
                let body = if *stream {
                    Body::from_stream(pieces(bytes, self.id))
                } else {
                    Body::from(bytes)
                };
                let mut put = store.put(key.clone(), body);
                if *metadata {
                    put = put.metadata(metadata_of(self.id, key));
                }
                if *expires {
                    put = put.expiration(expiration_of(self.id));
                }
                Ok(vec![put.await?])
            }
            other => unreachable!("an operation of {} writes is a bulk one", other.len()),
        }
    }
}

/// `bytes` as a stream of pieces of uneven sizes, as a network body arrives.
fn pieces(
    bytes: Bytes,
    seed: u64,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let mut rng = Rng::new(seed);
    let mut rest = bytes;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let n = rng.between(1, 200 * 1024).min(rest.len() as u64) as usize;
        out.push(Ok(rest.split_to(n)));
    }
    futures_util::stream::iter(out)
}

fn header(op: u64, key: &str, len: u64) -> String {
    format!("kv-crash op={op} key={key} len={len};")
}

/// The value operation `op` writes under `key`: `len` bytes (at least its header).
pub(crate) fn value(op: u64, key: &str, len: u64) -> Bytes {
    let header = header(op, key, len);
    let len = (len as usize).max(header.len());
    let mut out = Vec::with_capacity(len + 8);
    out.extend_from_slice(header.as_bytes());
    let mut rng = Rng::new(op.rotate_left(17) ^ fnv(key.as_bytes()));
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// The operation, key and length a value's header names, if it has one.
pub(crate) fn parse_header(value: &[u8]) -> Option<(u64, String, u64)> {
    let end = value.iter().take(200).position(|b| *b == b';')?;
    let text = std::str::from_utf8(&value[..end]).ok()?;
    let rest = text.strip_prefix("kv-crash op=")?;
    let (op, rest) = rest.split_once(" key=")?;
    let (key, len) = rest.rsplit_once(" len=")?;
    Some((op.parse().ok()?, key.to_owned(), len.parse().ok()?))
}

pub(crate) fn metadata_of(op: u64, key: &str) -> serde_json::Value {
    json!({ "op": op, "key": key })
}

pub(crate) fn expiration_of(op: u64) -> u64 {
    EXPIRATION_BASE + op
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
