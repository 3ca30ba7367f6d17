//! Chunked values: staging a large or streamed value in chunks under a pending marker,
//! removing a replaced value's chunks, reclaiming an interrupted put's, and reading
//! chunks from a snapshot.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::{Bytes, BytesMut};
use fjall::{Readable as _, Snapshot};
use futures_util::StreamExt as _;

use super::codec::{self, BlobRef};
use super::database::BLOB_MEMTABLE_BYTES;
use super::{CHUNK_BYTES, Inner, NAME, blocking, fjall_error};
use crate::backend::ByteStream;
use crate::error::{Error, Result};

/// How many sealed chunk memtables may wait to be flushed before a streaming put
/// waits for them.
const MAX_SEALED_MEMTABLES: usize = 2;

/// How often a waiting put looks at the flush queue again.
const FLUSH_POLL: std::time::Duration = std::time::Duration::from_millis(2);

/// How long a put waits for a flush before it fails instead of hanging.
const FLUSH_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// A value ready to be committed: inline bytes, or chunks already in the blob keyspace.
pub(super) enum Staged {
    Inline(Bytes),
    Blob(PendingBlob),
}

/// Chunks written under a pending marker. Dropping it before it is marked committed
/// (an error, a refused condition, a cancelled future) removes the chunks and the marker.
pub(super) struct PendingBlob {
    inner: Arc<Inner>,
    pub(super) id: u64,
    len: u64,
    chunks: u32,
    pub(super) committed: bool,
}

impl PendingBlob {
    pub(super) fn reference(&self) -> BlobRef {
        BlobRef {
            id: self.id,
            len: self.len,
            chunks: self.chunks,
        }
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if let Err(error) = self.inner.discard_blob(self.id, self.chunks) {
            tracing::warn!(%error, blob = self.id, "removing the chunks of a failed put failed; they are reclaimed when the store next opens");
        }
    }
}

impl Inner {
    /// Removes the chunks and pending markers of puts that never committed: at open,
    /// every marker belongs to a process that is gone. Then starts blob ids after the
    /// largest one in use.
    pub(super) fn reclaim_interrupted_blobs(&self) -> Result<()> {
        let mut markers = Vec::new();
        for guard in self.blobs.prefix([codec::PENDING_TAG]) {
            markers.push(guard.key().map_err(fjall_error)?);
        }
        for marker in markers {
            if let Some(id) = codec::pending_id(&marker) {
                tracing::info!(blob = id, "reclaiming the chunks of an interrupted put");
                let mut batch = self.db.batch();
                for guard in self.blobs.prefix(codec::chunk_prefix(id)) {
                    batch.remove(&self.blobs, guard.key().map_err(fjall_error)?);
                }
                batch.remove(&self.blobs, marker);
                batch.commit().map_err(fjall_error)?;
            }
        }
        let last = match self.blobs.prefix([codec::CHUNK_TAG]).next_back() {
            Some(guard) => codec::chunk_id(&guard.key().map_err(fjall_error)?).unwrap_or(0),
            None => 0,
        };
        self.next_blob.store(last + 1, Ordering::SeqCst);
        let any = self.blobs.prefix([codec::REFERENCE_TAG]).next().is_some();
        self.has_references.store(any, Ordering::SeqCst);
        Ok(())
    }

    pub(super) fn new_blob(self: &Arc<Self>) -> Result<PendingBlob> {
        let id = self.next_blob.fetch_add(1, Ordering::SeqCst);
        self.blobs
            .insert(codec::pending_key(id), Bytes::new())
            .map_err(fjall_error)?;
        Ok(PendingBlob {
            inner: Arc::clone(self),
            id,
            len: 0,
            chunks: 0,
            committed: false,
        })
    }

    pub(super) fn write_chunk(&self, blob: &mut PendingBlob, chunk: Bytes) -> Result<()> {
        let len = chunk.len() as u64;
        self.unrotated_chunk_bytes.fetch_add(len, Ordering::Relaxed);
        self.blobs
            .insert(codec::chunk_key(blob.id, blob.chunks), chunk)
            .map_err(fjall_error)?;
        blob.chunks += 1;
        blob.len += len;
        Ok(())
    }

