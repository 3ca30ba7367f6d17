//! The memory backend: a sorted map behind a lock. For tests and ephemeral caches.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{PoisonError, RwLock};

use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt as _, ready};

use super::{
    Backend, BulkItem, ListPage, ListQuery, ListedKey, Record, RecordHead, StoredValue, collect,
};
use crate::error::Result;
use crate::expiration::is_expired;
use crate::value::Payload;

/// One store's records, in memory. Nothing survives the process.
#[derive(Debug, Default)]
pub(crate) struct MemoryBackend {
    records: RwLock<BTreeMap<String, (Bytes, RecordHead)>>,
}

impl MemoryBackend {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, (Bytes, RecordHead)>> {
        self.records.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup(&self, key: &str) -> Option<Record> {
        let records = self.records.read().unwrap_or_else(PoisonError::into_inner);
        records.get(key).map(|(value, head)| Record {
            value: StoredValue::Inline(value.clone()),
            head: head.clone(),
        })
    }

    fn list_now(&self, query: &ListQuery) -> ListPage {
        let records = self.records.read().unwrap_or_else(PoisonError::into_inner);
        let lower = match &query.start_after {
            Some(after) => Bound::Excluded(after.as_str()),
            None => Bound::Included(query.prefix.as_str()),
        };
        let mut live = records
            .range::<str, _>((lower, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(&query.prefix))
            .filter(|(_, (_, head))| !is_expired(head.expiration, query.now));
        let keys: Vec<ListedKey> = live
            .by_ref()
            .take(query.limit)
            .map(|(name, (_, head))| ListedKey {
                name: name.clone(),
                head: head.clone(),
            })
            .collect();
        let more = live.next().is_some();
        ListPage { keys, more }
    }
}

impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Record>>> {
        ready(Ok(self.lookup(key))).boxed()
    }

    fn get_now(&self, key: &str) -> Option<Result<Option<Record>>> {
        Some(Ok(self.lookup(key)))
    }

    fn put(&self, key: String, head: RecordHead, value: Payload) -> BoxFuture<'_, Result<()>> {
        async move {
            let value = match value {
                Payload::Bytes(bytes) => bytes,
                Payload::Stream(stream) => collect(stream, 0).await?,
            };
            self.write().insert(key, (value, head));
            Ok(())
        }
        .boxed()
    }

    fn put_many(&self, items: Vec<BulkItem>) -> BoxFuture<'_, Result<()>> {
        let mut records = self.write();
        for item in items {
            records.insert(item.key, (item.value, item.head));
        }
        ready(Ok(())).boxed()
    }

    fn delete(&self, key: String) -> BoxFuture<'_, Result<()>> {
        self.write().remove(&key);
        ready(Ok(())).boxed()
    }

    fn delete_many(&self, keys: Vec<String>) -> BoxFuture<'_, Result<()>> {
        let mut records = self.write();
        for key in keys {
            records.remove(&key);
        }
        ready(Ok(())).boxed()
    }

    fn list(&self, query: ListQuery) -> BoxFuture<'_, Result<ListPage>> {
        ready(Ok(self.list_now(&query))).boxed()
    }

    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<u64>> {
        let mut records = self.write();
        let before = records.len();
        records.retain(|_, (_, head)| !is_expired(head.expiration, now));
        ready(Ok((before - records.len()) as u64)).boxed()
    }
}
