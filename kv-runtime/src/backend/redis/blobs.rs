//! Chunked values: a value larger than a chunk, or streamed, is written as chunks of
//! [`CHUNK_BYTES`] under a fresh blob id as it arrives — each with a staging TTL, so
//! that the chunks of a put that fails or is cancelled expire by themselves — and then
//! made the record's value by the put script, which checks that every chunk is there.
//! A replaced or removed value's chunks get a short grace TTL (see `common.lua`), so
//! reads in progress finish; a read that finds a chunk gone fails instead of mixing
//! two versions.

use std::hash::{BuildHasher as _, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt as _, future::ready};

use super::NAME;
use super::connection::Redis;
use super::layout::Shard;
use crate::backend::ByteStream;
use crate::error::{Error, Result};

/// Values up to this size are stored inline in their record; larger ones in chunks of
/// this size: 256 KiB.
pub(super) const CHUNK_BYTES: usize = 256 * 1024;

/// How long the chunks of a put that has not committed yet live: time for the rest of
/// the value to arrive. The commit replaces it with the record's own backstop.
const STAGING_TTL_SECS: u64 = 3600;

/// How many chunks a read asks for ahead of the one it streams.
const READ_AHEAD: usize = 2;

/// A value ready for the put script.
#[derive(Debug)]
pub(super) enum Staged {
    /// Small enough to live in the record.
    Inline(Bytes),
    /// In chunks, written already.
    Blob(Blob),
}

/// The chunks of a value: `chunks` keys under `id`, `len` bytes in all.
#[derive(Debug, Clone)]
pub(super) struct Blob {
    pub(super) id: String,
    pub(super) len: u64,
    pub(super) chunks: u64,
}

/// A blob id no other put uses: 128 random bits, in hex.
fn new_blob_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = (n, nanos, std::process::id());
    let (a, b) = (
        RandomState::new().hash_one(seed),
        RandomState::new().hash_one(seed),
    );
    format!("{a:016x}{b:016x}")
}

/// Writes the chunks of one value, one at a time.
struct Writer<'a> {
    redis: &'a Redis,
    shard: &'a Shard,
    blob: Blob,
}

impl<'a> Writer<'a> {
    fn new(redis: &'a Redis, shard: &'a Shard) -> Self {
        Self {
            redis,
            shard,
            blob: Blob {
                id: new_blob_id(),
                len: 0,
                chunks: 0,
            },
        }
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let key = self.shard.chunk(&self.blob.id, self.blob.chunks);
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(chunk).arg("EX").arg(STAGING_TTL_SECS);
        self.redis.query::<()>(&cmd).await?;
        self.blob.chunks += 1;
        self.blob.len += chunk.len() as u64;
        Ok(())
    }

    /// Removes what was written, best effort (the staging TTL removes it otherwise).
    async fn abandon(self) {
        discard(self.redis, self.shard, &self.blob).await;
    }
}

/// `bytes`, inline if small, in chunks otherwise.
pub(super) async fn stage_bytes(redis: &Redis, shard: &Shard, bytes: Bytes) -> Result<Staged> {
    if bytes.len() <= CHUNK_BYTES {
        return Ok(Staged::Inline(bytes));
    }
    let mut writer = Writer::new(redis, shard);
    for chunk in bytes.chunks(CHUNK_BYTES) {
        if let Err(err) = writer.write(chunk).await {
            writer.abandon().await;
            return Err(err);
        }
    }
    Ok(Staged::Blob(writer.blob))
}

/// A stream's bytes, written chunk by chunk as they arrive: memory holds at most a
/// chunk plus the stream's latest item. A stream that fails (or passes the store's
/// size limit) writes nothing that stays.
pub(super) async fn stage_stream(
    redis: &Redis,
    shard: &Shard,
    mut stream: ByteStream,
) -> Result<Staged> {
    let mut writer = Writer::new(redis, shard);
    let mut buffer = BytesMut::new();
    loop {
        let item = match stream.next().await {
            Some(Ok(item)) => item,
            Some(Err(err)) => {
                writer.abandon().await;
                return Err(err);
            }
            None => break,
        };
        buffer.extend_from_slice(&item);
        // A full chunk goes out only once more bytes follow it: a value of at most a
        // chunk stays inline.
        while buffer.len() > CHUNK_BYTES {
            let chunk = buffer.split_to(CHUNK_BYTES);
            if let Err(err) = writer.write(&chunk).await {
                writer.abandon().await;
                return Err(err);
            }
        }
    }
    if writer.blob.chunks == 0 {
        return Ok(Staged::Inline(buffer.freeze()));
    }
    if let Err(err) = writer.write(&buffer).await {
        writer.abandon().await;
        return Err(err);
    }
    Ok(Staged::Blob(writer.blob))
}

/// Deletes a blob's chunks, best effort: chunks left behind expire.
pub(super) async fn discard(redis: &Redis, shard: &Shard, blob: &Blob) {
    if blob.chunks == 0 {
        return;
    }
    let mut cmd = redis::cmd("DEL");
    for n in 0..blob.chunks {
        cmd.arg(shard.chunk(&blob.id, n));
    }
    if let Err(error) = redis.query::<()>(&cmd).await {
        tracing::debug!(%error, "removing the chunks of a failed put failed; they expire");
    }
}

/// The bytes of `key`'s blob, a chunk at a time (a couple read ahead). Fails, and
/// ends, at the first chunk that is gone: the value was replaced or removed and its
/// grace period is over.
pub(super) fn read(redis: Redis, shard: Shard, key: String, blob: Blob) -> ByteStream {
    let chunks = futures_util::stream::iter(0..blob.chunks).map(move |n| {
        let (redis, chunk) = (redis.clone(), shard.chunk(&blob.id, n));
        let key = key.clone();
        async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(chunk);
            let bytes: Option<Vec<u8>> = redis.query(&cmd).await?;
            bytes.map(Bytes::from).ok_or_else(|| {
                Error::backend(
                    NAME,
                    format!(
                        "the value of {key:?} was replaced or removed while it was read \
                         (chunk {n} is gone)"
                    ),
                )
            })
        }
    });
    let stop_after_error = chunks.buffered(READ_AHEAD).scan(false, |failed, item| {
        if *failed {
            return ready(None);
        }
        *failed = item.is_err();
        ready(Some(item))
    });
    Box::pin(stop_after_error)
}
