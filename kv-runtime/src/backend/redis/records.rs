//! Point reads and writes: get, head, put, put_many, delete, delete_many, touch. Each
//! write is one script per shard (see `scripts/put.lua`, `delete.lua`, `touch.lua`).

use std::collections::BTreeMap;

use bytes::Bytes;
use redis::Value;

use super::blobs::{self, Blob, Staged};
use super::layout::Shard;
use super::reply::{self, malformed};
use super::{NAME, RedisBackend, scripts};
use crate::backend::{Condition, NewRecord, Payload, Record, RecordHead, StoredValue};
use crate::error::{Error, Result};
use crate::version::Version;

/// A record whose value is staged, ready for the put script.
#[derive(Debug)]
struct Item {
    key: String,
    expiration: Option<u64>,
    metadata: Option<Bytes>,
    condition: Condition,
    value: Staged,
}

/// A condition as the scripts take it: a letter and the version required.
fn condition_args(condition: Condition) -> (&'static str, String) {
    match condition {
        Condition::Always => ("a", String::new()),
        Condition::Absent => ("n", String::new()),
        Condition::Version(version) => ("v", version.as_u64().to_string()),
    }
}

fn decimal(n: Option<u64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

impl RedisBackend {
    pub(super) async fn get_record(&self, key: &str) -> Result<Option<Record>> {
        self.ready().await?;
        let shard = self.layout.shard_of(key);
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(shard.record(key))
            .arg(&["ver", "e", "m", "v", "b", "n", "c"]);
        let mut fields: Vec<Value> = self.redis.query(&cmd).await?;
        let Some(version) = reply::field(&mut fields, 0) else {
            return Ok(None);
        };
        let what = "a read";
        let head = reply::head(
            Some(version),
            reply::field(&mut fields, 1),
            reply::field(&mut fields, 2),
            what,
        )?;
        self.note(head.version);
        let value = match (reply::field(&mut fields, 3), reply::field(&mut fields, 4)) {
            (Some(inline), _) => StoredValue::Inline(Bytes::from(inline)),
            (None, Some(id)) => {
                let id = String::from_utf8(id).map_err(|_| malformed(what))?;
                let len = fields.get(5).and_then(reply::number);
                let chunks = fields.get(6).and_then(reply::number);
                let (Some(len), Some(chunks)) = (len, chunks) else {
                    return Err(malformed(what));
                };
                let blob = Blob { id, len, chunks };
                StoredValue::Chunked {
                    len,
                    chunks: blobs::read(self.redis.clone(), shard.clone(), key.to_owned(), blob),
                }
            }
            (None, None) => return Err(malformed(what)),
        };
        Ok(Some(Record::new(head, value)))
    }

    pub(super) async fn get_head(&self, key: &str) -> Result<Option<RecordHead>> {
        self.ready().await?;
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.layout.shard_of(key).record(key))
            .arg(&["ver", "e", "m"]);
        let mut fields: Vec<Value> = self.redis.query(&cmd).await?;
        let Some(version) = reply::field(&mut fields, 0) else {
            return Ok(None);
        };
        let head = reply::head(
            Some(version),
            reply::field(&mut fields, 1),
            reply::field(&mut fields, 2),
            "a read",
        )?;
        self.note(head.version);
        Ok(Some(head))
    }

    pub(super) async fn put_one(&self, record: NewRecord, now: u64) -> Result<Version> {
        self.ready().await?;
        let shard = self.layout.shard_of(&record.key);
        let value = match record.value {
            Payload::Bytes(bytes) => blobs::stage_bytes(&self.redis, shard, bytes).await?,
            Payload::Stream(stream) => blobs::stage_stream(&self.redis, shard, stream).await?,
        };
        let item = Item {
            key: record.key,
            expiration: record.expiration,
            metadata: record.metadata,
            condition: record.condition,
            value,
        };
        let versions = self.commit(shard, &[item], now).await?;
        versions
            .into_iter()
            .next()
            .ok_or_else(|| malformed("a put"))
    }

    /// Writes every record of a shard in one script: all or nothing per shard. A
    /// batch over several shards is written shard by shard, and refused before
    /// anything is written if it carries conditions.
    pub(super) async fn put_batch(
        &self,
        records: Vec<NewRecord<Bytes>>,
        now: u64,
    ) -> Result<Vec<Version>> {
        self.ready().await?;
        let total = records.len();
        let conditional = records
            .iter()
            .any(|r| !matches!(r.condition, Condition::Always));
        let mut groups: BTreeMap<u16, Vec<(usize, NewRecord<Bytes>)>> = BTreeMap::new();
        for (at, record) in records.into_iter().enumerate() {
            let number = self.layout.shard_of(&record.key).number;
            groups.entry(number).or_default().push((at, record));
        }
        if conditional && groups.len() > 1 {
            return Err(Error::backend(
                NAME,
                format!(
                    "a put_many with conditions (if_version, if_absent) must stay within one \
                     shard to be atomic, and this one spans {} of the store's {} shards: \
                     write its items one by one, or give the store shards = 1",
                    groups.len(),
                    self.layout.shards.len()
                ),
            ));
        }
        let mut versions = vec![Version::from_u64(0); total];
        for (number, group) in groups {
            let shard = &self.layout.shards[usize::from(number)];
            let mut items = Vec::with_capacity(group.len());
            let mut places = Vec::with_capacity(group.len());
            for (at, record) in group {
                let value = match blobs::stage_bytes(&self.redis, shard, record.value).await {
                    Ok(value) => value,
                    Err(err) => {
                        self.discard(shard, &items).await;
                        return Err(err);
                    }
                };
                places.push(at);
                items.push(Item {
                    key: record.key,
                    expiration: record.expiration,
                    metadata: record.metadata,
                    condition: record.condition,
                    value,
                });
            }
            let written = self.commit(shard, &items, now).await?;
            if written.len() != places.len() {
                return Err(malformed("a put_many"));
            }
            for (at, version) in places.into_iter().zip(written) {
                versions[at] = version;
            }
        }
        Ok(versions)
    }

    /// Runs the put script for `items`, all on `shard`.
    async fn commit(&self, shard: &Shard, items: &[Item], now: u64) -> Result<Vec<Version>> {
        let what = "a put";
        let mut invocation = self.invocation(&scripts::PUT, shard, now);
        for item in items {
            let (condition, required) = condition_args(item.condition);
            invocation
                .arg(&item.key)
                .arg(condition)
                .arg(required)
                .arg(decimal(item.expiration))
                .arg(if item.metadata.is_some() { "1" } else { "0" })
                .arg(item.metadata.as_deref().unwrap_or_default());
            match &item.value {
                Staged::Inline(bytes) => invocation.arg("i").arg(bytes.as_ref()).arg("").arg(0),
                Staged::Blob(blob) => invocation
                    .arg("b")
                    .arg(&blob.id)
                    .arg(blob.len)
                    .arg(blob.chunks),
            };
        }
        // A failure to get an answer leaves staged chunks alone: the script may have
        // run and made them a value. Only a refusal discards them.
        let reply = reply::array(self.redis.run(&invocation).await?, what)?;
        let mut reply = reply.into_iter();
        let status = reply.next().and_then(reply::bytes).unwrap_or_default();
        match status.as_slice() {
            b"ok" => {
                let versions = reply::array(reply.next().unwrap_or_default(), what)?;
                let versions: Vec<Version> = versions
                    .iter()
                    .map(|v| reply::version(v, what)?.ok_or_else(|| malformed(what)))
                    .collect::<Result<_>>()?;
                versions.iter().for_each(|v| self.note(*v));
                Ok(versions)
            }
            b"conflict" | b"missing" => {
                let at = reply.next().as_ref().and_then(reply::number);
                let item = at
                    .and_then(|at| usize::try_from(at).ok())
                    .and_then(|at| items.get(at))
                    .ok_or_else(|| malformed(what))?;
                self.discard(shard, items).await;
                if status.as_slice() == b"conflict" {
                    let current = reply::version(&reply.next().unwrap_or_default(), what)?;
                    Err(Error::conflict(&item.key, item.condition, current))
                } else {
                    Err(Error::backend(
                        NAME,
                        format!(
                            "the chunks of the value for {:?} expired before the put could \
                             commit (a put streaming for longer than an hour?); nothing was written",
                            item.key
                        ),
                    ))
                }
            }
            _ => Err(malformed(what)),
        }
    }

    /// Removes the staged chunks of items that will not be written.
    async fn discard(&self, shard: &Shard, items: &[Item]) {
        for item in items {
            if let Staged::Blob(blob) = &item.value {
                blobs::discard(&self.redis, shard, blob).await;
            }
        }
    }

    pub(super) async fn delete_one(
        &self,
        key: &str,
        condition: Condition,
        now: u64,
    ) -> Result<bool> {
        self.ready().await?;
        let shard = self.layout.shard_of(key);
        let (letter, required) = condition_args(condition);
        let mut invocation = self.invocation(&scripts::DELETE, shard, now);
        invocation.arg(letter).arg(required).arg(key);
        let removed = self
            .run_delete(shard, &invocation)
            .await
            .map_err(|err| match err {
                DeleteError::Conflict(current) => Error::conflict(key, condition, current),
                DeleteError::Failed(err) => err,
            })?;
        Ok(removed > 0)
    }

    /// Removes `keys`, one script per shard.
    pub(super) async fn delete_batch(&self, keys: Vec<String>, now: u64) -> Result<u64> {
        self.ready().await?;
        let mut groups: BTreeMap<u16, Vec<String>> = BTreeMap::new();
        for key in keys {
            let number = self.layout.shard_of(&key).number;
            groups.entry(number).or_default().push(key);
        }
        let mut removed = 0;
        for (number, keys) in groups {
            let shard = &self.layout.shards[usize::from(number)];
            let mut invocation = self.invocation(&scripts::DELETE, shard, now);
            invocation.arg("a").arg("");
            for key in &keys {
                invocation.arg(key);
            }
            removed += self
                .run_delete(shard, &invocation)
                .await
                .map_err(|err| match err {
                    DeleteError::Failed(err) => err,
                    DeleteError::Conflict(_) => malformed("a delete_many"),
                })?;
        }
        Ok(removed)
    }

    async fn run_delete(
        &self,
        shard: &Shard,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> std::result::Result<u64, DeleteError> {
        let what = "a delete";
        let reply = reply::array(self.redis.run(invocation).await?, what)?;
        let mut reply = reply.into_iter();
        let status = reply.next().and_then(reply::bytes).unwrap_or_default();
        let second = reply.next().unwrap_or_default();
        match status.as_slice() {
            b"ok" => {
                let number = reply.next().as_ref().and_then(reply::number).unwrap_or(0);
                self.note_number(shard.number, number);
                reply::number(&second).ok_or_else(|| malformed(what).into())
            }
            b"conflict" => Err(DeleteError::Conflict(reply::version(
                &reply.next().unwrap_or_default(),
                what,
            )?)),
            _ => Err(malformed(what).into()),
        }
    }

    pub(super) async fn touch_one(
        &self,
        key: &str,
        expiration: Option<u64>,
        now: u64,
    ) -> Result<Option<Version>> {
        self.ready().await?;
        let shard = self.layout.shard_of(key);
        let mut invocation = self.invocation(&scripts::TOUCH, shard, now);
        invocation.arg(key).arg(decimal(expiration));
        let reply = self.redis.run(&invocation).await?;
        let version = reply::version(&reply, "a touch")?;
        version.iter().for_each(|v| self.note(*v));
        Ok(version)
    }
}

/// Why a delete script did not remove.
enum DeleteError {
    Conflict(Option<Version>),
    Failed(Error),
}

impl From<Error> for DeleteError {
    fn from(err: Error) -> Self {
        Self::Failed(err)
    }
}
