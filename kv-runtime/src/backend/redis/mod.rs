//! The redis backend (feature `redis`): stores shared by several processes or machines
//! through a Redis server or a Redis Cluster.
//!
//! # Settings
//!
//! In a store's section of `kv.toml`, or in `[backends.redis]` for every store on it:
//!
//! ```toml
//! [stores.sessions]
//! backend = "redis"
//! url = "redis://127.0.0.1:6379/0"   # or rediss://; user and password may be in it
//! # cluster = ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]   # seed nodes, instead of url
//! password_env = "SESSIONS_REDIS_PASSWORD"   # the password from this variable
//! namespace = "demo-app/sessions"   # default: "<application>/<store>", or "<store>"
//! shards = 1                        # 1 to 1024, see below
//! timeout_ms = 5000                 # connect and response timeout
//! ```
//!
//! The runtime connects when it opens (one client per distinct server, shared by its
//! stores) and checks that every node answers `PING`: a server that is down fails
//! [`Runtime::open`](crate::Runtime::open) with an error naming the URL (never its
//! password: no error, log or `Debug` output shows one). Every command is bounded by
//! `timeout_ms` (an operation of several commands — a chunked value, a long listing —
//! by that much per command); after a lost connection, later commands reconnect
//! (redis-rs's `ConnectionManager`, or its cluster connection, which reconnects to each
//! node and refreshes the slot map). The backend runs on tokio, with its timer: a
//! runtime built with `enable_all` (as `#[tokio::main]` builds it).
//!
//! # Data layout
//!
//! A store's data lives in `shards` shards; shard `s` has the Redis Cluster hash tag
//! `{<namespace>:<s>:<salt>}` (so all its keys are in one slot; the salt puts shard
//! `s`'s slot near the middle of the `s`-th of `shards` equal parts of the slot space,
//! spreading the shards over the masters of a cluster), and its keys are, with `B` =
//! `kv:{<namespace>:<s>:<salt>}:`:
//!
//! - `B r:<key>`: a hash per record — `ver` (the version), `e` (the expiration, Unix
//!   seconds, absent if none), `m` (the metadata's bytes, exactly as given, absent if
//!   none) and either `v` (the value, up to 256 KiB) or `b`, `n`, `c` (a blob id, the
//!   value's length, its chunk count);
//! - `B i`: a sorted set of the shard's keys, all with score 0, so `ZRANGEBYLEX` lists
//!   them in byte order;
//! - `B x`: a sorted set of the keys that expire, scored by expiration, for the purge
//!   and `count`;
//! - `B v`: the shard's change counter: every change (put, touch, delete, purge of a
//!   key) takes its next number, and a version is `number * 1024 + s`, unique in the
//!   store across shards (and below 2^53, exact in Lua);
//! - `B c:<blob>:<n>`: chunk `n` of a large or streamed value.
//!
//! Besides, `kv:{<namespace>}:meta` records the shard count (a runtime configured with
//! another refuses the store), and every write publishes its change on the pub/sub
//! channel `kv:<namespace>:changes`, with its shard and number. A key goes to shard
//! `FNV-1a(key) % shards`.
//!
//! # Guarantees
//!
//! - Every write is one Lua script on one shard (`EVALSHA`, loaded on demand): it
//!   checks the condition against the record live at the runtime's `now`, writes the
//!   record, the index and the expiry entry, bumps the version and publishes the
//!   change — atomically. A put replaces value, expiration and metadata together.
//! - Expiry is decided by the runtime's clock alone (`now` is an argument of every
//!   script). Redis TTLs are only a clean-up backstop for data no runtime purges: set
//!   relative (`EXPIRE` of the time left by the runtime's clock plus an hour), never as
//!   an absolute time, so a skewed Redis clock neither hides nor resurrects a key.
//! - Chunked values (streamed, or larger than 256 KiB) are written a chunk at a time as
//!   they arrive, under a new blob id with a staging TTL, then committed by the put
//!   script, which checks that every chunk is there. A failed or cancelled put leaves
//!   the old value; its chunks expire. A replaced or removed value's chunks stay 60 s
//!   for reads in progress; a read that outlasts that fails rather than mixing values.
//! - Listing runs per shard (a script returns up to `limit + 1` live keys, skipping
//!   expired ones in bounded steps) and merges the shards in byte order, so a page
//!   costs `shards × (limit + 1)` keys read; `count` is a `ZLEXCOUNT` per shard less
//!   the keys in range expired and not purged yet.
//! - `put_many` and `delete_many` run one script per shard. With `shards = 1` (the
//!   default) a batch is therefore atomic, conditions included. With more shards a
//!   batch spanning several of them is applied shard by shard — a failure (a lost
//!   connection) between two shards leaves the earlier ones written — and a batch
//!   **with conditions** spanning several shards is refused before anything is
//!   written. Choose `shards > 1` for a store too big or too busy for one cluster
//!   node, and keep conditional batches to stores with one shard.
//! - Watchers see every process's writes (one pub/sub connection per store handle),
//!   exactly those made after `watch` returned, and a lost pub/sub connection as
//!   [`Change::Lagged`](crate::Change::Lagged). A shard's changes arrive in the order
//!   applied. Across shards, each write carries the change numbers of the other
//!   shards its store handle had seen (by writing, or in a version it read), and a
//!   watcher gets a change only after those: a handle's own writes, and writes that
//!   follow a read of another's, arrive in order; unrelated concurrent writes to
//!   different shards may arrive in either order. This costs a number per shard in
//!   every change message.
//! - Durability: a write is acknowledged once the server has applied it, for
//!   `durability = "buffered"` and `"sync"` alike; whether it is on disk is Redis's own
//!   persistence setting (`appendonly`, `appendfsync`).
//! - The read cache (`cache_ttl`) sits in front of Redis as in front of every backend:
//!   a read may be up to `cache_ttl` old with respect to other processes' writes; a
//!   write through the same runtime clears its own entry at once.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt as _};
use redis::{Script, ScriptInvocation};
use tokio::sync::OnceCell;

