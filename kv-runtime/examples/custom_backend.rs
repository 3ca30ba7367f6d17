//! A backend of your own: records in a `BTreeMap` behind a mutex, registered under the
//! name `btree`, and held to the whole conformance kit.
//!
//! Run it with `cargo run -p kv-runtime --example custom_backend --features conformance`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::{BoxFuture, FutureExt as _, ready};
use kv_runtime::backend::{
    Backend, BackendFactory, ChangeHub, ChangeStream, Condition, ListPage, ListQuery, ListedKey,
    NewRecord, Payload, Record, RecordHead, StoreContext, StoredValue, collect,
};
use kv_runtime::conformance::Target;
use kv_runtime::{
    Bytes, Change, Config, Error, Result, Runtime, RuntimeBuilder, StoreConfig, Version,
};

/// Each key's value and head.
type Records = BTreeMap<String, (Bytes, RecordHead)>;

/// One store: its records, the last version issued, and its watchers.
#[derive(Debug, Default)]
struct BTreeBackend {
    state: Mutex<(Records, u64)>,
    changes: ChangeHub,
}

impl BTreeBackend {
    /// Checks every record's condition against the records live at `now`, then writes
    /// them all under one lock: all or nothing.
    fn write(&self, records: Vec<NewRecord<Bytes>>, now: u64) -> Result<Vec<Version>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (map, last) = &mut *state;
        for record in &records {
            let current = live(map, &record.key, now);
            if !record.condition.holds(current) {
                return Err(Error::conflict(&record.key, record.condition, current));
            }
        }
        let mut versions = Vec::with_capacity(records.len());
        for record in records {
            *last += 1;
            let version = Version::from_u64(*last);
            let head = record.head(version);
            self.changes
                .publish(Change::put(&record.key, version, head.expiration));
            map.insert(record.key, (record.value, head));
            versions.push(version);
        }
        Ok(versions)
    }
}

/// The version of `key`'s record if it is live at `now`.
fn live(map: &Records, key: &str, now: u64) -> Option<Version> {
    map.get(key)
        .filter(|(_, head)| !head.is_expired(now))
        .map(|(_, head)| head.version)
}

impl Backend for BTreeBackend {
    fn name(&self) -> &'static str {
        "btree"
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Record>>> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let record = state
            .0
            .get(key)
            .map(|(value, head)| Record::new(head.clone(), StoredValue::Inline(value.clone())));
        ready(Ok(record)).boxed()
    }

    fn put(&self, record: NewRecord, now: u64) -> BoxFuture<'_, Result<Version>> {
        async move {
            // This backend keeps values whole: a stream is read to its end first (it
            // arrives limited to the store's max_value_size).
            let value = match record.value {
                Payload::Bytes(bytes) => bytes,
                Payload::Stream(stream) => collect(stream, 0).await?,
                _ => return Err(Error::backend("btree", "unknown payload")),
            };
            let whole = NewRecord::new(record.key, value)
                .with_expiration(record.expiration)
                .with_metadata(record.metadata)
                .with_condition(record.condition);
            let versions = self.write(vec![whole], now)?;
            versions
                .into_iter()
                .next()
                .ok_or_else(|| Error::backend("btree", "nothing written"))
        }
        .boxed()
    }

    fn put_many(
        &self,
        records: Vec<NewRecord<Bytes>>,
        now: u64,
    ) -> BoxFuture<'_, Result<Vec<Version>>> {
        ready(self.write(records, now)).boxed()
    }

    fn delete<'a>(
        &'a self,
        key: &'a str,
        condition: Condition,
        now: u64,
    ) -> BoxFuture<'a, Result<bool>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let current = live(&state.0, key, now);
        let result = if condition.holds(current) {
            state.0.remove(key);
            if current.is_some() {
                self.changes.publish(Change::delete(key));
            }
            Ok(current.is_some())
        } else {
            Err(Error::conflict(key, condition, current))
        };
        ready(result).boxed()
    }

    fn delete_many(&self, keys: Vec<String>, now: u64) -> BoxFuture<'_, Result<u64>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut removed = 0;
        for key in keys {
            if live(&state.0, &key, now).is_some() {
                removed += 1;
                self.changes.publish(Change::delete(&key));
            }
            state.0.remove(&key);
        }
        ready(Ok(removed)).boxed()
    }

    fn touch<'a>(
        &'a self,
        key: &'a str,
        expiration: Option<u64>,
        now: u64,
    ) -> BoxFuture<'a, Result<Option<Version>>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (map, last) = &mut *state;
        let touched = match (live(map, key, now), map.get_mut(key)) {
            (Some(_), Some((_, head))) => {
                *last += 1;
                head.version = Version::from_u64(*last);
                head.expiration = expiration;
                self.changes
                    .publish(Change::put(key, head.version, expiration));
                Some(head.version)
            }
            _ => None,
        };
        ready(Ok(touched)).boxed()
    }

    fn list(&self, query: ListQuery) -> BoxFuture<'_, Result<ListPage>> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut live_keys = state
            .0
            .range(query.prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&query.prefix))
            .filter(|(key, (_, head))| query.admits(key) && !head.is_expired(query.now));
        let keys: Vec<ListedKey> = live_keys
            .by_ref()
            .take(query.limit)
            .map(|(key, (_, head))| ListedKey::new(key.clone(), head.clone()))
            .collect();
        let more = live_keys.next().is_some();
        ready(Ok(ListPage::new(keys, more))).boxed()
    }

    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<u64>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let before = state.0.len();
        state.0.retain(|key, (_, head)| {
            let expired = head.is_expired(now);
            if expired {
                self.changes.publish(Change::expired(key.as_str()));
            }
            !expired
        });
        ready(Ok((before - state.0.len()) as u64)).boxed()
    }

    fn watch<'a>(&'a self, prefix: &'a str, buffer: usize) -> BoxFuture<'a, Result<ChangeStream>> {
        ready(Ok(self.changes.subscribe(prefix, buffer))).boxed()
    }
}

/// Opens one `BTreeBackend` per store. Backends that connect to a server check their
/// settings and connect in `prepare`; this one needs neither.
#[derive(Debug, Default)]
struct BTreeFactory;

impl BackendFactory for BTreeFactory {
    fn open(&self, _store: &StoreContext<'_>) -> Result<Arc<dyn Backend>> {
        Ok(Arc::new(BTreeBackend::default()))
    }
}

/// The conformance kit's view of the backend: a fresh runtime per test, with every
/// store on `btree`.
#[derive(Debug, Clone)]
struct BTreeTarget;

impl Target for BTreeTarget {
    type Place = ();

    fn place(&self) -> BoxFuture<'static, ()> {
        ready(()).boxed()
    }

    fn runtime(&self, _place: &(), store: StoreConfig) -> RuntimeBuilder {
        let mut config = Config::default();
        config.defaults = store.backend("btree");
        Runtime::builder()
            .config(config)
            .backend("btree", BTreeFactory)
    }

    fn persistent(&self) -> bool {
        false
    }
}

fn main() {
    // Every behaviour the built-in backends pass; a failure panics, naming it.
    kv_runtime::conformance::run_all(BTreeTarget);
    eprintln!("the btree backend passes the conformance kit");
}
