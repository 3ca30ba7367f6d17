//! Reads: point reads (a snapshot for chunked values), listing pages, counting, and
//! the purge's walk of the expiry index.

use std::sync::Arc;

use bytes::Bytes;
use fjall::Readable as _;

use super::blobs::chunk_stream;
use super::codec;
use super::{Inner, NAME, fjall_error};
use crate::backend::{ListPage, ListQuery, ListedKey, Record, RecordHead, StoredValue};
use crate::error::{Error, Result};

impl Inner {
    pub(super) fn get(self: &Arc<Self>, key: &str) -> Result<Option<Record>> {
        let Some(raw) = self.data.get(key).map_err(fjall_error)? else {
            return Ok(None);
        };
        match codec::decode(Bytes::from(raw))? {
            (codec::Value::Inline(value), head) => {
                Ok(Some(Record::new(head, StoredValue::Inline(value))))
            }
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
                Ok(Some(Record::new(head, value)))
            }
        }
    }

    pub(super) fn head(&self, key: &str) -> Result<Option<RecordHead>> {
        match self.data.get(key).map_err(fjall_error)? {
            Some(raw) => Ok(Some(codec::decode_head(&Bytes::from(raw))?)),
            None => Ok(None),
        }
    }

    /// Calls `visit` with each live key under `query`'s prefix after its start, in
    /// order, until it returns `false`.
    fn scan(
        &self,
        query: &ListQuery,
        mut visit: impl FnMut(fjall::UserKey, RecordHead) -> Result<bool>,
    ) -> Result<()> {
        let iter = match &query.start_after {
            Some(after) => self.data.range::<&[u8], _>((
                std::ops::Bound::Excluded(after.as_bytes()),
                std::ops::Bound::Unbounded,
            )),
            None => self.data.prefix(query.prefix.as_bytes()),
        };
        for guard in iter {
            let (key, raw) = guard.into_inner().map_err(fjall_error)?;
            if !key.starts_with(query.prefix.as_bytes()) {
                break;
            }
            let head = codec::decode_head(&Bytes::from(raw))?;
            if head.is_expired(query.now) {
                continue;
            }
            if !visit(key, head)? {
                break;
            }
        }
        Ok(())
    }

    pub(super) fn list(&self, query: &ListQuery) -> Result<ListPage> {
        let mut page = ListPage::default();
        self.scan(query, |key, head| {
            if page.keys.len() == query.limit {
                page.more = true;
                return Ok(false);
            }
            let name = String::from_utf8(key.to_vec()).map_err(|e| Error::backend(NAME, e))?;
            page.keys.push(ListedKey::new(name, head));
            Ok(true)
        })?;
        Ok(page)
    }

    pub(super) fn count(&self, prefix: &str, now: u64) -> Result<u64> {
        let mut count = 0;
        self.scan(&ListQuery::new(prefix, 1, now), |_, _| {
            count += 1;
            Ok(true)
        })?;
        Ok(count)
    }

    /// Walks the expiry index up to `now`, removing what expired, a batch of index
    /// entries at a time.
    pub(super) fn purge(&self, now: u64) -> Result<u64> {
        const BATCH: usize = 1024;
        let end = now.saturating_add(1).to_be_bytes();
        let mut removed = 0;
        let mut pending = Vec::with_capacity(BATCH);
        for guard in self.expiry.range::<&[u8], _>(..end.as_slice()) {
            pending.push(guard.key().map_err(fjall_error)?);
            if pending.len() == BATCH {
                for entry in pending.drain(..) {
                    removed += u64::from(self.purge_entry(&entry)?);
                }
            }
        }
        for entry in pending {
            removed += u64::from(self.purge_entry(&entry)?);
        }
        Ok(removed)
    }
}