use super::{
    Backend, BackendFactory, ChangeStream, Condition, ListPage, ListQuery, NewRecord,
    PrepareContext, Record, RecordHead, StoreContext,
};
use crate::error::{Error, Result};
use crate::version::Version;

mod blobs;
mod connection;
mod layout;
mod list;
mod messages;
mod order;
mod records;
mod reply;
mod scripts;
mod settings;
mod watch;

use self::connection::Redis;
use self::layout::{Layout, Shard};
use self::settings::{ServerKey, StoreSettings};

pub(crate) const NAME: &str = "redis";

/// Connects to every server the stores name in `prepare`, and opens a backend per store
/// on the shared client.
#[derive(Default)]
pub(crate) struct RedisFactory {
    servers: Mutex<HashMap<ServerKey, Redis>>,
}

impl fmt::Debug for RedisFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        let shown: Vec<&str> = servers.values().map(Redis::endpoint).collect();
        f.debug_struct("RedisFactory")
            .field("servers", &shown)
            .finish()
    }
}

impl RedisFactory {
    fn server(&self, key: &ServerKey) -> Option<Redis> {
        let servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        servers.get(key).cloned()
    }
}

impl BackendFactory for RedisFactory {
    fn prepare<'a>(&'a self, context: &'a PrepareContext<'a>) -> BoxFuture<'a, Result<()>> {
        async move {
            context.settings.check_known(NAME, &settings::KNOWN)?;
            for (_, store) in &context.stores {
                let parsed = StoreSettings::parse(&store.settings)?;
                if self.server(&parsed.server).is_some() {
                    continue;
                }
                let password = parsed.server.password(&store.settings)?;
                let redis = Redis::connect(
                    &parsed.server.endpoint,
                    password.as_deref(),
                    parsed.server.timeout(),
                )
                .await?;
                self.servers
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(parsed.server, redis);
            }
            Ok(())
        }
        .boxed()
    }

    fn open(&self, store: &StoreContext<'_>) -> Result<Arc<dyn Backend>> {
        let parsed = StoreSettings::parse(&store.config.settings)?;
        let redis = self.server(&parsed.server).ok_or_else(|| Error::Config {
            path: Default::default(),
            message: format!(
                "store {:?}: its redis server {} was not connected when the runtime opened",
                store.name, parsed.server.endpoint
            ),
        })?;
        let namespace = parsed.namespace_for(store.application, store.name)?;
        let layout = Layout::new(&namespace, parsed.shards);
        Ok(Arc::new(RedisBackend::new(redis, layout)))
    }
}

/// One store on Redis.
pub(crate) struct RedisBackend {
    redis: Redis,
    layout: Layout,
    /// Set once the store's shard count is known to match the one recorded.
    checked: OnceCell<()>,
    watch: watch::Watch,
    /// Per shard, the highest change number this handle has seen applied (by its own
    /// writes, or in a version it read). Sent with every write, so that watchers
    /// deliver a change after the changes of other shards it may depend on.
    seen: Vec<AtomicU64>,
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("endpoint", &self.redis.endpoint())
            .field("namespace", &self.layout.namespace)
            .field("shards", &self.layout.shards.len())
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    fn new(redis: Redis, layout: Layout) -> Self {
        let counters = layout.shards.iter().map(Shard::counter).collect();
        let watch = watch::Watch::new(redis.clone(), layout.channel.clone(), counters);
        let seen = layout.shards.iter().map(|_| AtomicU64::new(0)).collect();
        Self {
            redis,
            layout,
            checked: OnceCell::new(),
            watch,
            seen,
        }
    }

