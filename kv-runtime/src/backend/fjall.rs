//! The fjall backend: one fjall `Database` per runtime, one keyspace per store, and one
//! expiry-index keyspace per store.
//!
//! Each key's value, expiration and metadata are encoded into one fjall value (see
//! [`codec`]), so a put replaces all three atomically. A put with an expiration also
//! writes `expiration (8 bytes, big endian) ++ key` into the store's expiry index in the
//! same batch; [`FjallBackend::purge`] walks that index up to now and removes what has
//! expired, so expired data leaves the disk in time proportional to what expired, not
//! to the store's size.
//!
//! Point reads and buffered writes call fjall directly: they touch the memtable, the
//! block cache and the journal's OS buffer, and cost a few microseconds, less than a
//! hop to tokio's blocking pool. Work that can take long — listing a page, purging,
//! and the fsync of `durability = "sync"` — runs on `spawn_blocking` through [`blocking`].

use std::hash::{BuildHasher as _, RandomState};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use futures_util::future::{BoxFuture, FutureExt as _};

use super::{Backend, ListPage, ListQuery, ListedKey, Record};
use crate::config::Durability;
use crate::error::{Error, Result};
use crate::expiration::is_expired;

const NAME: &str = "fjall";

fn fjall_error(err: fjall::Error) -> Error {
    Error::backend(NAME, err)
}

/// Runs `f` on tokio's blocking pool when a tokio runtime is present, inline otherwise
/// (so the backend never panics when polled by another executor).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
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
}

impl std::fmt::Debug for FjallDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallDatabase")
            .field("path", &self.path)
            .finish()
    }
}

impl FjallDatabase {
    /// Opens (creating if needed) the database in `path`.
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
            Ok(Self { db, path })
        })
        .await
    }

    /// The backend for store `name` (a validated store name).
    pub(crate) fn store(&self, name: &str, durability: Durability) -> Result<FjallBackend> {
        let data = self
            .db
            .keyspace(name, KeyspaceCreateOptions::default)
            .map_err(fjall_error)?;
        let expiry = self
            .db
            .keyspace(&format!("{name}.expiry"), KeyspaceCreateOptions::default)
            .map_err(fjall_error)?;
        Ok(FjallBackend {
            inner: Arc::new(Inner {
                db: self.db.clone(),
                data,
                expiry,
                durability,
                stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
                hasher: RandomState::new(),
            }),
        })
    }

    /// Writes everything buffered to disk.
    pub(crate) async fn flush(&self) -> Result<()> {
        let db = self.db.clone();
        blocking(move || db.persist(PersistMode::SyncAll).map_err(fjall_error)).await
    }
}

/// Writers and the purge serialize per key through one of these locks, so the purge's
/// check-then-remove never removes a record a concurrent put just wrote.
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
    durability: Durability,
    stripes: Box<[Mutex<()>]>,
    hasher: RandomState,
}

impl std::fmt::Debug for FjallBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallBackend")
            .field("keyspace", &self.inner.data.name())
            .field("durability", &self.inner.durability)
            .finish()
    }
}

impl Inner {
    fn stripe(&self, key: &[u8]) -> std::sync::MutexGuard<'_, ()> {
        let index = (self.hasher.hash_one(key) as usize) % self.stripes.len();
        self.stripes[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn put(&self, key: &str, record: &Record) -> Result<()> {
        let encoded = codec::encode(record);
        let _guard = self.stripe(key.as_bytes());
        let mut batch = self.db.batch();
        batch.insert(&self.data, key, encoded);
        if let Some(at) = record.expiration {
            batch.insert(&self.expiry, codec::expiry_key(at, key), Bytes::new());
        }
        batch.commit().map_err(fjall_error)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let _guard = self.stripe(key.as_bytes());
        self.data.remove(key).map_err(fjall_error)
    }

    fn get(&self, key: &str) -> Result<Option<Record>> {
        match self.data.get(key).map_err(fjall_error)? {
            Some(raw) => codec::decode(Bytes::from(raw)).map(Some),
            None => Ok(None),
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
            let (expiration, metadata) = codec::decode_header(&Bytes::from(raw))?;
            if is_expired(expiration, query.now) {
                continue;
            }
            if page.keys.len() == query.limit {
                page.more = true;
                break;
            }
            let name = String::from_utf8(Bytes::from(key).to_vec())
                .map_err(|e| Error::backend(NAME, e))?;
            page.keys.push(ListedKey {
                name,
                expiration,
                metadata,
            });
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
            let _guard = self.stripe(key);
            let mut batch = self.db.batch();
            if let Some(raw) = self.data.get(key).map_err(fjall_error)? {
                let (expiration, _) = codec::decode_header(&Bytes::from(raw))?;
                if expiration == Some(at) {
                    batch.remove(&self.data, key);
                    removed += 1;
                }
            }
            batch.remove(&self.expiry, entry.clone());
            batch.commit().map_err(fjall_error)?;
        }
        Ok(removed)
    }

    fn persist_if_sync(&self) -> Result<()> {
        match self.durability {
            Durability::Buffered => Ok(()),
            Durability::Sync => self.db.persist(PersistMode::SyncAll).map_err(fjall_error),
        }
    }
}

impl FjallBackend {
    async fn after_write(&self) -> Result<()> {
        if self.inner.durability == Durability::Sync {
            let inner = Arc::clone(&self.inner);
            blocking(move || inner.persist_if_sync()).await?;
        }
        Ok(())
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

    fn put(&self, key: String, record: Record) -> BoxFuture<'_, Result<()>> {
        async move {
            self.inner.put(&key, &record)?;
            self.after_write().await
        }
        .boxed()
    }

