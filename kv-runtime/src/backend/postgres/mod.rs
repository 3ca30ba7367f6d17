//! The postgres backend (feature `postgres`): every store of an application in one
//! set of tables of a PostgreSQL database the team already runs, told apart by a
//! namespace column, shared by every process that opens them.
//!
//! # Configuration
//!
//! ```toml
//! [stores.sessions]
//! backend = "postgres"
//! url = "postgres://kv@db.internal:5432/app?sslmode=require"
//! password_env = "KV_PG_PASSWORD"  # the password, from this environment variable
//! schema = "public"                # default
//! table = "kv"                     # prefix of the table names, default "kv"
//! namespace = "demo-app/sessions"  # default "{application}/{store}", or the store name
//! pool_size = 16                   # connections per pool, default 16
//! timeout_ms = 5000                # connect, pool wait and each statement, default 5000
//! ```
//!
//! Any of these may also go in `[backends.postgres]`, for every store on it. Stores whose
//! connection settings (`url`, `password_env`, `pool_size`, `timeout_ms`, durability)
//! agree share one pool. The password never appears in errors, logs or `Debug`.
//! `sslmode=prefer|require` uses rustls and verifies the server's certificate against
//! the system's root certificates (stricter than libpq's `require`, which does not
//! verify); `sslmode=disable` is plain TCP.
//!
//! # Schema
//!
//! Created on [`Runtime::open`](crate::Runtime::open) (in `prepare`), idempotently,
//! under an advisory lock, and versioned in `{table}_schema`; a newer version than this
//! code knows is refused. The user needs `CREATE` on the schema the first time.
//!
//! ```sql
//! CREATE TABLE kv_records (
//!     namespace text, key bytea,   -- PRIMARY KEY (namespace, key): byte-ordered scans
//!     version bigint,              -- nextval('kv_versions'): never reused
//!     expiration bigint,           -- unix seconds; NULL: none (see below)
//!     metadata bytea,              -- the JSON exactly as given
//!     value bytea,                 -- the value, or NULL when chunked ...
//!     blob bigint,                 -- ... in kv_chunks under this id (from kv_blobs)
//!     len bigint);                 -- the value's length
//! CREATE INDEX kv_records_expiration ON kv_records (namespace, expiration)
//!     WHERE expiration IS NOT NULL;
//! CREATE TABLE kv_chunks (blob bigint, seq integer, data bytea, PRIMARY KEY (blob, seq));
//! -- triggers delete a record's chunks when it is replaced or deleted
//! ```
//!
//! Keys are `bytea`, compared byte by byte whatever the database's collation: listing
//! is in UTF-8 byte order, and a prefix is a key range, never a `LIKE` pattern.
//! Expirations are stored as signed 64-bit seconds; the few beyond `i64::MAX` (year
//! 292 billion) wrap to negative values, which every query reads as "not yet".
//!
//! # Guarantees
//!
//! - A put is one `INSERT .. ON CONFLICT DO UPDATE` (or an `UPDATE` for `if_version`)
//!   whose `WHERE` is the write's condition, judged against the runtime's `now`; expiry
//!   never depends on the database's clock. Versions come from a sequence.
//! - Values over [`CHUNK_BYTES`] and streamed values go to `kv_chunks` chunk by chunk,
//!   inside the transaction that finally writes the record: a failed, refused or
//!   cancelled put rolls back and leaves nothing behind. A chunked read runs in one
//!   `REPEATABLE READ` transaction, so a concurrent replace never shows through.
//! - `put_many` is one transaction (conditions checked on rows locked `FOR UPDATE`);
//!   `delete_many` one statement. `delete_prefix` and the purge work in batches of 500
//!   rows, each its own short transaction.
//! - Each write calls `pg_notify` in its own statement, so watchers (in every process)
//!   hear of it exactly when it commits; see [`watch`].
//! - Every statement is bounded by `timeout_ms`, on the server (`statement_timeout`)
//!   and in the client; a connection that timed out or broke is closed, not reused, and
//!   the pool reconnects once the server is back.
//! - Durability `sync` sets `synchronous_commit = on` for its connections; `buffered`
//!   keeps the server's own setting.
//!
//! # Costs
//!
//! A point read, put, delete or touch is one round trip (plus one for a refused
//! condition, to report the current version). A chunked value costs a round trip per
//! chunk, and a chunked read holds a pooled connection until its stream ends or is
//! dropped. `count` is a `COUNT(*)` over the key range in the database. Every write
//! sends a notification, which PostgreSQL serializes at commit: that bounds the write
//! rate of one database.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt as _};

