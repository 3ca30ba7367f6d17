//! The fjall backend: one fjall `Database` per runtime and, per store, three keyspaces:
//!
//! - `{store}`: one record per key: value (or a reference to its chunks), expiration
//!   and metadata, encoded together (see [`codec`]) so a put replaces all three
//!   atomically;
//! - `{store}.expiry`: `expiration ++ key` for every record with an expiration, written
//!   in the same batch as the record. [`Inner::purge`] walks it up to now, so expired
//!   data leaves the disk in time proportional to what expired;
//! - `{store}.blobs`: values larger than [`CHUNK_BYTES`] and streamed values, as chunks
//!   of that size under a blob id, plus a *pending* marker per blob still being written.
//!   A blob becomes visible only when the batch that writes its record commits (and
//!   removes its marker); a failed or cancelled put removes its chunks, and a marker
//!   found when a store opens belongs to a put that a crash interrupted, whose chunks
//!   are removed then. This keyspace uses fjall's key-value separation, so chunk bytes
//!   go to blob files and are not rewritten by every compaction, and a small memtable,
//!   so writing a large value holds little of it in memory.
//!
//! Point reads and buffered writes call fjall directly: they touch the memtable, the
//! block cache and the journal's OS buffer, and cost about a microsecond, far less than
//! a hop to tokio's blocking pool (see the `vs_fjall` bench). Work that can take long —
//! listing a page, reading chunks, purging, fsync — runs through [`blocking`].

use std::hash::{BuildHasher as _, RandomState};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::{Bytes, BytesMut};
use fjall::{
    Database, Keyspace, KeyspaceCreateOptions, KvSeparationOptions, PersistMode, Readable as _,
    Snapshot,
};
use futures_util::StreamExt as _;
use futures_util::future::{BoxFuture, FutureExt as _};

use super::group_sync::GroupSync;
use super::{Backend, BulkItem, ListPage, ListQuery, ListedKey, Record, RecordHead, StoredValue};
use crate::config::Durability;
use crate::error::{Error, Result};
use crate::expiration::is_expired;
use crate::limits::CHUNK_BYTES;
use crate::value::{ByteStream, Payload};

const NAME: &str = "fjall";

/// Memtable size of a store's blob keyspace: small, so that streaming a large value
/// through it keeps little of the value in memory.
const BLOB_MEMTABLE_BYTES: u64 = 8 * 1024 * 1024;

fn fjall_error(err: fjall::Error) -> Error {
    Error::backend(NAME, err)
}

/// Runs blocking work `f` off the async workers: with `block_in_place` on a
/// multi-thread tokio runtime (tokio moves the worker's other tasks elsewhere, and `f`
/// keeps this thread's warm caches), on the blocking pool on a current-thread runtime,
/// and inline outside tokio (so the backend never panics under another executor).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        Ok(handle) => handle
            .spawn_blocking(f)
            .await
            .map_err(|join| Error::backend(NAME, join))?,
        Err(_) => f(),
    }
}

/// A runtime's fjall database.
#[derive(Clone)]
pub(crate) struct FjallDatabase {
    db: Database,
    path: PathBuf,
    group_sync: Arc<GroupSync>,
}

impl std::fmt::Debug for FjallDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallDatabase")
            .field("path", &self.path)
            .finish()
    }
}

impl FjallDatabase {
    /// Opens (creating if needed) the database in `path` with a block cache of
    /// `cache_bytes`.
    pub(crate) async fn open(path: &Path, cache_bytes: u64) -> Result<Self> {
        let path = path.to_path_buf();
        blocking(move || {
            std::fs::create_dir_all(&path).map_err(|e| Error::backend(NAME, e))?;
            let db = Database::builder(&path)
                .cache_size(cache_bytes)
                .open()
                .map_err(|err| match err {
                    fjall::Error::Locked => Error::Locked { path: path.clone() },
                    other => fjall_error(other),
                })?;
            let group_sync = Arc::new(GroupSync::new(db.clone()));
            Ok(Self {
                db,
                path,
                group_sync,
            })
        })
        .await
    }

