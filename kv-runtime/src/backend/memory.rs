//! The memory backend: a sorted map behind a lock. For tests and ephemeral caches.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};

use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt as _, ready};

use super::{
    Backend, BackendFactory, ChangeHub, ChangeStream, Condition, ListPage, ListQuery, ListedKey,
    NewRecord, Payload, Record, RecordHead, StoreContext, StoredValue, collect,
};
use crate::change::Change;
use crate::error::{Error, Result};
use crate::version::Version;

pub(crate) const NAME: &str = "memory";

/// Opens a fresh, empty memory backend per store.
#[derive(Debug, Default)]
pub(crate) struct MemoryFactory;

impl BackendFactory for MemoryFactory {
    fn open(&self, _store: &StoreContext<'_>) -> Result<Arc<dyn Backend>> {
        Ok(Arc::new(MemoryBackend::new()))
    }
}

#[derive(Debug, Default)]
struct State {
    records: BTreeMap<String, (Bytes, RecordHead)>,
    /// The last version issued.
    version: u64,
}

impl State {
    fn next_version(&mut self) -> Version {
        self.version += 1;
        Version::from_u64(self.version)
    }

    /// The version of `key`'s live record at `now`.
    fn live_version(&self, key: &str, now: u64) -> Option<Version> {
        self.records
            .get(key)
            .filter(|(_, head)| !head.is_expired(now))
            .map(|(_, head)| head.version)
    }

    fn check(&self, key: &str, condition: Condition, now: u64) -> Result<()> {
        let current = self.live_version(key, now);
        if condition.holds(current) {
            Ok(())
        } else {
            Err(Error::conflict(key, condition, current))
        }
    }
}

/// One store's records, in memory. Nothing survives the process.
#[derive(Debug, Default)]
pub(crate) struct MemoryBackend {
    state: RwLock<State>,
    changes: ChangeHub,
}

impl MemoryBackend {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup(&self, key: &str) -> Option<Record> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state
            .records
            .get(key)
            .map(|(value, head)| Record::new(head.clone(), StoredValue::Inline(value.clone())))
    }

    fn insert(&self, record: NewRecord<Bytes>, now: u64) -> Result<Version> {
        let mut state = self.write();
        state.check(&record.key, record.condition, now)?;
        let version = state.next_version();
        let head = record.head(version);
        let expiration = head.expiration;
        state
            .records
            .insert(record.key.clone(), (record.value, head));
        self.changes
            .publish(Change::put(record.key, version, expiration));
        Ok(version)
    }

    fn list_now(&self, query: &ListQuery) -> ListPage {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let lower = match &query.start_after {
            Some(after) => Bound::Excluded(after.as_str()),
            None => Bound::Included(query.prefix.as_str()),
        };
        let mut live = state
            .records
            .range::<str, _>((lower, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(&query.prefix))
            .filter(|(_, (_, head))| !head.is_expired(query.now));
        let keys: Vec<ListedKey> = live
            .by_ref()
            .take(query.limit)
            .map(|(name, (_, head))| ListedKey::new(name.clone(), head.clone()))
            .collect();
        let more = live.next().is_some();
        ListPage::new(keys, more)
    }

    fn remove(&self, state: &mut State, key: &str, now: u64) -> bool {
        let removed = state.records.remove(key);
        let live = removed.is_some_and(|(_, head)| !head.is_expired(now));
        if live {
            self.changes.publish(Change::delete(key));
        }
        live
    }
}

impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Record>>> {
        ready(Ok(self.lookup(key))).boxed()
    }

    fn get_now(&self, key: &str) -> Option<Result<Option<Record>>> {
        Some(Ok(self.lookup(key)))
    }

    fn put(&self, record: NewRecord, now: u64) -> BoxFuture<'_, Result<Version>> {
        async move {
            let NewRecord {
                key,
                expiration,
                metadata,
                value,
                condition,
            } = record;
            let value = match value {
                Payload::Bytes(bytes) => bytes,
                Payload::Stream(stream) => collect(stream, 0).await?,
            };
            let record = NewRecord::new(key, value)
                .with_expiration(expiration)
                .with_metadata(metadata)
                .with_condition(condition);
            self.insert(record, now)
        }
        .boxed()
    }

    fn put_many(
        &self,
        records: Vec<NewRecord<Bytes>>,
        now: u64,
    ) -> BoxFuture<'_, Result<Vec<Version>>> {
        let mut state = self.write();
        let checked = records
            .iter()
            .try_for_each(|r| state.check(&r.key, r.condition, now));
        let result = checked.map(|()| {
            records
                .into_iter()
                .map(|record| {
                    let version = state.next_version();
                    let head = record.head(version);
                    let expiration = head.expiration;
                    state
                        .records
                        .insert(record.key.clone(), (record.value, head));
                    self.changes
                        .publish(Change::put(record.key, version, expiration));
                    version
                })
                .collect()
        });
        ready(result).boxed()
    }

    fn delete<'a>(
        &'a self,
        key: &'a str,
        condition: Condition,
        now: u64,
    ) -> BoxFuture<'a, Result<bool>> {
        let mut state = self.write();
        let result = state
            .check(key, condition, now)
            .map(|()| self.remove(&mut state, key, now));
        ready(result).boxed()
    }

    fn delete_many(&self, keys: Vec<String>, now: u64) -> BoxFuture<'_, Result<u64>> {
        let mut state = self.write();
        let removed = keys
            .iter()
            .filter(|key| self.remove(&mut state, key, now))
            .count();
        ready(Ok(removed as u64)).boxed()
    }

    fn touch<'a>(
        &'a self,
        key: &'a str,
        expiration: Option<u64>,
        now: u64,
    ) -> BoxFuture<'a, Result<Option<Version>>> {
        let mut state = self.write();
        let touched = match state.live_version(key, now) {
            None => None,
            Some(_) => {
                let version = state.next_version();
                if let Some((_, head)) = state.records.get_mut(key) {
                    head.version = version;
                    head.expiration = expiration;
                }
                self.changes.publish(Change::put(key, version, expiration));
                Some(version)
            }
        };
        ready(Ok(touched)).boxed()
    }

    fn list(&self, query: ListQuery) -> BoxFuture<'_, Result<ListPage>> {
        ready(Ok(self.list_now(&query))).boxed()
    }

    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<u64>> {
        let mut state = self.write();
        let expired: Vec<String> = state
            .records
            .iter()
            .filter(|(_, (_, head))| head.is_expired(now))
            .map(|(key, _)| key.clone())
            .collect();
        for key in &expired {
            state.records.remove(key);
            self.changes.publish(Change::expired(key.as_str()));
        }
        ready(Ok(expired.len() as u64)).boxed()
    }

    fn watch<'a>(&'a self, prefix: &'a str, buffer: usize) -> BoxFuture<'a, Result<ChangeStream>> {
        ready(Ok(self.changes.subscribe(prefix, buffer))).boxed()
    }
}
