//! Point reads and writes: one row per key, replaced by one statement that checks the
//! write's condition and notifies watchers.

use bytes::Bytes;
use tokio_postgres::Row;

use super::pool::Conn;
use super::schema::Tables;
use super::{PostgresBackend, db_expiration, db_now, from_db_expiration};
use crate::backend::{Condition, Record, RecordHead, StoredValue};
use crate::error::{Error, Result};
use crate::version::Version;

/// `e` (a stored expiration) is live at `$now`: no expiration, one past `i64::MAX`
/// seconds (stored negative, see [`db_expiration`]), or one after now.
pub(super) fn live(column: &str, now: &str) -> String {
    format!("({column} IS NULL OR {column} < 0 OR {column} > {now})")
}

/// The notification payload of a put or touch, from `w.key, w.version, w.expiration`.
pub(super) const PUT_PAYLOAD: &str = "'p:' || to_hex(w.version) || ':' || \
     coalesce(w.expiration::text, '') || ':' || encode(w.key, 'hex')";

const SET_ALL: &str = "version = EXCLUDED.version, expiration = EXCLUDED.expiration, \
     metadata = EXCLUDED.metadata, value = EXCLUDED.value, blob = EXCLUDED.blob, len = EXCLUDED.len";

/// The statements of this module, for one table set.
#[derive(Debug)]
pub(super) struct RecordSql {
    get: String,
    head: String,
    live_version: String,
    put_always: String,
    put_absent: String,
    put_version: String,
    delete_always: String,
    delete_version: String,
    delete_many: String,
    touch: String,
    pub(super) lock_many: String,
    pub(super) upsert_many: String,
    pub(super) insert_absent_many: String,
}

impl RecordSql {
    pub(super) fn new(t: &Tables) -> Self {
        let (records, versions) = (&t.records, &t.versions);
        let upsert = |condition: &str| {
            format!(
                "WITH w AS (
                    INSERT INTO {records} AS r (namespace, key, version, expiration, metadata, value, blob, len)
                    VALUES ($1, $2, nextval({versions}), $6, $7, $3, $4, $5)
                    ON CONFLICT (namespace, key) DO UPDATE SET {SET_ALL} {condition}
                    RETURNING r.key, r.version, r.expiration)
                 SELECT w.version, pg_notify($8, {PUT_PAYLOAD}) FROM w"
            )
        };
        let upsert_many = |condition: &str| {
            format!(
                "WITH w AS (
                    INSERT INTO {records} AS r (namespace, key, version, expiration, metadata, value, blob, len)
                    SELECT $1, t.key, nextval({versions}), t.expiration, t.metadata, t.value, t.blob, t.len
                    FROM unnest($2::bytea[], $3::bytea[], $4::int8[], $5::int8[], $6::int8[], $7::bytea[])
                        AS t(key, value, blob, len, expiration, metadata)
                    ON CONFLICT (namespace, key) DO UPDATE SET {SET_ALL} {condition}
                    RETURNING r.key, r.version, r.expiration)
                 SELECT w.key, w.version, pg_notify($8, {PUT_PAYLOAD}) FROM w"
            )
        };
        Self {
            get: format!(
                "SELECT version, expiration, metadata, value, blob, len FROM {records}
                 WHERE namespace = $1 AND key = $2"
            ),
            head: format!(
                "SELECT version, expiration, metadata FROM {records} WHERE namespace = $1 AND key = $2"
            ),
            live_version: format!(
                "SELECT version FROM {records} WHERE namespace = $1 AND key = $2 AND {}",
                live("expiration", "$3")
            ),
            put_always: upsert(""),
            put_absent: upsert("WHERE r.expiration BETWEEN 0 AND $9"),
            put_version: format!(
                "WITH w AS (
                    UPDATE {records} AS r SET version = nextval({versions}), expiration = $6,
                        metadata = $7, value = $3, blob = $4, len = $5
                    WHERE r.namespace = $1 AND r.key = $2 AND r.version = $9 AND {}
                    RETURNING r.key, r.version, r.expiration)
                 SELECT w.version, pg_notify($8, {PUT_PAYLOAD}) FROM w",
                live("r.expiration", "$10")
            ),
            delete_always: format!(
                "WITH d AS (
                    DELETE FROM {records} WHERE namespace = $1 AND key = $2
                    RETURNING key, {} AS live)
                 SELECT pg_notify($4, 'd:' || encode(d.key, 'hex')) FROM d WHERE d.live",
                live("expiration", "$3")
            ),
            delete_version: format!(
                "WITH d AS (
                    DELETE FROM {records} WHERE namespace = $1 AND key = $2 AND version = $5 AND {}
                    RETURNING key)
                 SELECT pg_notify($4, 'd:' || encode(d.key, 'hex')) FROM d",
                live("expiration", "$3")
            ),
            delete_many: format!(
                "WITH d AS (
                    DELETE FROM {records} WHERE namespace = $1 AND key = ANY($2::bytea[])
                    RETURNING key, {} AS live)
                 SELECT pg_notify($4, 'd:' || encode(d.key, 'hex')) FROM d WHERE d.live",
                live("expiration", "$3")
            ),
            touch: format!(
                "WITH w AS (
                    UPDATE {records} AS r SET version = nextval({versions}), expiration = $3
                    WHERE r.namespace = $1 AND r.key = $2 AND {}
                    RETURNING r.key, r.version, r.expiration)
                 SELECT w.version, pg_notify($5, {PUT_PAYLOAD}) FROM w",
                live("r.expiration", "$4")
            ),
            lock_many: format!(
                "SELECT key, version FROM {records}
                 WHERE namespace = $1 AND key = ANY($2::bytea[]) AND {}
                 ORDER BY key FOR UPDATE",
                live("expiration", "$3")
            ),
            upsert_many: upsert_many(""),
            insert_absent_many: upsert_many("WHERE r.expiration BETWEEN 0 AND $9"),
        }
    }
}