use self::blobs::{BlobSql, PutHead};
use self::list::ListSql;
use self::pool::Shared;
use self::records::RecordSql;
use self::schema::{Tables, fnv1a};
use self::settings::{KNOWN, PgSettings, PoolKey, TableNames};
use super::{
    Backend, BackendFactory, ChangeStream, Condition, ListPage, ListQuery, NewRecord, Payload,
    PrepareContext, Record, RecordHead, StoreContext,
};
use crate::error::{Error, Result};
use crate::version::Version;

mod blobs;
mod bulk;
mod list;
mod pool;
mod records;
mod schema;
mod settings;
mod watch;

pub(crate) const NAME: &str = "postgres";

/// Values larger than this, and streamed values, are stored in chunks of this size:
/// 256 KiB.
pub(crate) const CHUNK_BYTES: usize = 256 * 1024;

/// A stored expiration from the runtime's (see the module docs on wrapping).
fn db_expiration(expiration: Option<u64>) -> Option<i64> {
    expiration.map(|e| e as i64)
}

fn from_db_expiration(expiration: Option<i64>) -> Option<u64> {
    expiration.map(|e| e as u64)
}

/// The runtime's `now` for queries (saturated: a clock past `i64::MAX` seconds is not
/// one this backend supports).
fn db_now(now: u64) -> i64 {
    i64::try_from(now).unwrap_or(i64::MAX)
}

/// Connects and migrates in `prepare`; opens a backend per store on the shared pools.
#[derive(Debug, Default)]
pub(crate) struct PostgresFactory {
    pools: Mutex<HashMap<PoolKey, Arc<Shared>>>,
    migrated: Mutex<HashSet<(PoolKey, TableNames)>>,
}

impl PostgresFactory {
    fn pool(&self, key: &PoolKey) -> Result<Arc<Shared>> {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = pools.get(key) {
            return Ok(Arc::clone(shared));
        }
        let shared = Shared::new(key)?;
        pools.insert(key.clone(), Arc::clone(&shared));
        Ok(shared)
    }
}

impl BackendFactory for PostgresFactory {
    fn prepare<'a>(&'a self, context: &'a PrepareContext<'a>) -> BoxFuture<'a, Result<()>> {
        async move {
            context.settings.check_known(NAME, &KNOWN)?;
            let mut wanted = Vec::new();
            for (_, store) in &context.stores {
                let settings = PgSettings::parse(&store.settings, store.durability)?;
                let pair = (settings.pool, settings.tables);
                if !wanted.contains(&pair) {
                    wanted.push(pair);
                }
            }
            for (key, names) in wanted {
                let shared = self.pool(&key)?;
                let done = self
                    .migrated
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .contains(&(key.clone(), names.clone()));
                if !done {
                    Tables::new(&names).migrate(&shared).await?;
                    self.migrated
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert((key, names));
                }
            }
            Ok(())
        }
        .boxed()
    }

    fn open(&self, store: &StoreContext<'_>) -> Result<Arc<dyn Backend>> {
        let settings = PgSettings::parse(&store.config.settings, store.config.durability)?;
        let prepared = self
            .migrated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&(settings.pool.clone(), settings.tables.clone()));
        if !prepared {
            return Err(Error::backend(
                NAME,
                format!(
                    "store {:?}: its tables were not prepared when the runtime opened",
                    store.name
                ),
            ));
        }
        let shared = self.pool(&settings.pool)?;
        let namespace = settings
            .namespace
            .unwrap_or_else(|| match store.application {
                Some(application) => format!("{application}/{}", store.name),
                None => store.name.to_owned(),
            });
        Ok(Arc::new(PostgresBackend::new(
            shared,
            &settings.tables,
            namespace,
        )))
    }
}

