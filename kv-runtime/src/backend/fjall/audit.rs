//! An audit of one store's keyspaces on disk, for the crash harness
//! (`kv-runtime/examples/crash`): every record decodes, every chunked record has its
//! chunks and its reference, every expiration its expiry-index entry, and no chunk,
//! pending marker or reference belongs to nothing. Feature `audit`; not a stable API.
//!
//! It opens the data directory itself, so the runtime that used it must be closed
//! (dropped) first; the open that ran before it has already reclaimed what a crash
//! interrupted, so an audit finds no pending marker unless that reclamation failed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bytes::Bytes;
use fjall::{Database, Keyspace, KeyspaceCreateOptions};

use super::codec::{self, BlobRef};
use super::{CHUNK_BYTES, NAME, fjall_error};
use crate::error::{Error, Result};

/// What an audit counted and found wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FjallAudit {
    /// Records in the store.
    pub records: u64,
    /// Records whose value is in chunks.
    pub chunked_records: u64,
    /// Chunks in the store's blob keyspace.
    pub chunks: u64,
    /// Entries of the expiry index (stale ones included: the purge removes those).
    pub expiry_entries: u64,
    /// Every inconsistency, one sentence each; empty when the store is sound.
    pub problems: Vec<String>,
}

/// Audits store `store` of the fjall database in `data_dir` (see the module docs).
///
/// # Errors
///
/// [`Error::Locked`] while a runtime has the directory open; [`Error::Backend`] if the
/// database cannot be opened or read, or has no such store.
pub fn audit_fjall_store(data_dir: &Path, store: &str) -> Result<FjallAudit> {
    let db = Database::builder(data_dir)
        .open()
        .map_err(|err| match err {
            fjall::Error::Locked => Error::Locked {
                path: data_dir.to_path_buf(),
            },
            other => fjall_error(other),
        })?;
    let names = [
        store.to_owned(),
        format!("{store}.expiry"),
        format!("{store}.blobs"),
    ];
    if let Some(missing) = names.iter().find(|name| !db.keyspace_exists(name)) {
        return Err(Error::backend(NAME, format!("no keyspace {missing:?}")));
    }
    let open = |name: &str| db.keyspace(name, KeyspaceCreateOptions::default);
    let data = open(&names[0]).map_err(fjall_error)?;
    let expiry = open(&names[1]).map_err(fjall_error)?;
    let blobs = open(&names[2]).map_err(fjall_error)?;
    let mut audit = FjallAudit::default();
    let blob_keys = BlobKeys::read(&blobs)?;
    audit.chunks = blob_keys.chunks.values().map(|c| c.len() as u64).sum();
    let expiry_entries = entries(&expiry)?;
    audit.expiry_entries = expiry_entries.len() as u64;

    // Each record: decodes, has its chunks and reference, and its expiry entry.
    let mut claimed = BTreeSet::new();
    for guard in data.iter() {
        let (key, raw) = guard.into_inner().map_err(fjall_error)?;
        let key = String::from_utf8_lossy(&key).into_owned();
        audit.records += 1;
        let (value, head) = match codec::decode(Bytes::from(raw)) {
            Ok(decoded) => decoded,
            Err(error) => {
                audit
                    .problems
                    .push(format!("record {key:?} does not decode: {error}"));
                continue;
            }
        };
        if let Some(at) = head.expiration
            && !expiry_entries.contains(&codec::expiry_key(at, &key))
        {
            audit.problems.push(format!(
                "record {key:?} expires at {at} but the expiry index has no entry for it"
            ));
        }
        match value {
            codec::Value::Inline(_) => {
                if blob_keys.references.contains_key(&key) {
                    audit.problems.push(format!(
                        "record {key:?} is inline but a blob reference names it"
                    ));
                }
            }
            codec::Value::Blob(blob) => {
                audit.chunked_records += 1;
                claimed.insert(blob.id);
                blob_keys.check_record(&key, blob, &mut audit.problems);
            }
        }
    }

    // What no record claims.
    for (id, chunks) in &blob_keys.chunks {
        if !claimed.contains(id) {
            let bytes: u64 = chunks.values().sum();
            audit.problems.push(format!(
                "blob {id}: {} chunks ({bytes} bytes) belong to no record (orphaned)",
                chunks.len()
            ));
        }
    }
    for id in &blob_keys.pending {
        audit.problems.push(format!(
            "blob {id} still has its pending marker after the store was opened"
        ));
    }
    for (key, blob) in &blob_keys.references {
        if !claimed.contains(&blob.id) {
            audit.problems.push(format!(
                "the blob reference of {key:?} (blob {}) has no chunked record",
                blob.id
            ));
        }
    }
    for key in &blob_keys.unknown {
        audit
            .problems
            .push(format!("unknown key {key:?} in the blob keyspace"));
    }
    Ok(audit)
}