    /// The backend for store `name` (a validated store name). Reclaims the chunks of
    /// any put that a crash interrupted.
    pub(crate) fn store(&self, name: &str, durability: Durability) -> Result<FjallBackend> {
        let data = self
            .db
            .keyspace(name, KeyspaceCreateOptions::default)
            .map_err(fjall_error)?;
        let expiry = self
            .db
            .keyspace(&format!("{name}.expiry"), KeyspaceCreateOptions::default)
            .map_err(fjall_error)?;
        let blobs = self
            .db
            .keyspace(&format!("{name}.blobs"), || {
                KeyspaceCreateOptions::default()
                    .with_kv_separation(Some(KvSeparationOptions::default()))
                    .max_memtable_size(BLOB_MEMTABLE_BYTES)
            })
            .map_err(fjall_error)?;
        let inner = Inner {
            db: self.db.clone(),
            data,
            expiry,
            blobs,
            durability,
            group_sync: Arc::clone(&self.group_sync),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: RandomState::new(),
            next_blob: AtomicU64::new(0),
            has_references: std::sync::atomic::AtomicBool::new(true),
        };
        inner.reclaim_interrupted_blobs()?;
        Ok(FjallBackend {
            inner: Arc::new(inner),
        })
    }

    /// Writes everything buffered to disk.
    pub(crate) async fn flush(&self) -> Result<()> {
        let db = self.db.clone();
        blocking(move || db.persist(PersistMode::SyncAll).map_err(fjall_error)).await
    }
}

/// Writers and the purge serialize per key through one of these locks, so that reading
/// a key's old record (to remove its chunks, or to check its expiration) and replacing
/// it happen as one step.
const STRIPES: usize = 64;

/// One store on fjall. Cheap to clone.
#[derive(Clone)]
pub(crate) struct FjallBackend {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    data: Keyspace,
    expiry: Keyspace,
    blobs: Keyspace,
    durability: Durability,
    group_sync: Arc<GroupSync>,
    stripes: Box<[Mutex<()>]>,
    hasher: RandomState,
    next_blob: AtomicU64,
    /// Whether any key's value may be chunked. While none is, a write skips looking for
    /// the old value's chunks. Set at open, and by the first chunked put; never cleared.
    has_references: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for FjallBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallBackend")
            .field("keyspace", &self.inner.data.name())
            .field("durability", &self.inner.durability)
            .finish()
    }
}

/// A value ready to be committed: inline bytes, or chunks already in the blob keyspace.
enum Staged {
    Inline(Bytes),
    Blob(PendingBlob),
}

/// Chunks written under a pending marker. Dropping it before it is marked committed
/// (an error, a cancelled future) removes the chunks and the marker.
struct PendingBlob {
    inner: Arc<Inner>,
    id: u64,
    len: u64,
    chunks: u32,
    committed: bool,
}