    fn discard_blob(&self, id: u64, chunks: u32) -> Result<()> {
        let mut batch = self.db.batch();
        for index in 0..chunks {
            batch.remove(&self.blobs, codec::chunk_key(id, index));
        }
        batch.remove(&self.blobs, codec::pending_key(id));
        batch.commit().map_err(fjall_error)
    }

    /// Inline for small values; chunks for large ones.
    pub(super) fn stage_bytes(self: &Arc<Self>, value: Bytes) -> Result<Staged> {
        if value.len() <= CHUNK_BYTES {
            return Ok(Staged::Inline(value));
        }
        let mut blob = self.new_blob()?;
        let mut rest = value;
        while !rest.is_empty() {
            let chunk = rest.split_to(rest.len().min(CHUNK_BYTES));
            self.write_chunk(&mut blob, chunk)?;
        }
        Ok(Staged::Blob(blob))
    }

    /// Reads a stream into chunks as it arrives, holding at most one chunk (plus one
    /// item of the stream) in memory. A stream that ends within one chunk is inline.
    pub(super) async fn stage_stream(self: &Arc<Self>, mut stream: ByteStream) -> Result<Staged> {
        // One allocation of exactly a chunk per chunk: growing a buffer by doubling
        // leaves freed blocks of every size behind, which the allocator holds on to.
        let mut buffer = BytesMut::with_capacity(CHUNK_BYTES);
        let mut blob: Option<PendingBlob> = None;
        while let Some(item) = stream.next().await {
            let mut item = item?;
            while !item.is_empty() {
                let take = item.len().min(CHUNK_BYTES - buffer.len());
                buffer.extend_from_slice(&item.split_to(take));
                if buffer.len() == CHUNK_BYTES {
                    let blob = match &mut blob {
                        Some(blob) => blob,
                        None => blob.insert(self.new_blob()?),
                    };
                    self.write_chunk(blob, buffer.split().freeze())?;
                    buffer.reserve(CHUNK_BYTES);
                    self.pace().await?;
                }
            }
        }
        match blob {
            None => Ok(Staged::Inline(buffer.freeze())),
            Some(mut blob) => {
                if !buffer.is_empty() {
                    self.write_chunk(&mut blob, buffer.freeze())?;
                }
                Ok(Staged::Blob(blob))
            }
        }
    }

    /// Keeps a streaming put to the disk's pace, and its memory to a few chunk
    /// memtables (the active one and at most [`MAX_SEALED_MEMTABLES`] being flushed).
    ///
    /// fjall bounds neither: a full memtable is only *requested* to rotate, by a message
    /// to its worker threads, which lag behind (or drop the message) while they flush,
    /// so the active memtable grows past its size; and up to four sealed memtables may
    /// queue. A 1 GiB upload peaked at 120 MiB of live chunks that way (275 MiB of RSS
    /// under glibc's allocator; 40–48 MiB with this pacing). So the chunk memtable is
    /// rotated here once it holds its size, and a put waits while earlier sealed ones
    /// are still being flushed.
    async fn pace(self: &Arc<Self>) -> Result<()> {
        let full = self.unrotated_chunk_bytes.load(Ordering::Relaxed) >= BLOB_MEMTABLE_BYTES;
        if !full && self.blobs.sealed_memtable_count() <= MAX_SEALED_MEMTABLES {
            return Ok(());
        }
        let inner = Arc::clone(self);
        blocking(move || {
            if inner.unrotated_chunk_bytes.swap(0, Ordering::Relaxed) >= BLOB_MEMTABLE_BYTES {
                inner.blobs.rotate_memtable().map_err(fjall_error)?;
            }
            let started = std::time::Instant::now();
            while inner.blobs.sealed_memtable_count() > MAX_SEALED_MEMTABLES {
                if started.elapsed() > FLUSH_PATIENCE {
                    return Err(Error::backend(
                        NAME,
                        format!(
                            "chunks have not been flushed to disk for {} s (is the disk full?)",
                            FLUSH_PATIENCE.as_secs()
                        ),
                    ));
                }
                std::thread::sleep(FLUSH_POLL);
            }
            Ok(())
        })
        .await
    }

