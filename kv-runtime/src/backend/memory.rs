//! The memory backend: a sorted map behind a lock. For tests and ephemeral caches.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{PoisonError, RwLock};

use futures_util::future::{BoxFuture, FutureExt as _, ready};

use super::{Backend, ListPage, ListQuery, ListedKey, Record};
use crate::error::Result;
use crate::expiration::is_expired;

/// One store's records, in memory. Nothing survives the process.
#[derive(Debug, Default)]
pub(crate) struct MemoryBackend {
    records: RwLock<BTreeMap<String, Record>>,
}

impl MemoryBackend {
    pub(crate) fn new() -> Self {
        Self::default()
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
            .filter(|(_, record)| !is_expired(record.expiration, query.now));
        let keys: Vec<ListedKey> = live
            .by_ref()
            .take(query.limit)
            .map(|(name, record)| ListedKey {
                name: name.clone(),
                expiration: record.expiration,
                metadata: record.metadata.clone(),
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
        let records = self.records.read().unwrap_or_else(PoisonError::into_inner);
        ready(Ok(records.get(key).cloned())).boxed()
    }

    fn put(&self, key: String, record: Record) -> BoxFuture<'_, Result<()>> {
        self.records
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, record);
        ready(Ok(())).boxed()
    }

    fn delete(&self, key: String) -> BoxFuture<'_, Result<()>> {
        self.records
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key);
        ready(Ok(())).boxed()
    }

    fn list(&self, query: ListQuery) -> BoxFuture<'_, Result<ListPage>> {
        ready(Ok(self.list_now(&query))).boxed()
    }

    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<u64>> {
        let mut records = self.records.write().unwrap_or_else(PoisonError::into_inner);
        let before = records.len();
        records.retain(|_, record| !is_expired(record.expiration, now));
        ready(Ok((before - records.len()) as u64)).boxed()
    }
}