impl PendingBlob {
    fn reference(&self) -> codec::BlobRef {
        codec::BlobRef {
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
    fn stripe_index(&self, key: &[u8]) -> usize {
        (self.hasher.hash_one(key) as usize) % self.stripes.len()
    }

    fn lock_stripe(&self, index: usize) -> MutexGuard<'_, ()> {
        self.stripes[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the stripes of all `keys`, in index order so that two bulk writes cannot
    /// deadlock.
    fn lock_keys<'k>(
        &self,
        mut keys: impl ExactSizeIterator<Item = &'k str>,
    ) -> Vec<MutexGuard<'_, ()>> {
        if keys.len() == 1
            && let Some(key) = keys.next()
        {
            return vec![self.lock_stripe(self.stripe_index(key.as_bytes()))];
        }
        let mut indexes: Vec<usize> = keys.map(|k| self.stripe_index(k.as_bytes())).collect();
        indexes.sort_unstable();
        indexes.dedup();
        indexes.into_iter().map(|i| self.lock_stripe(i)).collect()
    }

    /// Removes the chunks and pending markers of puts that never committed: at open,
    /// every marker belongs to a process that is gone. Then starts blob ids after the
    /// largest one in use.
    fn reclaim_interrupted_blobs(&self) -> Result<()> {
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

    fn new_blob(self: &Arc<Self>) -> Result<PendingBlob> {
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

    fn write_chunk(&self, blob: &mut PendingBlob, chunk: Bytes) -> Result<()> {
        self.blobs
            .insert(codec::chunk_key(blob.id, blob.chunks), chunk.clone())
            .map_err(fjall_error)?;
        blob.chunks += 1;
        blob.len += chunk.len() as u64;
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
    fn stage_bytes(self: &Arc<Self>, value: Bytes) -> Result<Staged> {
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
    async fn stage_stream(self: &Arc<Self>, mut stream: ByteStream) -> Result<Staged> {
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

    /// Adds to `batch` the removal of `key`'s chunks, if its value is chunked. The
    /// caller holds the key's stripe.
    ///
    /// Which keys have chunks is known from the blob-reference entries in the blob
    /// keyspace, not from the record: a write then costs a lookup in a small keyspace
    /// (memtable and bloom filters) rather than a read of the key's old record, which
    /// may be on disk — and no lookup at all while no value has ever been chunked.
    fn remove_chunks(&self, batch: &mut fjall::OwnedWriteBatch, key: &str) -> Result<()> {
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

    /// Adds to `batch` the removal of `key`: its record and its chunks.
    fn remove_current(&self, batch: &mut fjall::OwnedWriteBatch, key: &str) -> Result<()> {
        batch.remove(&self.data, key);
        self.remove_chunks(batch, key)
    }

    /// Replaces each key's record with its staged value, all in one batch.
    fn commit(&self, mut items: Vec<(String, RecordHead, Staged)>) -> Result<()> {
        let _guards = self.lock_keys(items.iter().map(|(key, _, _)| key.as_str()));
        // The common put — one small value, no expiration, no chunks anywhere — is a
        // single insert: nothing else has to change with it.
        if let [(_, head, Staged::Inline(_))] = items.as_slice()
            && head.expiration.is_none()
            && !self.has_references.load(Ordering::SeqCst)
            && let Some((key, head, Staged::Inline(value))) = items.pop()
        {
            let record = codec::encode(&head, &codec::Value::Inline(value));
            return self.data.insert(key, record).map_err(fjall_error);
        }
        let mut batch = self.db.batch();
        let mut blobs = Vec::new();
        for (key, head, staged) in items {
            // The insert below replaces the record; only old chunks need removing.
            self.remove_chunks(&mut batch, &key)?;
            let value = match &staged {
                Staged::Inline(bytes) => codec::Value::Inline(bytes.clone()),
                Staged::Blob(blob) => {
                    // Before the batch commits, and under the key's stripe: a put that
                    // takes this stripe after us sees the flag and looks for chunks.
                    self.has_references.store(true, Ordering::SeqCst);
                    batch.remove(&self.blobs, codec::pending_key(blob.id));
                    batch.insert(
                        &self.blobs,
                        codec::reference_key(&key),
                        codec::encode_reference(&blob.reference()),
                    );
                    codec::Value::Blob(blob.reference())
                }
            };
            if let Some(at) = head.expiration {
                batch.insert(&self.expiry, codec::expiry_key(at, &key), Bytes::new());
            }
            batch.insert(&self.data, key, codec::encode(&head, &value));
            if let Staged::Blob(blob) = staged {
                blobs.push(blob);
            }
        }
        batch.commit().map_err(fjall_error)?;
        for blob in &mut blobs {
            blob.committed = true;
        }
        Ok(())
    }

    fn delete_keys(&self, keys: &[String]) -> Result<()> {
        let _guards = self.lock_keys(keys.iter().map(String::as_str));
        let mut batch = self.db.batch();
        for key in keys {
            self.remove_current(&mut batch, key)?;
        }
        batch.commit().map_err(fjall_error)
    }

    fn get(self: &Arc<Self>, key: &str) -> Result<Option<Record>> {
        let Some(raw) = self.data.get(key).map_err(fjall_error)? else {
            return Ok(None);
        };
        match codec::decode(Bytes::from(raw))? {
            (codec::Value::Inline(value), head) => Ok(Some(Record {
                value: StoredValue::Inline(value),
                head,
            })),
            // Read a chunked value from a snapshot, so that a put or delete that
            // replaces it while it streams cannot pull its chunks away. The record is
            // read again through the snapshot: it may have changed since.
            (codec::Value::Blob(_), _) => {
                let snapshot = self.db.snapshot();
                let Some(raw) = snapshot.get(&self.data, key).map_err(fjall_error)? else {
                    return Ok(None);
                };
                let (value, head) = codec::decode(Bytes::from(raw))?;
                let value = match value {
                    codec::Value::Inline(value) => StoredValue::Inline(value),
                    codec::Value::Blob(blob) => StoredValue::Chunked {
                        len: blob.len,
                        chunks: chunk_stream(Arc::clone(self), snapshot, blob),
                    },
                };
                Ok(Some(Record { value, head }))
            }
        }
    }

    fn list(&self, query: &ListQuery) -> Result<ListPage> {
        let iter = match &query.start_after {
            Some(after) => self.data.range::<&[u8], _>((
                std::ops::Bound::Excluded(after.as_bytes()),
                std::ops::Bound::Unbounded,
            )),
            None => self.data.prefix(query.prefix.as_bytes()),
        };
        let mut page = ListPage::default();
        for guard in iter {
            let (key, raw) = guard.into_inner().map_err(fjall_error)?;
            if !key.starts_with(query.prefix.as_bytes()) {
                break;
            }
            let head = codec::decode_head(&Bytes::from(raw))?;
            if is_expired(head.expiration, query.now) {
                continue;
            }
            if page.keys.len() == query.limit {
                page.more = true;
                break;
            }
            let name = String::from_utf8(Bytes::from(key).to_vec())
                .map_err(|e| Error::backend(NAME, e))?;
            page.keys.push(ListedKey { name, head });
        }
        Ok(page)
    }

    fn purge(&self, now: u64) -> Result<u64> {
        const BATCH: usize = 1024;
        let end = now.saturating_add(1).to_be_bytes();
        let mut removed = 0;
        let mut pending = Vec::with_capacity(BATCH);
        for guard in self.expiry.range::<&[u8], _>(..end.as_slice()) {
            pending.push(guard.key().map_err(fjall_error)?);
            if pending.len() == BATCH {
                removed += self.purge_batch(std::mem::take(&mut pending))?;
            }
        }
        removed += self.purge_batch(pending)?;
        Ok(removed)
    }

    /// Removes the records the index entries point at if they still carry that
    /// expiration, and the entries themselves either way (a later put or delete left
    /// them stale).
    fn purge_batch(&self, entries: Vec<fjall::UserKey>) -> Result<u64> {
        let mut removed = 0;
        for entry in entries {
            let Some((at, key)) = codec::split_expiry_key(&entry) else {
                self.expiry.remove(entry).map_err(fjall_error)?;
                continue;
            };
            let Ok(key) = std::str::from_utf8(key) else {
                self.expiry.remove(entry.clone()).map_err(fjall_error)?;
                continue;
            };
            let _guard = self.lock_stripe(self.stripe_index(key.as_bytes()));
            let mut batch = self.db.batch();
            let current = self.data.get(key).map_err(fjall_error)?;
            if let Some(raw) = current
                && codec::decode_head(&Bytes::from(raw))?.expiration == Some(at)
            {
                self.remove_current(&mut batch, key)?;
                removed += 1;
            }
            batch.remove(&self.expiry, entry.clone());
            batch.commit().map_err(fjall_error)?;
        }
        Ok(removed)
    }
}

/// How many chunks one trip to the blocking pool reads: enough to amortize the trip,
/// few enough to keep a reader's memory at about a megabyte.
const CHUNKS_PER_READ: u32 = 4;

/// The chunks of `blob`, read from `snapshot` a few at a time.
fn chunk_stream(inner: Arc<Inner>, snapshot: Snapshot, blob: codec::BlobRef) -> ByteStream {
    struct State {
        inner: Arc<Inner>,
        snapshot: Snapshot,
        next: u32,
        read: u64,
        ready: std::collections::VecDeque<Bytes>,
    }
    let state = State {
        inner,
        snapshot,
        next: 0,
        read: 0,
        ready: std::collections::VecDeque::new(),
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

impl FjallBackend {
    /// Makes a committed write durable as the store's durability asks.
    async fn settle(&self) -> Result<()> {
        match self.inner.durability {
            Durability::Buffered => Ok(()),
            Durability::Sync => self.inner.group_sync.sync().await,
        }
    }
}

impl Backend for FjallBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Record>>> {
        let result = self.inner.get(key);
        async move { result }.boxed()
    }

    fn get_now(&self, key: &str) -> Option<Result<Option<Record>>> {
        Some(self.inner.get(key))
    }

    fn put(&self, key: String, head: RecordHead, value: Payload) -> BoxFuture<'_, Result<()>> {
        async move {
            let staged = match value {
                Payload::Bytes(bytes) => self.inner.stage_bytes(bytes)?,
                Payload::Stream(stream) => self.inner.stage_stream(stream).await?,
            };
            self.inner.commit(vec![(key, head, staged)])?;
            self.settle().await
        }
        .boxed()
    }

    fn put_many(&self, items: Vec<BulkItem>) -> BoxFuture<'_, Result<()>> {
        async move {
            let staged = items
                .into_iter()
                .map(|item| Ok((item.key, item.head, self.inner.stage_bytes(item.value)?)))
                .collect::<Result<Vec<_>>>()?;
            self.inner.commit(staged)?;
            self.settle().await
        }
        .boxed()
    }

    fn delete(&self, key: String) -> BoxFuture<'_, Result<()>> {
        async move {
            self.inner.delete_keys(std::slice::from_ref(&key))?;
            self.settle().await
        }
        .boxed()
    }

    fn delete_many(&self, keys: Vec<String>) -> BoxFuture<'_, Result<()>> {
        async move {
            self.inner.delete_keys(&keys)?;
            self.settle().await
        }
        .boxed()
    }

    fn list(&self, query: ListQuery) -> BoxFuture<'_, Result<ListPage>> {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.list(&query)).boxed()
    }

    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<u64>> {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.purge(now)).boxed()
    }
}

/// The on-disk encoding of records, blob keys and expiry-index keys.
///
/// Record: `kind (1: inline, 2: blob) | expiration (8, big endian, 0 = none) |
/// metadata length (4, big endian, 0 = none) | metadata JSON | payload`, where the
/// payload is the value itself (inline) or `blob id (8) | length (8) | chunk count (4)`.
/// An expiration is never 0 (it is always at least `min_ttl` after the clock's
/// reading), and metadata JSON is never empty.
pub(crate) mod codec {
    use bytes::{BufMut as _, Bytes, BytesMut};

    use super::NAME;
    use crate::backend::RecordHead;
    use crate::error::{Error, Result};

    const INLINE: u8 = 1;
    const BLOB: u8 = 2;
    const HEADER_BYTES: usize = 1 + 8 + 4;
    const BLOB_REF_BYTES: usize = 8 + 8 + 4;

    /// Blob-keyspace key tags: chunks (`c` + blob id + index), pending markers (`p` +
    /// blob id) and references (`r` + record key → the blob a key's value is in).
    pub(crate) const CHUNK_TAG: u8 = b'c';
    pub(crate) const PENDING_TAG: u8 = b'p';
    pub(crate) const REFERENCE_TAG: u8 = b'r';

    /// Where a chunked value's chunks are.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) struct BlobRef {
        pub(crate) id: u64,
        pub(crate) len: u64,
        pub(crate) chunks: u32,
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum Value {
        Inline(Bytes),
        Blob(BlobRef),
    }

    pub(crate) fn encode(head: &RecordHead, value: &Value) -> Bytes {
        let metadata = head.metadata.as_deref().unwrap_or_default();
        let payload_len = match value {
            Value::Inline(bytes) => bytes.len(),
            Value::Blob(_) => BLOB_REF_BYTES,
        };
        let mut out = BytesMut::with_capacity(HEADER_BYTES + metadata.len() + payload_len);
        out.put_u8(match value {
            Value::Inline(_) => INLINE,
            Value::Blob(_) => BLOB,
        });
        out.put_u64(head.expiration.unwrap_or(0));
        // Metadata is at most MAX_METADATA_BYTES, checked before a record is built.
        out.put_u32(u32::try_from(metadata.len()).unwrap_or(u32::MAX));
        out.put_slice(metadata);
        match value {
            Value::Inline(bytes) => out.put_slice(bytes),
            Value::Blob(blob) => out.put_slice(&encode_reference(blob)),
        }
        out.freeze()
    }

    fn corrupt() -> Error {
        Error::backend(NAME, "stored record is corrupt or from a newer version")
    }

    /// Kind, expiration, metadata and where the payload starts.
    fn split(raw: &Bytes) -> Result<(u8, RecordHead, usize)> {
        let (header, _) = raw
            .split_first_chunk::<HEADER_BYTES>()
            .ok_or_else(corrupt)?;
        let [kind, e0, e1, e2, e3, e4, e5, e6, e7, m0, m1, m2, m3] = *header;
        if kind != INLINE && kind != BLOB {
            return Err(corrupt());
        }
        let expiration = match u64::from_be_bytes([e0, e1, e2, e3, e4, e5, e6, e7]) {
            0 => None,
            at => Some(at),
        };
        let meta_len =
            usize::try_from(u32::from_be_bytes([m0, m1, m2, m3])).map_err(|_| corrupt())?;
        let payload_at = HEADER_BYTES.checked_add(meta_len).ok_or_else(corrupt)?;
        if payload_at > raw.len() {
            return Err(corrupt());
        }
        let metadata = (meta_len > 0).then(|| raw.slice(HEADER_BYTES..payload_at));
        Ok((
            kind,
            RecordHead {
                expiration,
                metadata,
            },
            payload_at,
        ))
    }

    /// Expiration and metadata, without looking at the value.
    pub(crate) fn decode_head(raw: &Bytes) -> Result<RecordHead> {
        Ok(split(raw)?.1)
    }

    pub(crate) fn decode(raw: Bytes) -> Result<(Value, RecordHead)> {
        let (kind, head, payload_at) = split(&raw)?;
        let payload = raw.slice(payload_at..);
        let value = if kind == INLINE {
            Value::Inline(payload)
        } else {
            Value::Blob(decode_reference(&payload)?)
        };
        Ok((value, head))
    }

    pub(crate) fn chunk_prefix(id: u64) -> [u8; 9] {
        let mut out = [CHUNK_TAG; 9];
        out[1..].copy_from_slice(&id.to_be_bytes());
        out
    }

    pub(crate) fn chunk_key(id: u64, index: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(13);
        out.extend_from_slice(&chunk_prefix(id));
        out.extend_from_slice(&index.to_be_bytes());
        out
    }

    /// The blob id of a chunk key (or of a pending marker), if it is one.
    pub(crate) fn chunk_id(key: &[u8]) -> Option<u64> {
        let (_, rest) = key.split_first()?;
        let (id, _) = rest.split_first_chunk::<8>()?;
        Some(u64::from_be_bytes(*id))
    }

    pub(crate) fn pending_key(id: u64) -> [u8; 9] {
        let mut out = [PENDING_TAG; 9];
        out[1..].copy_from_slice(&id.to_be_bytes());
        out
    }

    pub(crate) fn pending_id(key: &[u8]) -> Option<u64> {
        match key.split_first()? {
            (&PENDING_TAG, id) => Some(u64::from_be_bytes(id.try_into().ok()?)),
            _ => None,
        }
    }

    pub(crate) fn reference_key(key: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + key.len());
        out.push(REFERENCE_TAG);
        out.extend_from_slice(key.as_bytes());
        out
    }

    pub(crate) fn encode_reference(blob: &BlobRef) -> Vec<u8> {
        let mut out = Vec::with_capacity(BLOB_REF_BYTES);
        out.extend_from_slice(&blob.id.to_be_bytes());
        out.extend_from_slice(&blob.len.to_be_bytes());
        out.extend_from_slice(&blob.chunks.to_be_bytes());
        out
    }

    pub(crate) fn decode_reference(raw: &[u8]) -> Result<BlobRef> {
        let bytes: &[u8; BLOB_REF_BYTES] = raw.try_into().map_err(|_| corrupt())?;
        let (id, rest) = bytes.split_first_chunk::<8>().ok_or_else(corrupt)?;
        let (len, chunks) = rest.split_first_chunk::<8>().ok_or_else(corrupt)?;
        let chunks: [u8; 4] = chunks.try_into().map_err(|_| corrupt())?;
        Ok(BlobRef {
            id: u64::from_be_bytes(*id),
            len: u64::from_be_bytes(*len),
            chunks: u32::from_be_bytes(chunks),
        })
    }

    pub(crate) fn expiry_key(at: u64, key: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + key.len());
        out.extend_from_slice(&at.to_be_bytes());
        out.extend_from_slice(key.as_bytes());
        out
    }