    /// Adds to `batch` the removal of `key`'s chunks, if its value is chunked. The
    /// caller holds the key's stripe.
    ///
    /// Which keys have chunks is known from the blob-reference entries in the blob
    /// keyspace, not from the record: a write then costs a lookup in a small keyspace
    /// (memtable and bloom filters) rather than a read of the key's old record, which
    /// may be on disk — and no lookup at all while no value has ever been chunked.
    pub(super) fn remove_chunks(
        &self,
        batch: &mut fjall::OwnedWriteBatch,
        key: &str,
    ) -> Result<()> {
        if !self.has_references.load(Ordering::SeqCst) {
            return Ok(());
        }
        let reference = codec::reference_key(key);
        if let Some(raw) = self.blobs.get(&reference).map_err(fjall_error)? {
            let blob = codec::decode_reference(&raw)?;
            for index in 0..blob.chunks {
                batch.remove(&self.blobs, codec::chunk_key(blob.id, index));
            }
            batch.remove(&self.blobs, reference);
        }
        Ok(())
    }

    /// Adds to `batch` what commits `blob` as `key`'s value: its reference, and the
    /// removal of its pending marker. The caller holds the key's stripe.
    pub(super) fn adopt_blob(
        &self,
        batch: &mut fjall::OwnedWriteBatch,
        key: &str,
        blob: &PendingBlob,
    ) {
        // Before the batch commits, and under the key's stripe: a put that takes this
        // stripe after us sees the flag and looks for chunks.
        self.has_references.store(true, Ordering::SeqCst);
        batch.remove(&self.blobs, codec::pending_key(blob.id));
        batch.insert(
            &self.blobs,
            codec::reference_key(key),
            codec::encode_reference(&blob.reference()),
        );
    }
}

/// How many chunks one trip to the blocking pool reads: enough to amortize the trip,
/// few enough to keep a reader's memory at about a megabyte.
const CHUNKS_PER_READ: u32 = 4;

/// The chunks of `blob`, read from `snapshot` a few at a time.
pub(super) fn chunk_stream(inner: Arc<Inner>, snapshot: Snapshot, blob: BlobRef) -> ByteStream {
    struct State {
        inner: Arc<Inner>,
        snapshot: Snapshot,
        next: u32,
        read: u64,
        ready: VecDeque<Bytes>,
    }
    let state = State {
        inner,
        snapshot,
        next: 0,
        read: 0,
        ready: VecDeque::new(),
    };
    futures_util::stream::try_unfold(state, move |mut state| async move {
        if state.ready.is_empty() && state.next < blob.chunks {
            let end = blob.chunks.min(state.next.saturating_add(CHUNKS_PER_READ));
            let (first, inner, snapshot) = (state.next, state.inner, state.snapshot);
            let (chunks, inner, snapshot) = blocking(move || {
                let chunks = (first..end)
                    .map(|index| {
                        snapshot
                            .get(&inner.blobs, codec::chunk_key(blob.id, index))
                            .map_err(fjall_error)?
                            .map(Bytes::from)
                            .ok_or_else(|| {
                                Error::backend(NAME, "a chunk of a stored value is missing")
                            })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok((chunks, inner, snapshot))
            })
            .await?;
            state.inner = inner;
            state.snapshot = snapshot;
            state.next = end;
            state.ready.extend(chunks);
        }
        match state.ready.pop_front() {
            Some(chunk) => {
                state.read += chunk.len() as u64;
                Ok(Some((chunk, state)))
            }
            None if state.read == blob.len => Ok(None),
            None => Err(Error::backend(
                NAME,
                "stored value is shorter than its record says",
            )),
        }
    })
    .boxed()
}