/// Where a record's value is: inline bytes, or the id of its chunks.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stored<'a> {
    pub(super) value: Option<&'a [u8]>,
    pub(super) blob: Option<i64>,
    pub(super) len: i64,
}

impl<'a> Stored<'a> {
    pub(super) fn inline(value: &'a [u8]) -> Self {
        Self {
            value: Some(value),
            blob: None,
            len: value.len() as i64,
        }
    }
}

pub(super) fn version(row: &Row, index: usize, backend: &PostgresBackend) -> Result<Version> {
    let number: i64 = row.try_get(index).map_err(|e| backend.shared.error(&e))?;
    Ok(Version::from_u64(number as u64))
}

/// A record's head from the first three columns: version, expiration, metadata.
pub(super) fn head(row: &Row, backend: &PostgresBackend) -> Result<RecordHead> {
    let expiration: Option<i64> = row.try_get(1).map_err(|e| backend.shared.error(&e))?;
    let metadata: Option<Vec<u8>> = row.try_get(2).map_err(|e| backend.shared.error(&e))?;
    Ok(RecordHead::new(
        version(row, 0, backend)?,
        from_db_expiration(expiration),
        metadata.map(Bytes::from),
    ))
}

/// What a `get` row says the value is.
pub(super) enum Found {
    Inline(Bytes),
    Chunked { blob: i64, len: u64 },
}

/// Head and value location from a row of [`RecordSql::get`]'s columns.
pub(super) fn found(row: &Row, backend: &PostgresBackend) -> Result<(RecordHead, Found)> {
    let head = head(row, backend)?;
    let value: Option<Vec<u8>> = row.try_get(3).map_err(|e| backend.shared.error(&e))?;
    let blob: Option<i64> = row.try_get(4).map_err(|e| backend.shared.error(&e))?;
    let len: i64 = row.try_get(5).map_err(|e| backend.shared.error(&e))?;
    let found = match (value, blob) {
        (Some(value), _) => Found::Inline(Bytes::from(value)),
        (None, Some(blob)) => Found::Chunked {
            blob,
            len: len as u64,
        },
        (None, None) => return Err(backend.shared.fail("a record has neither value nor chunks")),
    };
    Ok((head, found))
}

impl PostgresBackend {
    /// The record row of `key`, as [`found`] reads it, through `conn`.
    pub(super) async fn fetch(
        &self,
        conn: &Conn,
        key: &str,
    ) -> Result<Option<(RecordHead, Found)>> {
        let row = conn
            .query_opt(&self.sql.records.get, &[&self.namespace, &key.as_bytes()])
            .await?;
        row.map(|row| found(&row, self)).transpose()
    }

    pub(super) async fn get_record(&self, key: &str) -> Result<Option<Record>> {
        let conn = self.shared.conn().await?;
        match self.fetch(&conn, key).await? {
            None => Ok(None),
            Some((head, Found::Inline(value))) => {
                Ok(Some(Record::new(head, StoredValue::Inline(value))))
            }
            Some((_, Found::Chunked { .. })) => {
                drop(conn);
                self.get_chunked(key).await
            }
        }
    }

