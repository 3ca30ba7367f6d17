//! Bulk operations: [`GetManyRequest`] and [`GetManyWithMetadataRequest`] read up to 100
//! keys at once; [`KvStore::put_many`] writes up to 10,000 (see [`put_many`]).

use std::collections::HashMap;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::backend::{Condition, NewRecord, Payload, Record, RecordHead, collect};
use crate::error::{Error, Result};
use crate::get::{ValueWithMetadata, into_bytes, metadata, text};
use crate::key::validate_key;
use crate::limits::MAX_GET_MANY_KEYS;
use crate::put::BulkPut;
use crate::store::{KvStore, bulk_item, check_bulk_count};
use crate::version::Version;

/// Validates every item (reading streamed values whole), keeps the later of two items
/// with one key, and writes them in one call to the backend.
pub(crate) async fn put_many(store: &KvStore, items: Vec<BulkPut>) -> Result<Vec<Version>> {
    check_bulk_count(items.len())?;
    let mut validated = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let key = item.key().to_owned();
        let record = item
            .validate(store)
            .map_err(|e| bulk_item(index, &key, e))?;
        let NewRecord {
            key,
            expiration,
            metadata,
            value,
            condition,
        } = record;
        let value = match value {
            Payload::Bytes(bytes) => bytes,
            Payload::Stream(stream) => collect(stream, 0)
                .await
                .map_err(|e| bulk_item(index, &key, e))?,
        };
        let record = NewRecord::new(key, value)
            .with_expiration(expiration)
            .with_metadata(metadata)
            .with_condition(condition);
        validated.push((index, record));
    }
    // The later of two items with the same key wins, and every item's version is the
    // one of the item written for its key; the conditions of the items it overrode
    // still hold the batch back, so they are merged onto the record written.
    let mut slots: HashMap<String, KeySlot> = HashMap::with_capacity(validated.len());
    for (index, record) in &validated {
        slots
            .entry(record.key.clone())
            .or_insert_with(|| KeySlot::new(*index))
            .add(*index, record.condition);
    }
    if let Some(refusal) = contradiction(store, &validated, &slots).await? {
        return Err(refusal);
    }
    let mut batch_slot = HashMap::with_capacity(slots.len());
    let mut records = Vec::with_capacity(slots.len());
    let mut item_keys = Vec::with_capacity(validated.len());
    let mut winners = Vec::with_capacity(slots.len());
    for (index, mut record) in validated {
        item_keys.push(record.key.clone());
        let Some(slot) = slots.get(&record.key).filter(|slot| slot.winner == index) else {
            continue;
        };
        record.condition = slot.condition;
        winners.push((slot.refused_item(), record));
    }
    // In the order of the items a refusal would name, so that a backend checking
    // conditions in order names the first refused item of the request.
    winners.sort_by_key(|(named, _)| *named);
    for (named, record) in winners {
        batch_slot.insert(record.key.clone(), (records.len(), named));
        records.push(record);
    }
    let keys: Vec<String> = records.iter().map(|r| r.key.clone()).collect();
    let result = store.backend().put_many(records, store.now()).await;
    store.invalidate(keys.iter().map(String::as_str));
    let result = store.note(crate::stats::Operation::PutMany, result);
    let versions = result.map_err(|e| match &e {
        // A refused condition names the item that carried it.
        Error::Conflict { key, .. } => {
            let index = batch_slot.get(key).map_or(0, |(_, index)| *index);
            bulk_item(index, &key.clone(), e)
        }
        _ => e,
    })?;
    Ok(item_keys
        .iter()
        .filter_map(|key| versions.get(batch_slot.get(key)?.0).copied())
        .collect())
}

/// The items of one key in a batch: the one written (the last), and the condition
/// every item of the key set, with the first item that set it.
struct KeySlot {
    winner: usize,
    condition: Condition,
    conditioned: Option<usize>,
    /// Two items of the key set different conditions: no state meets both.
    contradictory: bool,
}

impl KeySlot {
    fn new(index: usize) -> Self {
        Self {
            winner: index,
            condition: Condition::Always,
            conditioned: None,
            contradictory: false,
        }
    }

    fn add(&mut self, index: usize, condition: Condition) {
        self.winner = index;
        match (self.condition, condition) {
            (_, Condition::Always) => {}
            (Condition::Always, _) => {
                self.condition = condition;
                self.conditioned = Some(index);
            }
            (held, _) => self.contradictory |= held != condition,
        }
    }

    /// The item a refusal of the key's condition names.
    fn refused_item(&self) -> usize {
        self.conditioned.unwrap_or(self.winner)
    }
}

/// The refusal of a batch in which two items of one key set conditions no state meets
/// both of (e.g. `if_absent` and `if_version`): whatever the key holds, one of them
/// fails, so nothing is written. Names the first item of the request whose condition
/// fails on the store as it is now.
async fn contradiction(
    store: &KvStore,
    validated: &[(usize, NewRecord<Bytes>)],
    slots: &HashMap<String, KeySlot>,
) -> Result<Option<Error>> {
    if !slots.values().any(|slot| slot.contradictory) {
        return Ok(None);
    }
    let mut current: HashMap<&str, Option<Version>> = HashMap::new();
    for (index, record) in validated {
        let key = record.key.as_str();
        if record.condition == Condition::Always {
            continue;
        }
        let version = match current.get(key) {
            Some(version) => *version,
            None => {
                let version = store.read_head(key).await?.map(|head| head.version);
                *current.entry(key).or_insert(version)
            }
        };
        if !record.condition.holds(version) {
            let conflict = Error::conflict(key, record.condition, version);
            return Ok(Some(bulk_item(*index, key, conflict)));
        }
    }
    Ok(None)
}