    fn delete(&self, key: String) -> BoxFuture<'_, Result<()>> {
        async move {
            self.inner.delete(&key)?;
            self.after_write().await
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(expiration: Option<u64>) -> Record {
        Record {
            value: Bytes::from_static(&[7; 1024]),
            expiration,
            metadata: None,
        }
    }

    /// The purge removes expired records from the keyspace itself, not only from view,
    /// and leaves alone keys that were rewritten after their old expiration was indexed.
    #[tokio::test]
    async fn purge_removes_expired_records_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let db = FjallDatabase::open(dir.path(), 1 << 20).await.unwrap();
        let store = db.store("s", Durability::Buffered).unwrap();
        for i in 0..500 {
            store
                .put(format!("ttl:{i:03}"), record(Some(1_000)))
                .await
                .unwrap();
        }
        for i in 0..100 {
            store
                .put(format!("keep:{i:03}"), record(None))
                .await
                .unwrap();
        }
        // Rewritten without expiration: its stale index entry must not remove it.
        store.put("ttl:000".into(), record(None)).await.unwrap();
        // Rewritten with a later expiration.
        store
            .put("ttl:001".into(), record(Some(5_000)))
            .await
            .unwrap();
        assert_eq!(store.inner.data.len().unwrap(), 600);
        assert_eq!(store.inner.expiry.len().unwrap(), 501);

        assert_eq!(store.purge_expired(999).await.unwrap(), 0);
        assert_eq!(store.purge_expired(1_000).await.unwrap(), 498);
        assert_eq!(store.inner.data.len().unwrap(), 102);
        assert_eq!(store.inner.expiry.len().unwrap(), 1);
        assert!(store.get("ttl:000").await.unwrap().is_some());
        assert!(store.get("ttl:001").await.unwrap().is_some());
        assert!(store.get("ttl:002").await.unwrap().is_none());

        assert_eq!(store.purge_expired(5_000).await.unwrap(), 1);
        assert_eq!(store.inner.data.len().unwrap(), 101);
        assert_eq!(store.inner.expiry.len().unwrap(), 0);
    }
}

/// The on-disk encoding of a [`Record`] and of expiry-index keys.
///
/// Record: `version (1) | expiration (8, big endian, 0 = none) | metadata length (4, big
/// endian, 0 = none) | metadata JSON | value`. An expiration is never 0 (it is always
/// at least `min_ttl` after the clock's reading), and metadata JSON is never empty.
pub(crate) mod codec {
    use bytes::{BufMut as _, Bytes, BytesMut};

    use super::{NAME, Record};
    use crate::error::{Error, Result};

    const VERSION: u8 = 1;
    const HEADER_BYTES: usize = 1 + 8 + 4;

    pub(crate) fn encode(record: &Record) -> Bytes {
        let metadata = record.metadata.as_deref().unwrap_or_default();
        let mut out = BytesMut::with_capacity(HEADER_BYTES + metadata.len() + record.value.len());
        out.put_u8(VERSION);
        out.put_u64(record.expiration.unwrap_or(0));
        // Metadata is at most MAX_METADATA_BYTES, checked before a record is built.
        out.put_u32(u32::try_from(metadata.len()).unwrap_or(u32::MAX));
        out.put_slice(metadata);
        out.put_slice(&record.value);
        out.freeze()
    }

    /// Expiration and metadata, without copying the value.
    pub(crate) fn decode_header(raw: &Bytes) -> Result<(Option<u64>, Option<Bytes>)> {
        let (expiration, metadata, _) = split(raw)?;
        Ok((expiration, metadata))
    }

    pub(crate) fn decode(raw: Bytes) -> Result<Record> {
        let (expiration, metadata, value_at) = split(&raw)?;
        Ok(Record {
            value: raw.slice(value_at..),
            expiration,
            metadata,
        })
    }

    fn split(raw: &Bytes) -> Result<(Option<u64>, Option<Bytes>, usize)> {
        let corrupt = || Error::backend(NAME, "stored record is corrupt or from a newer version");
        let (header, _) = raw
            .split_first_chunk::<HEADER_BYTES>()
            .ok_or_else(corrupt)?;
        let [version, e0, e1, e2, e3, e4, e5, e6, e7, m0, m1, m2, m3] = *header;
        if version != VERSION {
            return Err(corrupt());
        }
        let expiration = match u64::from_be_bytes([e0, e1, e2, e3, e4, e5, e6, e7]) {
            0 => None,
            at => Some(at),
        };
        let meta_len =
            usize::try_from(u32::from_be_bytes([m0, m1, m2, m3])).map_err(|_| corrupt())?;
        let value_at = HEADER_BYTES.checked_add(meta_len).ok_or_else(corrupt)?;
        if value_at > raw.len() {
            return Err(corrupt());
        }
        let metadata = (meta_len > 0).then(|| raw.slice(HEADER_BYTES..value_at));
        Ok((expiration, metadata, value_at))
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
            for record in [
                Record {
                    value: Bytes::new(),
                    expiration: None,
                    metadata: None,
                },
                Record {
                    value: Bytes::from_static(b"\x00\xff value"),
                    expiration: Some(1_700_000_060),
                    metadata: Some(Bytes::from_static(b"{\"a\":1}")),
                },
            ] {
                assert_eq!(decode(encode(&record)).unwrap(), record);
            }
        }

        #[test]
        fn corrupt_records_are_errors() {
            assert!(decode(Bytes::new()).is_err());
            assert!(decode(Bytes::from_static(&[2; 13])).is_err());
            let mut bad = encode(&Record {
                value: Bytes::new(),
                expiration: None,
                metadata: Some(Bytes::from_static(b"{}")),
            })
            .to_vec();
            bad.truncate(14);
            assert!(decode(Bytes::from(bad)).is_err());
        }
    }
}