/// The statements a store runs, for its table set.
#[derive(Debug)]
struct Sql {
    records: RecordSql,
    list: ListSql,
    blobs: BlobSql,
}

/// One store: a namespace in a table set, on a shared pool.
pub(crate) struct PostgresBackend {
    shared: Arc<Shared>,
    sql: Arc<Sql>,
    namespace: String,
    /// The notification channel of this namespace: `kv_` and a hash of table set and
    /// namespace (channel names are identifiers of at most 63 bytes).
    channel: String,
}

impl fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("server", &self.shared.target)
            .field("namespace", &self.namespace)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl PostgresBackend {
    fn new(shared: Arc<Shared>, names: &TableNames, namespace: String) -> Self {
        let tables = Tables::new(names);
        let sql = Sql {
            records: RecordSql::new(&tables),
            list: ListSql::new(&tables),
            blobs: BlobSql::new(&tables),
        };
        let channel = format!(
            "kv_{:016x}",
            fnv1a(&format!("{}.{}\0{namespace}", names.schema, names.table))
        );
        Self {
            shared,
            sql: Arc::new(sql),
            namespace,
            channel,
        }
    }
}

impl Backend for PostgresBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Record>>> {
        self.get_record(key).boxed()
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<RecordHead>>> {
        self.head_of(key).boxed()
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
            let head = PutHead {
                key: &key,
                expiration,
                metadata: metadata.as_deref(),
                condition,
                now,
            };
            match value {
                Payload::Bytes(bytes) if bytes.len() <= CHUNK_BYTES => {
                    self.put_inline(&key, expiration, head.metadata, condition, &bytes, now)
                        .await
                }
                Payload::Bytes(bytes) => self.put_large(head, bytes).await,
                Payload::Stream(stream) => self.put_stream(head, stream).await,
            }
        }
        .boxed()
    }

    fn put_many(
        &self,
        records: Vec<NewRecord<Bytes>>,
        now: u64,
    ) -> BoxFuture<'_, Result<Vec<Version>>> {
        async move {
            if records.is_empty() {
                return Ok(Vec::new());
            }
            self.put_all(&records, now).await
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        key: &'a str,
        condition: Condition,
        now: u64,
    ) -> BoxFuture<'a, Result<bool>> {
        self.delete_key(key, condition, now).boxed()
    }

    fn delete_many(&self, keys: Vec<String>, now: u64) -> BoxFuture<'_, Result<u64>> {
        async move {
            if keys.is_empty() {
                return Ok(0);
            }
            self.delete_keys(&keys, now).await
        }
        .boxed()
    }

    fn touch<'a>(
        &'a self,
        key: &'a str,
        expiration: Option<u64>,
        now: u64,
    ) -> BoxFuture<'a, Result<Option<Version>>> {
        self.touch_key(key, expiration, now).boxed()
    }

    fn list(&self, query: ListQuery) -> BoxFuture<'_, Result<ListPage>> {
        async move { self.list_page(&query).await }.boxed()
    }

    fn count<'a>(&'a self, prefix: &'a str, now: u64) -> BoxFuture<'a, Result<u64>> {
        self.count_live(prefix, now).boxed()
    }

    fn delete_prefix<'a>(&'a self, prefix: &'a str, now: u64) -> BoxFuture<'a, Result<u64>> {
        self.delete_by_prefix(prefix, now).boxed()
    }

    fn purge_expired(&self, now: u64) -> BoxFuture<'_, Result<u64>> {
        self.purge(now).boxed()
    }

    fn watch<'a>(&'a self, prefix: &'a str, buffer: usize) -> BoxFuture<'a, Result<ChangeStream>> {
        watch::Listener::watch(&self.shared, &self.channel, prefix, buffer).boxed()
    }
}