/// Every key of `keyspace`.
fn entries(keyspace: &Keyspace) -> Result<BTreeSet<Vec<u8>>> {
    let mut keys = BTreeSet::new();
    for guard in keyspace.iter() {
        keys.insert(guard.key().map_err(fjall_error)?.to_vec());
    }
    Ok(keys)
}

/// The blob keyspace, sorted out.
#[derive(Default)]
struct BlobKeys {
    /// Blob id → chunk index → chunk length.
    chunks: BTreeMap<u64, BTreeMap<u32, u64>>,
    pending: BTreeSet<u64>,
    /// Record key → the blob its reference names.
    references: BTreeMap<String, BlobRef>,
    unknown: Vec<String>,
}

impl BlobKeys {
    fn read(blobs: &Keyspace) -> Result<Self> {
        let mut out = Self::default();
        for guard in blobs.iter() {
            let (key, value) = guard.into_inner().map_err(fjall_error)?;
            let chunk = key
                .get(9..)
                .and_then(|index| <[u8; 4]>::try_from(index).ok())
                .map(u32::from_be_bytes);
            match (key.first().copied(), codec::chunk_id(&key), chunk) {
                (Some(codec::CHUNK_TAG), Some(id), Some(index)) => {
                    out.chunks
                        .entry(id)
                        .or_default()
                        .insert(index, value.len() as u64);
                }
                (Some(codec::PENDING_TAG), _, _) if codec::pending_id(&key).is_some() => {
                    out.pending.extend(codec::pending_id(&key));
                }
                (Some(codec::REFERENCE_TAG), _, _) => {
                    let name = String::from_utf8_lossy(&key[1..]).into_owned();
                    match codec::decode_reference(&value) {
                        Ok(blob) => {
                            out.references.insert(name, blob);
                        }
                        Err(_) => out.unknown.push(format!("r{name} (undecodable reference)")),
                    }
                }
                _ => out.unknown.push(String::from_utf8_lossy(&key).into_owned()),
            }
        }
        Ok(out)
    }

