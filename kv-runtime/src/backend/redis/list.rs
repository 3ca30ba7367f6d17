//! Walking a store's index: list (per shard, merged in byte order), count,
//! delete_prefix and the purge of expired records. Every walk goes in bounded steps, a
//! script call each, so that no call holds Redis up for long.

use futures_util::future::try_join_all;

use super::layout::{Shard, lex_range};
use super::reply::{self, malformed};
use super::{RedisBackend, scripts};
use crate::backend::{ListPage, ListQuery, ListedKey};
use crate::error::Result;

/// How many index entries one list call looks at, at most, besides the keys it returns.
const LIST_BUDGET: usize = 1000;

/// How many records one delete_prefix or purge call removes, at most.
const BATCH: usize = 500;

impl RedisBackend {
    pub(super) async fn list_page(&self, query: ListQuery) -> Result<ListPage> {
        self.ready().await?;
        let want = query.limit.saturating_add(1);
        let pages = self.layout.shards.iter().map(|shard| {
            self.list_shard(
                shard,
                &query.prefix,
                query.start_after.as_deref(),
                want,
                query.now,
            )
        });
        let mut keys: Vec<ListedKey> = try_join_all(pages).await?.into_iter().flatten().collect();
        keys.iter().for_each(|key| self.note(key.head.version));
        if self.layout.shards.len() > 1 {
            keys.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        }
        let more = keys.len() > query.limit;
        keys.truncate(query.limit);
        Ok(ListPage::new(keys, more))
    }

    /// Up to `want` live keys of `shard` under `prefix` after `after`, in byte order.
    async fn list_shard(
        &self,
        shard: &Shard,
        prefix: &str,
        after: Option<&str>,
        want: usize,
        now: u64,
    ) -> Result<Vec<ListedKey>> {
        let what = "a listing";
        let (mut min, max) = lex_range(prefix, after);
        let mut out = Vec::new();
        loop {
            let mut invocation = self.invocation(&scripts::LIST, shard, now);
            invocation
                .arg(&min)
                .arg(&max)
                .arg(want - out.len())
                .arg(LIST_BUDGET);
            let mut reply = reply::array(self.redis.run(&invocation).await?, what)?.into_iter();
            let done = reply.next().as_ref().and_then(reply::number) == Some(1);
            let last = reply.next().and_then(reply::bytes);
            for entry in reply::array(reply.next().unwrap_or_default(), what)? {
                let mut fields = reply::array(entry, what)?;
                let name = reply::field(&mut fields, 0)
                    .and_then(|name| String::from_utf8(name).ok())
                    .ok_or_else(|| malformed(what))?;
                let head = reply::head(
                    reply::field(&mut fields, 1),
                    reply::field(&mut fields, 2),
                    reply::field(&mut fields, 3),
                    what,
                )?;
                out.push(ListedKey::new(name, head));
            }
            match last {
                Some(last) if !done && out.len() < want => {
                    min = [b"(".as_slice(), &last].concat();
                }
                _ => return Ok(out),
            }
        }
    }

    pub(super) async fn count_live(&self, prefix: &str, now: u64) -> Result<u64> {
        self.ready().await?;
        let (min, max) = lex_range(prefix, None);
        let counts = self.layout.shards.iter().map(|shard| {
            let mut invocation = self.invocation(&scripts::COUNT, shard, now);
            invocation.arg(&min).arg(&max).arg(prefix);
            async move {
                let reply = self.redis.run(&invocation).await?;
                reply::number(&reply).ok_or_else(|| malformed("a count"))
            }
        });
        Ok(try_join_all(counts).await?.into_iter().sum())
    }

    pub(super) async fn delete_under(&self, prefix: &str, now: u64) -> Result<u64> {
        self.ready().await?;
        let what = "a delete_prefix";
        let (start, max) = lex_range(prefix, None);
        let mut removed = 0;
        for shard in &self.layout.shards {
            let mut min = start.clone();
            loop {
                let mut invocation = self.invocation(&scripts::DELETE_PREFIX, shard, now);
                invocation.arg(&min).arg(&max).arg(BATCH);
                let mut reply = reply::array(self.redis.run(&invocation).await?, what)?.into_iter();
                let gone = reply.next().as_ref().and_then(reply::number);
                let seen = reply.next().as_ref().and_then(reply::number);
                let number = reply.next().as_ref().and_then(reply::number);
                let last = reply.next().and_then(reply::bytes);
                let (Some(gone), Some(seen)) = (gone, seen) else {
                    return Err(malformed(what));
                };
                self.note_number(shard.number, number.unwrap_or(0));
                removed += gone;
                match last {
                    Some(last) if seen >= BATCH as u64 => {
                        min = [b"(".as_slice(), &last].concat();
                    }
                    _ => break,
                }
            }
        }
        Ok(removed)
    }

    pub(super) async fn purge(&self, now: u64) -> Result<u64> {
        self.ready().await?;
        let what = "a purge";
        let mut removed = 0;
        for shard in &self.layout.shards {
            loop {
                let mut invocation = self.invocation(&scripts::PURGE, shard, now);
                invocation.arg(BATCH);
                let reply = reply::array(self.redis.run(&invocation).await?, what)?;
                let gone = reply.first().and_then(reply::number);
                let seen = reply.get(1).and_then(reply::number);
                let (Some(gone), Some(seen)) = (gone, seen) else {
                    return Err(malformed(what));
                };
                let number = reply.get(2).and_then(reply::number).unwrap_or(0);
                self.note_number(shard.number, number);
                removed += gone;
                if seen < BATCH as u64 {
                    break;
                }
            }
        }
        Ok(removed)
    }
}
