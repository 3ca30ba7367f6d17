//! Writes: per-key stripe locks, conditions, and the batches that replace, touch and
//! remove records (with their chunks and expiry-index entries) atomically.

use std::hash::BuildHasher as _;
use std::sync::atomic::Ordering;
use std::sync::{MutexGuard, PoisonError};

use bytes::Bytes;

use super::blobs::Staged;
use super::codec;
use super::{Inner, fjall_error};
use crate::backend::{Condition, RecordHead};
use crate::change::Change;
use crate::error::{Error, Result};
use crate::version::Version;

/// One record of a write, its value staged.
pub(super) struct StagedRecord {
    pub(super) key: String,
    pub(super) expiration: Option<u64>,
    pub(super) metadata: Option<Bytes>,
    pub(super) condition: Condition,
    pub(super) value: Staged,
}

impl Inner {
    fn stripe_index(&self, key: &[u8]) -> usize {
        (self.hasher.hash_one(key) as usize) % self.stripes.len()
    }

    pub(super) fn lock_stripe(&self, key: &str) -> MutexGuard<'_, ()> {
        self.stripes[self.stripe_index(key.as_bytes())]
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
            return vec![self.lock_stripe(key)];
        }
        let mut indexes: Vec<usize> = keys.map(|k| self.stripe_index(k.as_bytes())).collect();
        indexes.sort_unstable();
        indexes.dedup();
        indexes
            .into_iter()
            .map(|i| {
                self.stripes[i]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
            })
            .collect()
    }

    /// The current record of `key` (expired or not), raw. The caller holds its stripe.
    fn current(&self, key: &str) -> Result<Option<Bytes>> {
        Ok(self.data.get(key).map_err(fjall_error)?.map(Bytes::from))
    }

    /// The head of `key`'s record if it is live at `now`. The caller holds its stripe.
    fn live_head(&self, key: &str, now: u64) -> Result<Option<RecordHead>> {
        let Some(raw) = self.current(key)? else {
            return Ok(None);
        };
        let head = codec::decode_head(&raw)?;
        Ok((!head.is_expired(now)).then_some(head))
    }

    fn check(&self, key: &str, condition: Condition, now: u64) -> Result<Option<RecordHead>> {
        let live = self.live_head(key, now)?;
        let current = live.as_ref().map(|h| h.version);
        if condition.holds(current) {
            Ok(live)
        } else {
            Err(Error::conflict(key, condition, current))
        }
    }

    /// Replaces each key's record with its staged value, all in one batch, if every
    /// condition holds; returns the new versions in order.
    pub(super) fn commit(&self, mut items: Vec<StagedRecord>, now: u64) -> Result<Vec<Version>> {
        let _guards = self.lock_keys(items.iter().map(|item| item.key.as_str()));
        for item in items.iter().filter(|i| i.condition != Condition::Always) {
            self.check(&item.key, item.condition, now)?;
        }
        // The common put — one small value, no expiration, no chunks anywhere — is a
        // single insert: nothing else has to change with it.
        if let [item] = items.as_slice()
            && matches!(item.value, Staged::Inline(_))
            && item.expiration.is_none()
            && !self.has_references.load(Ordering::SeqCst)
            && let Some(item) = items.pop()
            && let Staged::Inline(value) = item.value
        {
            let version = self.database.next_version()?;
            let head = RecordHead::new(version, None, item.metadata);
            let record = codec::encode(&head, &codec::Value::Inline(value));
            self.data.insert(&item.key, record).map_err(fjall_error)?;
            self.changes.publish(Change::put(item.key, version, None));
            return Ok(vec![version]);
        }
        let mut batch = self.db.batch();
        let mut blobs = Vec::new();
        let mut written = Vec::with_capacity(items.len());
        for item in items {
            let version = self.database.next_version()?;
            // The insert below replaces the record; only old chunks need removing.
            self.remove_chunks(&mut batch, &item.key)?;
            let value = match &item.value {
                Staged::Inline(bytes) => codec::Value::Inline(bytes.clone()),
                Staged::Blob(blob) => {
                    self.adopt_blob(&mut batch, &item.key, blob);
                    codec::Value::Blob(blob.reference())
                }
            };
            if let Some(at) = item.expiration {
                batch.insert(&self.expiry, codec::expiry_key(at, &item.key), Bytes::new());
            }
            let head = RecordHead::new(version, item.expiration, item.metadata);
            batch.insert(&self.data, item.key.as_str(), codec::encode(&head, &value));
            if let Staged::Blob(blob) = item.value {
                blobs.push(blob);
            }
            written.push((item.key, version, item.expiration));
        }
        batch.commit().map_err(fjall_error)?;
        for blob in &mut blobs {
            blob.committed = true;
        }
        let versions = written.iter().map(|(_, v, _)| *v).collect();
        for (key, version, expiration) in written {
            self.changes.publish(Change::put(key, version, expiration));
        }
        Ok(versions)
    }

    /// Removes `key` if `condition` holds; returns whether a live record went.
    pub(super) fn delete(&self, key: &str, condition: Condition, now: u64) -> Result<bool> {
        let _guard = self.lock_stripe(key);
        let live = self.check(key, condition, now)?.is_some();
        self.remove_keys(std::iter::once((key, live)))?;
        Ok(live)
    }

    /// Removes every key in one batch; returns how many live records went.
    pub(super) fn delete_many(&self, keys: &[String], now: u64) -> Result<u64> {
        let _guards = self.lock_keys(keys.iter().map(String::as_str));
        let mut removed = Vec::with_capacity(keys.len());
        for key in keys {
            removed.push((key.as_str(), self.live_head(key, now)?.is_some()));
        }
        let live = removed.iter().filter(|(_, live)| *live).count() as u64;
        self.remove_keys(removed.into_iter())?;
        Ok(live)
    }

    /// Removes records and their chunks in one batch, then tells watchers about the
    /// live ones. The caller holds the keys' stripes.
    fn remove_keys<'k>(&self, keys: impl Iterator<Item = (&'k str, bool)> + Clone) -> Result<()> {
        let mut batch = self.db.batch();
        for (key, _) in keys.clone() {
            batch.remove(&self.data, key);
            self.remove_chunks(&mut batch, key)?;
        }
        batch.commit().map_err(fjall_error)?;
        for (key, live) in keys {
            if live {
                self.changes.publish(Change::delete(key));
            }
        }
        Ok(())
    }

    /// Sets the expiration of `key`'s live record, keeping its value and metadata,
    /// under a new version.
    pub(super) fn touch(
        &self,
        key: &str,
        expiration: Option<u64>,
        now: u64,
    ) -> Result<Option<Version>> {
        let _guard = self.lock_stripe(key);
        let Some(raw) = self.current(key)? else {
            return Ok(None);
        };
        let (value, head) = codec::decode(raw)?;
        if head.is_expired(now) {
            return Ok(None);
        }
        let version = self.database.next_version()?;
        let head = RecordHead::new(version, expiration, head.metadata);
        let mut batch = self.db.batch();
        if let Some(at) = expiration {
            batch.insert(&self.expiry, codec::expiry_key(at, key), Bytes::new());
        }
        batch.insert(&self.data, key, codec::encode(&head, &value));
        batch.commit().map_err(fjall_error)?;
        self.changes.publish(Change::put(key, version, expiration));
        Ok(Some(version))
    }

    /// Removes the record an expiry-index entry points at if it still carries that
    /// expiration, and the entry itself either way (a later put, touch or delete left
    /// it stale). Returns whether a record went.
    pub(super) fn purge_entry(&self, entry: &[u8]) -> Result<bool> {
        let key = codec::split_expiry_key(entry)
            .and_then(|(at, key)| Some((at, std::str::from_utf8(key).ok()?)));
        let Some((at, key)) = key else {
            self.expiry.remove(entry).map_err(fjall_error)?;
            return Ok(false);
        };
        let _guard = self.lock_stripe(key);
        let mut batch = self.db.batch();
        let expired = match self.current(key)? {
            Some(raw) => codec::decode_head(&raw)?.expiration == Some(at),
            None => false,
        };
        if expired {
            batch.remove(&self.data, key);
            self.remove_chunks(&mut batch, key)?;
        }
        batch.remove(&self.expiry, entry);
        batch.commit().map_err(fjall_error)?;
        if expired {
            self.changes.publish(Change::expired(key));
        }
        Ok(expired)
    }
}