    pub(super) async fn head_of(&self, key: &str) -> Result<Option<RecordHead>> {
        let conn = self.shared.conn().await?;
        let row = conn
            .query_opt(&self.sql.records.head, &[&self.namespace, &key.as_bytes()])
            .await?;
        row.map(|row| head(&row, self)).transpose()
    }

    /// The version of `key`'s record live at `now`, for a conflict's message.
    pub(super) async fn live_version(
        &self,
        conn: &Conn,
        key: &str,
        now: u64,
    ) -> Result<Option<Version>> {
        let row = conn
            .query_opt(
                &self.sql.records.live_version,
                &[&self.namespace, &key.as_bytes(), &db_now(now)],
            )
            .await?;
        row.map(|row| version(&row, 0, self)).transpose()
    }

    /// Writes one record through `conn` (autocommit, or inside the caller's
    /// transaction) if its condition holds; a refusal is a conflict naming the current
    /// version.
    pub(super) async fn write(
        &self,
        conn: &Conn,
        key: &str,
        expiration: Option<u64>,
        metadata: Option<&[u8]>,
        condition: Condition,
        stored: Stored<'_>,
        now: u64,
    ) -> Result<Version> {
        let sql = &self.sql.records;
        let (expiration, now_db) = (db_expiration(expiration), db_now(now));
        let key_bytes = key.as_bytes();
        let base: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
            &self.namespace,
            &key_bytes,
            &stored.value,
            &stored.blob,
            &stored.len,
            &expiration,
            &metadata,
            &self.channel,
        ];
        let rows = match condition {
            Condition::Absent => {
                let mut params = base.to_vec();
                params.push(&now_db);
                conn.query(&sql.put_absent, &params).await?
            }
            Condition::Version(expected) => {
                let expected = expected.as_u64() as i64;
                let mut params = base.to_vec();
                params.push(&expected);
                params.push(&now_db);
                conn.query(&sql.put_version, &params).await?
            }
            _ => conn.query(&sql.put_always, &base).await?,
        };
        match rows.first() {
            Some(row) => version(row, 0, self),
            None => Err(Error::conflict(
                key,
                condition,
                self.live_version(conn, key, now).await?,
            )),
        }
    }

    pub(super) async fn put_inline(
        &self,
        key: &str,
        expiration: Option<u64>,
        metadata: Option<&[u8]>,
        condition: Condition,
        value: &[u8],
        now: u64,
    ) -> Result<Version> {
        let conn = self.shared.conn().await?;
        self.write(
            &conn,
            key,
            expiration,
            metadata,
            condition,
            Stored::inline(value),
            now,
        )
        .await
    }

    pub(super) async fn delete_key(
        &self,
        key: &str,
        condition: Condition,
        now: u64,
    ) -> Result<bool> {
        let conn = self.shared.conn().await?;
        let (key_bytes, now_db) = (key.as_bytes(), db_now(now));
        let sql = &self.sql.records;
        let rows = match condition {
            Condition::Absent => {
                return match self.live_version(&conn, key, now).await? {
                    None => Ok(false),
                    current => Err(Error::conflict(key, condition, current)),
                };
            }
            Condition::Version(expected) => {
                let expected = expected.as_u64() as i64;
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
                    &self.namespace,
                    &key_bytes,
                    &now_db,
                    &self.channel,
                    &expected,
                ];
                let rows = conn.query(&sql.delete_version, &params).await?;
                if rows.is_empty() {
                    let current = self.live_version(&conn, key, now).await?;
                    return Err(Error::conflict(key, condition, current));
                }
                rows
            }
            _ => {
                conn.query(
                    &sql.delete_always,
                    &[&self.namespace, &key_bytes, &now_db, &self.channel],
                )
                .await?
            }
        };
        Ok(!rows.is_empty())
    }

    pub(super) async fn delete_keys(&self, keys: &[String], now: u64) -> Result<u64> {
        let conn = self.shared.conn().await?;
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
        let rows = conn
            .query(
                &self.sql.records.delete_many,
                &[&self.namespace, &keys, &db_now(now), &self.channel],
            )
            .await?;
        Ok(rows.len() as u64)
    }

    pub(super) async fn touch_key(
        &self,
        key: &str,
        expiration: Option<u64>,
        now: u64,
    ) -> Result<Option<Version>> {
        let conn = self.shared.conn().await?;
        let row = conn
            .query_opt(
                &self.sql.records.touch,
                &[
                    &self.namespace,
                    &key.as_bytes(),
                    &db_expiration(expiration),
                    &db_now(now),
                    &self.channel,
                ],
            )
            .await?;
        row.map(|row| version(&row, 0, self)).transpose()
    }
}