    /// Notes that change `number` of shard `shard` was applied.
    fn note_number(&self, shard: u16, number: u64) {
        if let Some(seen) = self.seen.get(usize::from(shard)) {
            seen.fetch_max(number, Ordering::Relaxed);
        }
    }

    /// Notes the change that gave a record `version` (`number * 1024 + shard`).
    fn note(&self, version: Version) {
        let version = version.as_u64();
        let shard = u16::try_from(version % 1024).unwrap_or(u16::MAX);
        self.note_number(shard, version / 1024);
    }

    /// What a write sends as the changes it may depend on: `-` with one shard (whose
    /// changes arrive in order anyway), the seen numbers otherwise.
    fn deps(&self) -> String {
        if self.seen.len() < 2 {
            return "-".to_owned();
        }
        let seen: Vec<String> = self
            .seen
            .iter()
            .map(|n| n.load(Ordering::Relaxed).to_string())
            .collect();
        seen.join(",")
    }

    /// Checks, once, that the namespace is this store's layout: the first runtime
    /// records its shard count, and one with another count is refused.
    async fn ready(&self) -> Result<()> {
        self.checked
            .get_or_try_init(|| async {
                let ours = format!("shards={}", self.layout.shards.len());
                let mut invocation = scripts::INIT.key(&self.layout.meta);
                invocation.arg(&ours);
                let recorded = self.redis.run(&invocation).await?;
                let recorded = reply::bytes(recorded).unwrap_or_default();
                if recorded == ours.as_bytes() {
                    Ok(())
                } else {
                    Err(Error::Config {
                        path: Default::default(),
                        message: format!(
                            "redis namespace {:?} holds a store laid out with {}, but this one \
                             is configured with {ours}: use the same shards, or another namespace",
                            self.layout.namespace,
                            String::from_utf8_lossy(&recorded)
                        ),
                    })
                }
            })
            .await
            .map(|_| ())
    }

    /// An invocation of `script` on `shard` at `now`, with the arguments every script
    /// takes first (see `scripts/common.lua`).
    fn invocation<'s>(&self, script: &'s Script, shard: &Shard, now: u64) -> ScriptInvocation<'s> {
        let mut invocation = script.key(shard.index());
        invocation
            .arg(&shard.base)
            .arg(shard.number)
            .arg(now)
            .arg(&self.layout.channel)
            .arg(self.deps());
        invocation
    }
}

impl Backend for RedisBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Record>>> {
        self.get_record(key).boxed()
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<RecordHead>>> {
        self.get_head(key).boxed()
    }

    fn put(&self, record: NewRecord, now: u64) -> BoxFuture<'_, Result<Version>> {
        self.put_one(record, now).boxed()
    }

    fn put_many(
        &self,
        records: Vec<NewRecord<Bytes>>,
        now: u64,
    ) -> BoxFuture<'_, Result<Vec<Version>>> {
        self.put_batch(records, now).boxed()
    }

    fn delete<'a>(
        &'a self,
        key: &'a str,
        condition: Condition,
        now: u64,
    ) -> BoxFuture<'a, Result<bool>> {
        self.delete_one(key, condition, now).boxed()
    }

    fn delete_many(&self, keys: Vec<String>, now: u64) -> BoxFuture<'_, Result<u64>> {
        self.delete_batch(keys, now).boxed()
    }

    fn touch<'a>(
        &'a self,
        key: &'a str,
        expiration: Option<u64>,
        now: u64,
    ) -> BoxFuture<'a, Result<Option<Version>>> {
        self.touch_one(key, expiration, now).boxed()
    }

    fn list(&self, query: ListQuery) -> BoxFuture<'_, Result<ListPage>> {
        self.list_page(query).boxed()
    }

    fn count<'a>(&'a self, prefix: &'a str, now: u64) -> BoxFuture<'a, Result<u64>> {
        self.count_live(prefix, now).boxed()
    }

    fn delete_prefix<'a>(&'a self, prefix: &'a str, now: u64) -> BoxFuture<'a, Result<u64>> {
        self.delete_under(prefix, now).boxed()
    }

    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<u64>> {
        self.purge(now).boxed()
    }

    fn watch<'a>(&'a self, prefix: &'a str, buffer: usize) -> BoxFuture<'a, Result<ChangeStream>> {
        async move {
            self.ready().await?;
            self.watch.subscribe(prefix, buffer).await
        }
        .boxed()
    }
}