    /// Whether the chunked record `key` has its reference and exactly its chunks.
    fn check_record(&self, key: &str, blob: BlobRef, problems: &mut Vec<String>) {
        match self.references.get(key) {
            Some(reference) if *reference == blob => {}
            Some(reference) => problems.push(format!(
                "record {key:?} is in blob {} but its reference names blob {}",
                blob.id, reference.id
            )),
            None => problems.push(format!(
                "record {key:?} is in blob {} but has no blob reference",
                blob.id
            )),
        }
        let chunks = self.chunks.get(&blob.id);
        let mut bytes = 0;
        for index in 0..blob.chunks {
            match chunks.and_then(|c| c.get(&index)) {
                Some(&len) if len == 0 || len > CHUNK_BYTES as u64 => problems.push(format!(
                    "record {key:?}: chunk {index} of blob {} holds {len} bytes",
                    blob.id
                )),
                Some(&len) => bytes += len,
                None => problems.push(format!(
                    "record {key:?}: chunk {index} of blob {} is missing",
                    blob.id
                )),
            }
        }
        let extra = chunks.map_or(0, |c| c.range(blob.chunks..).count());
        if extra > 0 {
            problems.push(format!(
                "record {key:?}: blob {} has {extra} chunks past its last ({})",
                blob.id, blob.chunks
            ));
        }
        if bytes != blob.len && chunks.is_some() {
            problems.push(format!(
                "record {key:?}: the chunks of blob {} hold {bytes} bytes, the record says {}",
                blob.id, blob.len
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::backend::fjall::database::FjallDatabase;
    use crate::backend::fjall::{DEFAULT_MEMTABLE_BYTES, DatabaseSettings, FjallBackend};
    use crate::backend::{Backend as _, NewRecord, Payload};
    use crate::config::Durability;

    const SETTINGS: DatabaseSettings = DatabaseSettings {
        block_cache_bytes: 1 << 20,
        memtable_bytes: DEFAULT_MEMTABLE_BYTES,
    };

    async fn put(store: &FjallBackend, key: &str, len: usize, expiration: Option<u64>) {
        let value = Payload::Bytes(Bytes::from(vec![5; len]));
        let record = NewRecord::new(key, value).with_expiration(expiration);
        store.put(record, 0).await.unwrap();
    }

    /// A sound store audits clean; each kind of damage written under it is named.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sound_store_is_clean_and_each_kind_of_damage_is_found() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = FjallDatabase::open(dir.path(), SETTINGS).await.unwrap();
            let store = FjallBackend::open(&db, "s", Durability::Buffered).unwrap();
            put(&store, "small", 10, Some(1_000)).await;
            put(&store, "big", 3 * CHUNK_BYTES + 1, None).await;
            put(&store, "replaced", 2 * CHUNK_BYTES, None).await;
            put(&store, "replaced", 5, None).await;
        }
        let clean = audit_fjall_store(dir.path(), "s").unwrap();
        assert_eq!(clean.problems, Vec::<String>::new());
        assert_eq!((clean.records, clean.chunked_records), (3, 1));
        assert_eq!((clean.chunks, clean.expiry_entries), (4, 1));

        // Damage it behind the backend's back: an orphaned chunk, a pending marker, a
        // missing chunk of "big", a missing expiry entry of "small".
        {
            let db = Database::builder(dir.path()).open().unwrap();
            let ks = |name: &str| db.keyspace(name, KeyspaceCreateOptions::default).unwrap();
            let (data, expiry, blobs) = (ks("s"), ks("s.expiry"), ks("s.blobs"));
            let raw = data.get("big").unwrap().unwrap();
            let codec::Value::Blob(big) = codec::decode(Bytes::from(raw)).unwrap().0 else {
                panic!("big is chunked");
            };
            blobs.insert(codec::chunk_key(999, 0), [1u8; 7]).unwrap();
            blobs.insert(codec::pending_key(998), b"").unwrap();
            blobs.remove(codec::chunk_key(big.id, 1)).unwrap();
            expiry.remove(codec::expiry_key(1_000, "small")).unwrap();
        }
        let damaged = audit_fjall_store(dir.path(), "s").unwrap();
        let expected = [
            "expires at 1000 but the expiry index has no entry",
            "chunk 1 of blob",
            "blob 999: 1 chunks (7 bytes) belong to no record (orphaned)",
            "blob 998 still has its pending marker",
        ];
        for what in expected {
            assert!(
                damaged.problems.iter().any(|p| p.contains(what)),
                "{what:?} not in {:#?}",
                damaged.problems
            );
        }
        assert_eq!(damaged.problems.len(), 5, "{:#?}", damaged.problems);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_open_directory_or_a_missing_store_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = FjallDatabase::open(dir.path(), SETTINGS).await.unwrap();
        let _store = FjallBackend::open(&db, "s", Durability::Buffered).unwrap();
        let err = audit_fjall_store(dir.path(), "s").unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err:?}");
        drop((_store, db));
        let err = audit_fjall_store(dir.path(), "other").unwrap_err();
        assert!(err.to_string().contains("fjall backend failed"), "{err}");
    }
}