/// Reads every key, after validating them all, in request order.
async fn read_all(
    store: &KvStore,
    keys: Vec<String>,
) -> Result<Vec<(String, Option<(Bytes, RecordHead)>)>> {
    if keys.is_empty() {
        return Err(Error::GetManyEmpty);
    }
    if keys.len() > MAX_GET_MANY_KEYS {
        return Err(Error::GetManyTooMany {
            count: keys.len(),
            max: MAX_GET_MANY_KEYS,
        });
    }
    for (index, key) in keys.iter().enumerate() {
        validate_key(key).map_err(|source| Error::BulkItem {
            index,
            key: key.clone(),
            source: Box::new(source),
        })?;
    }
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let (record, _) = store.read(&key, None).await?;
        let found = match record {
            None => None,
            Some(Record { value, head }) => Some((into_bytes(value).await?, head)),
        };
        out.push((key, found));
    }
    Ok(out)
}

/// JSON of every value, or Workers KV's bulk error naming the first value that is not.
fn json_all<T: DeserializeOwned>(key: &str, value: &Bytes) -> Result<T> {
    serde_json::from_slice(value).map_err(|source| Error::GetManyNotJson {
        key: key.to_owned(),
        source,
    })
}

/// A bulk read being described; pick the values' type with an async method. From
/// [`KvStore::get_many`].
///
/// The result maps every requested key to its value, or `None` for a missing or
/// expired key.
///
/// # Errors
///
/// [`Error::GetManyEmpty`] for no keys, [`Error::GetManyTooMany`] for more than 100;
/// [`Error::BulkItem`] naming the first invalid key; from `json()`,
/// [`Error::GetManyNotJson`] if any value is not JSON of type `T` (the whole call
/// fails, as in Workers KV); from `text()`, [`Error::InvalidUtf8`];
/// [`Error::Backend`] if storage fails.
#[must_use = "a GetManyRequest does nothing until one of its methods is awaited"]
#[derive(Debug)]
pub struct GetManyRequest {
    store: KvStore,
    keys: Vec<String>,
}

impl GetManyRequest {
    pub(crate) fn new(store: KvStore, keys: Vec<String>) -> Self {
        Self { store, keys }
    }

    async fn map<T>(
        self,
        convert: impl Fn(&str, Bytes) -> Result<T>,
    ) -> Result<HashMap<String, Option<T>>> {
        read_all(&self.store, self.keys)
            .await?
            .into_iter()
            .map(|(key, found)| {
                let value = found.map(|(bytes, _)| convert(&key, bytes)).transpose()?;
                Ok((key, value))
            })
            .collect()
    }

    /// Every value as UTF-8 text.
    pub async fn text(self) -> Result<HashMap<String, Option<String>>> {
        self.map(|_, bytes| text(bytes)).await
    }

    /// Every value deserialized from JSON.
    pub async fn json<T: DeserializeOwned>(self) -> Result<HashMap<String, Option<T>>> {
        self.map(|key, bytes| json_all(key, &bytes)).await
    }

    /// Every value's bytes.
    pub async fn bytes(self) -> Result<HashMap<String, Option<Bytes>>> {
        self.map(|_, bytes| Ok(bytes)).await
    }
}

/// A bulk read of values with their metadata. From [`KvStore::get_many_with_metadata`].
///
/// A missing or expired key maps to `value: None, metadata: None`.
///
/// # Errors
///
/// As [`GetManyRequest`]; also [`Error::Json`] if stored metadata is not valid JSON.
#[must_use = "a GetManyWithMetadataRequest does nothing until one of its methods is awaited"]
#[derive(Debug)]
pub struct GetManyWithMetadataRequest {
    store: KvStore,
    keys: Vec<String>,
}

impl GetManyWithMetadataRequest {
    pub(crate) fn new(store: KvStore, keys: Vec<String>) -> Self {
        Self { store, keys }
    }

    async fn map<T>(
        self,
        convert: impl Fn(&str, Bytes) -> Result<T>,
    ) -> Result<HashMap<String, ValueWithMetadata<T>>> {
        read_all(&self.store, self.keys)
            .await?
            .into_iter()
            .map(|(key, found)| {
                let entry = match found {
                    None => ValueWithMetadata {
                        value: None,
                        metadata: None,
                        expiration: None,
                        version: None,
                        cache_status: None,
                    },
                    Some((bytes, head)) => ValueWithMetadata {
                        metadata: metadata(&head)?,
                        expiration: head.expiration,
                        version: Some(head.version),
                        value: Some(convert(&key, bytes)?),
                        cache_status: None,
                    },
                };
                Ok((key, entry))
            })
            .collect()
    }

    /// Every value as UTF-8 text, with its metadata.
    pub async fn text(self) -> Result<HashMap<String, ValueWithMetadata<String>>> {
        self.map(|_, bytes| text(bytes)).await
    }

    /// Every value deserialized from JSON, with its metadata.
    pub async fn json<T: DeserializeOwned>(self) -> Result<HashMap<String, ValueWithMetadata<T>>> {
        self.map(|key, bytes| json_all(key, &bytes)).await
    }

    /// Every value's bytes, with its metadata.
    pub async fn bytes(self) -> Result<HashMap<String, ValueWithMetadata<Bytes>>> {
        self.map(|_, bytes| Ok(bytes)).await
    }
}