    pub(crate) fn split_expiry_key(entry: &[u8]) -> Option<(u64, &[u8])> {
        let (at, key) = entry.split_first_chunk::<8>()?;
        Some((u64::from_be_bytes(*at), key))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn round_trip() {
            let heads = [
                RecordHead::default(),
                RecordHead {
                    expiration: Some(1_700_000_060),
                    metadata: Some(Bytes::from_static(b"{\"a\":1}")),
                },
            ];
            let values = [
                Value::Inline(Bytes::new()),
                Value::Inline(Bytes::from_static(b"\x00\xff value")),
                Value::Blob(BlobRef {
                    id: 7,
                    len: 1 << 33,
                    chunks: 32_768,
                }),
            ];
            for head in &heads {
                for value in &values {
                    let raw = encode(head, value);
                    assert_eq!(decode(raw.clone()).unwrap(), (value.clone(), head.clone()));
                    assert_eq!(decode_head(&raw).unwrap(), *head);
                }
            }
        }

        #[test]
        fn corrupt_records_are_errors() {
            assert!(decode(Bytes::new()).is_err());
            assert!(decode(Bytes::from_static(&[3; 13])).is_err());
            let head = RecordHead {
                expiration: None,
                metadata: Some(Bytes::from_static(b"{}")),
            };
            let mut bad = encode(&head, &Value::Inline(Bytes::new())).to_vec();
            bad.truncate(14);
            assert!(decode(Bytes::from(bad)).is_err());
            let mut short_blob = encode(
                &RecordHead::default(),
                &Value::Blob(BlobRef {
                    id: 1,
                    len: 2,
                    chunks: 3,
                }),
            )
            .to_vec();
            short_blob.pop();
            assert!(decode(Bytes::from(short_blob)).is_err());
        }

        #[test]
        fn blob_keys() {
            assert_eq!(chunk_id(&chunk_key(42, 7)), Some(42));
            assert_eq!(pending_id(&pending_key(42)), Some(42));
            assert_eq!(pending_id(&chunk_key(42, 0)), None);
            assert!(chunk_key(u64::MAX, u32::MAX).as_slice() < pending_key(0).as_slice());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks in the store's blob keyspace (not counting markers and references).
    fn chunks(store: &FjallBackend) -> usize {
        store.inner.blobs.prefix([codec::CHUNK_TAG]).count()
    }

    /// Blob references: one per key whose value is chunked.
    fn references(store: &FjallBackend) -> usize {
        store.inner.blobs.prefix([codec::REFERENCE_TAG]).count()
    }

    fn head(expiration: Option<u64>) -> RecordHead {
        RecordHead {
            expiration,
            metadata: None,
        }
    }

    fn kib(n: usize) -> Payload {
        Payload::Bytes(Bytes::from(vec![7; n * 1024]))
    }

    async fn open(dir: &Path) -> FjallBackend {
        let db = FjallDatabase::open(dir, 1 << 20).await.unwrap();
        db.store("s", Durability::Buffered).unwrap()
    }

    /// The purge removes expired records from the keyspace itself, not only from view,
    /// and leaves alone keys that were rewritten after their old expiration was indexed.
    #[tokio::test]
    async fn purge_removes_expired_records_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        for i in 0..500 {
            store
                .put(format!("ttl:{i:03}"), head(Some(1_000)), kib(1))
                .await
                .unwrap();
        }
        for i in 0..100 {
            store
                .put(format!("keep:{i:03}"), head(None), kib(1))
                .await
                .unwrap();
        }
        // Rewritten without expiration: its stale index entry must not remove it.
        store
            .put("ttl:000".into(), head(None), kib(1))
            .await
            .unwrap();
        // Rewritten with a later expiration.
        store
            .put("ttl:001".into(), head(Some(5_000)), kib(1))
            .await
            .unwrap();
        // A chunked value that expires takes its chunks with it.
        store
            .put("ttl:big".into(), head(Some(1_000)), kib(1024))
            .await
            .unwrap();
        assert_eq!(store.inner.data.len().unwrap(), 601);
        assert_eq!(store.inner.expiry.len().unwrap(), 502);
        assert_eq!(chunks(&store), 4);

        assert_eq!(store.purge_expired(999).await.unwrap(), 0);
        assert_eq!(references(&store), 1);
        assert_eq!(store.purge_expired(1_000).await.unwrap(), 499);
        assert_eq!(references(&store), 0);
        assert_eq!(store.inner.data.len().unwrap(), 102);
        assert_eq!(store.inner.expiry.len().unwrap(), 1);
        assert_eq!(chunks(&store), 0);
        assert!(store.get("ttl:000").await.unwrap().is_some());
        assert!(store.get("ttl:001").await.unwrap().is_some());
        assert!(store.get("ttl:002").await.unwrap().is_none());

        assert_eq!(store.purge_expired(5_000).await.unwrap(), 1);
        assert_eq!(store.inner.data.len().unwrap(), 101);
        assert_eq!(store.inner.expiry.len().unwrap(), 0);
    }

    /// Replacing or deleting a chunked value removes all of its chunks.
    #[tokio::test]
    async fn replaced_and_deleted_blobs_leave_no_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        store.put("k".into(), head(None), kib(1000)).await.unwrap();
        assert_eq!(chunks(&store), 4); // 1000 KiB in 256 KiB chunks
        store.put("k".into(), head(None), kib(300)).await.unwrap();
        assert_eq!(chunks(&store), 2);
        assert_eq!(references(&store), 1);
        store.put("k".into(), head(None), kib(1)).await.unwrap();
        assert_eq!((chunks(&store), references(&store)), (0, 0));
        store.put("k".into(), head(None), kib(600)).await.unwrap();
        store.delete("k".into()).await.unwrap();
        assert_eq!((chunks(&store), references(&store)), (0, 0));
        assert_eq!(store.inner.data.len().unwrap(), 0);
    }

