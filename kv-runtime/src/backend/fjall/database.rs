//! A runtime's fjall database: opening (and the one-process lock), the keyspaces of a
//! store, the version counter, and flushing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, KvSeparationOptions, PersistMode};

use super::creation;
use super::group_sync::GroupSync;
use super::writeback::Writeback;
use super::{DatabaseSettings, NAME, blocking, fjall_error};
use crate::error::{Error, Result};
use crate::version::Version;

/// Memtable size of a store's blob keyspace: small, so that streaming a large value
/// through it keeps little of the value in memory.
pub(super) const BLOB_MEMTABLE_BYTES: u64 = 8 * 1024 * 1024;

/// The keyspace of the database's own bookkeeping. Store names start with a letter,
/// so no store's keyspaces can be called this.
const META_KEYSPACE: &str = "_kv.meta";
const EPOCH_KEY: &[u8] = b"version-epoch";

/// Versions are `epoch << EPOCH_SHIFT | n`: each open of the database takes a new
/// epoch (written durably before any version of it is issued), so versions never
/// repeat across restarts, and `n` counts up within the epoch.
const EPOCH_SHIFT: u32 = 40;

/// The keyspaces of one store.
pub(crate) struct StoreKeyspaces {
    /// `{store}`: one record per key.
    pub(crate) data: Keyspace,
    /// `{store}.expiry`: `expiration ++ key` for every record with an expiration.
    pub(crate) expiry: Keyspace,
    /// `{store}.blobs`: chunks, pending markers, references.
    pub(crate) blobs: Keyspace,
}

/// A runtime's fjall database. Cheap to clone.
#[derive(Clone)]
pub(crate) struct FjallDatabase {
    pub(crate) db: Database,
    path: PathBuf,
    pub(crate) group_sync: Arc<GroupSync>,
    versions: Arc<Versions>,
    /// The memtable size of stores created from now on.
    memtable_bytes: u64,
    /// Stops the journal writeback thread when the last handle goes.
    _writeback: Option<Arc<Writeback>>,
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
    pub(crate) async fn open(path: &Path, settings: DatabaseSettings) -> Result<Self> {
        let path = path.to_path_buf();
        blocking(move || {
            std::fs::create_dir_all(&path).map_err(|e| Error::backend(NAME, e))?;
            creation::discard_unfinished(&path)?;
            let db = Database::builder(&path)
                .cache_size(settings.block_cache_bytes)
                .open()
                .map_err(|err| match err {
                    fjall::Error::Locked => Error::Locked { path: path.clone() },
                    other => fjall_error(other),
                })?;
            let meta = db
                .keyspace(META_KEYSPACE, KeyspaceCreateOptions::default)
                .map_err(fjall_error)?;
            let versions = Arc::new(Versions::open(db.clone(), meta)?);
            let group_sync = Arc::new(GroupSync::new(db.clone()));
            let writeback = Writeback::start(&path).map(Arc::new);
            Ok(Self {
                db,
                path,
                group_sync,
                versions,
                memtable_bytes: settings.memtable_bytes,
                _writeback: writeback,
            })
        })
        .await
    }

    /// The keyspaces of store `name` (a validated store name), created if needed.
    pub(crate) fn keyspaces(&self, name: &str) -> Result<StoreKeyspaces> {
        let memtable = self.memtable_bytes;
        let options = || KeyspaceCreateOptions::default().max_memtable_size(memtable);
        let data = self.db.keyspace(name, options).map_err(fjall_error)?;
        let expiry = self
            .db
            .keyspace(&format!("{name}.expiry"), options)
            .map_err(fjall_error)?;
        let blobs = self
            .db
            .keyspace(&format!("{name}.blobs"), || {
                KeyspaceCreateOptions::default()
                    .with_kv_separation(Some(KvSeparationOptions::default()))
                    .max_memtable_size(BLOB_MEMTABLE_BYTES)
            })
            .map_err(fjall_error)?;
        Ok(StoreKeyspaces {
            data,
            expiry,
            blobs,
        })
    }

    /// A version never issued before by this database.
    pub(crate) fn next_version(&self) -> Result<Version> {
        self.versions.next()
    }

    /// Writes everything buffered to disk.
    pub(crate) async fn flush(&self) -> Result<()> {
        let db = self.db.clone();
        blocking(move || db.persist(PersistMode::SyncAll).map_err(fjall_error)).await
    }
}

/// The database's version counter.
struct Versions {
    db: Database,
    meta: Keyspace,
    /// The next version, and the first one past the current epoch.
    range: Mutex<(u64, u64)>,
}

impl Versions {
    fn open(db: Database, meta: Keyspace) -> Result<Self> {
        let versions = Self {
            db,
            meta,
            range: Mutex::new((0, 0)),
        };
        let mut range = versions
            .range
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *range = versions.new_epoch()?;
        drop(range);
        Ok(versions)
    }

    /// Takes the next epoch, durably, and returns its range of versions.
    fn new_epoch(&self) -> Result<(u64, u64)> {
        let last = match self.meta.get(EPOCH_KEY).map_err(fjall_error)? {
            Some(raw) => u64::from_be_bytes(
                raw.as_ref()
                    .try_into()
                    .map_err(|_| Error::backend(NAME, "the version epoch is corrupt"))?,
            ),
            None => 0,
        };
        let epoch = last + 1;
        if epoch >= 1 << (64 - EPOCH_SHIFT) {
            return Err(Error::backend(
                NAME,
                "the database has used up its version space",
            ));
        }
        self.meta
            .insert(EPOCH_KEY, epoch.to_be_bytes())
            .map_err(fjall_error)?;
        self.db.persist(PersistMode::SyncAll).map_err(fjall_error)?;
        // Epoch 0 is never used: records from before versions read as version 0.
        Ok(((epoch << EPOCH_SHIFT) + 1, (epoch + 1) << EPOCH_SHIFT))
    }

    fn next(&self) -> Result<Version> {
        let mut range = self.range.lock().unwrap_or_else(PoisonError::into_inner);
        if range.0 >= range.1 {
            *range = self.new_epoch()?;
        }
        let version = range.0;
        range.0 += 1;
        Ok(Version::from_u64(version))
    }
}