    /// A put that a crash interrupts leaves chunks and a pending marker; the next open
    /// of the store reclaims both, and new blob ids do not collide with old ones.
    #[tokio::test]
    async fn interrupted_put_is_reclaimed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(dir.path()).await;
            store
                .put("kept".into(), head(None), kib(600))
                .await
                .unwrap();
            let mut blob = store.inner.new_blob().unwrap();
            store
                .inner
                .write_chunk(&mut blob, Bytes::from(vec![1; CHUNK_BYTES]))
                .unwrap();
            store
                .inner
                .write_chunk(&mut blob, Bytes::from(vec![2; 10]))
                .unwrap();
            // The process dies here: nothing runs the blob's cleanup (which is what
            // marking it committed without committing its record amounts to).
            blob.committed = true;
            drop(blob);
            assert_eq!(chunks(&store), 3 + 2);
            assert_eq!(store.inner.blobs.prefix([codec::PENDING_TAG]).count(), 1);
        }
        let store = open(dir.path()).await;
        assert_eq!(
            chunks(&store),
            3,
            "only the committed value's chunks remain"
        );
        let Some(Record {
            value:
                StoredValue::Chunked {
                    len,
                    chunks: stream,
                },
            ..
        }) = store.get("kept").await.unwrap()
        else {
            panic!("expected a chunked value");
        };
        assert_eq!(len, 600 * 1024);
        let bytes = super::super::collect(stream, len).await.unwrap();
        assert!(bytes.iter().all(|b| *b == 7));
        let blob = store.inner.new_blob().unwrap();
        assert!(blob.id > 1, "blob ids continue after the one in use (1)");
        drop(blob);
        // After a reopen, replacing the chunked value still removes its chunks.
        store.put("kept".into(), head(None), kib(1)).await.unwrap();
        assert_eq!((chunks(&store), references(&store)), (0, 0));
    }

    /// A reader streaming a chunked value keeps reading the version it started with,
    /// even when the value is replaced and its chunks removed meanwhile.
    #[tokio::test]
    async fn streaming_reader_sees_a_consistent_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        store.put("k".into(), head(None), kib(1024)).await.unwrap();
        let Some(Record {
            value: StoredValue::Chunked { len, chunks },
            ..
        }) = store.get("k").await.unwrap()
        else {
            panic!("expected a chunked value");
        };
        store
            .put(
                "k".into(),
                head(None),
                Payload::Bytes(Bytes::from(vec![9; 2 * CHUNK_BYTES])),
            )
            .await
            .unwrap();
        store.delete("k".into()).await.unwrap();
        let bytes = super::super::collect(chunks, len).await.unwrap();
        assert_eq!(bytes.len(), 1024 * 1024);
        assert!(bytes.iter().all(|b| *b == 7));
    }

    fn failing(good: usize) -> Payload {
        let items = (0..good)
            .map(|_| Ok(Bytes::from(vec![1u8; 100_000])))
            .chain(std::iter::once(Err(Error::backend("test", "boom"))));
        Payload::Stream(futures_util::stream::iter(items.collect::<Vec<_>>()).boxed())
    }

    /// A stream that fails, or a put whose future is dropped mid-stream, leaves no chunks.
    #[tokio::test]
    async fn failed_and_cancelled_streams_leave_no_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).await;
        store.put("k".into(), head(None), kib(600)).await.unwrap();
        for good in [1, 3, 10] {
            assert!(
                store
                    .put("k".into(), head(None), failing(good))
                    .await
                    .is_err()
            );
            assert_eq!(chunks(&store), 3, "only the old value's chunks");
        }
        let endless = futures_util::stream::iter(vec![Ok(Bytes::from(vec![0; 3 * CHUNK_BYTES]))])
            .chain(futures_util::stream::pending())
            .boxed();
        let put = store.put("k".into(), head(None), Payload::Stream(endless));
        let cancelled = tokio::time::timeout(std::time::Duration::from_millis(50), put).await;
        assert!(cancelled.is_err());
        assert_eq!(chunks(&store), 3, "a cancelled put removes its chunks");
        let Some(Record {
            value: StoredValue::Chunked { len, .. },
            ..
        }) = store.get("k").await.unwrap()
        else {
            panic!("expected the old chunked value");
        };
        assert_eq!(len, 600 * 1024);
    }

    /// Fifty writers to a sync store are all acknowledged, durable across a reopen, and
    /// share fsyncs rather than paying one each.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sync_writers_share_fsyncs() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = FjallDatabase::open(dir.path(), 1 << 20).await.unwrap();
            let store = db.store("s", Durability::Sync).unwrap();
            let tasks: Vec<_> = (0..50)
                .map(|i| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        for j in 0..20 {
                            store
                                .put(format!("w{i:02}:{j:02}"), head(None), kib(1))
                                .await
                                .unwrap();
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            let fsyncs = db.group_sync.fsyncs();
            assert!(fsyncs >= 1);
            assert!(
                fsyncs < 500,
                "1000 sync puts took {fsyncs} fsyncs: writers are not grouped"
            );
        }
        let store = open(dir.path()).await;
        assert_eq!(store.inner.data.len().unwrap(), 1000);
    }
}
