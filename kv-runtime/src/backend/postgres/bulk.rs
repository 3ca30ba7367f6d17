//! `put_many`: every record or none, in one transaction. Conditions are checked on the
//! rows locked `FOR UPDATE`; the records go in with one `unnest` statement (two when
//! some must be absent), in key order so that concurrent batches lock rows alike.

use std::collections::HashMap;

use bytes::Bytes;
use tokio_postgres::Row;

use super::pool::{Conn, is_retryable};
use super::records::version;
use super::{CHUNK_BYTES, PostgresBackend, db_expiration, db_now};
use crate::backend::{Condition, NewRecord};
use crate::error::{Error, Result};
use crate::version::Version;

impl PostgresBackend {
    /// Writes every record or none, in one transaction, retrying a deadlock.
    pub(super) async fn put_all(
        &self,
        records: &[NewRecord<Bytes>],
        now: u64,
    ) -> Result<Vec<Version>> {
        let mut attempt = 0;
        loop {
            match self.put_all_once(records, now).await {
                Err(error) if is_retryable(&error) && attempt < 3 => attempt += 1,
                result => return result,
            }
        }
    }

    async fn put_all_once(&self, records: &[NewRecord<Bytes>], now: u64) -> Result<Vec<Version>> {
        // Key order everywhere, so that concurrent batches lock rows in one order.
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by(|&a, &b| records[a].key.as_bytes().cmp(records[b].key.as_bytes()));
        let session = self.shared.session("BEGIN").await?;
        let conn = session.conn()?;
        let now_db = db_now(now);
        let conditional = records
            .iter()
            .any(|r| !matches!(r.condition, Condition::Always));
        if conditional {
            let keys: Vec<&[u8]> = order.iter().map(|&i| records[i].key.as_bytes()).collect();
            let rows = conn
                .query(
                    &self.sql.records.lock_many,
                    &[&self.namespace, &keys, &now_db],
                )
                .await?;
            let mut live = HashMap::with_capacity(rows.len());
            for row in &rows {
                let key: Vec<u8> = row.try_get(0).map_err(|e| self.shared.error(&e))?;
                live.insert(key, version(row, 1, self)?);
            }
            for record in records {
                let current = live.get(record.key.as_bytes()).copied();
                if !record.condition.holds(current) {
                    return Err(Error::conflict(&record.key, record.condition, current));
                }
            }
        }
        // Absent items go in with a statement that refuses to replace a live row (one
        // may have appeared since the check); the rest replace whatever is there.
        let (absent, others): (Vec<usize>, Vec<usize>) = order
            .into_iter()
            .partition(|&i| matches!(records[i].condition, Condition::Absent));
        let mut versions: HashMap<Vec<u8>, Version> = HashMap::with_capacity(records.len());
        for (items, only_absent) in [(&others, false), (&absent, true)] {
            if items.is_empty() {
                continue;
            }
            let rows = self
                .write_many(conn, records, items, only_absent, now_db)
                .await?;
            if rows.len() != items.len() {
                let refused = items
                    .iter()
                    .map(|&i| &records[i])
                    .find(|r| {
                        !rows
                            .iter()
                            .any(|row| row.try_get::<_, &[u8]>(0).ok() == Some(r.key.as_bytes()))
                    })
                    .ok_or_else(|| self.shared.fail("a bulk write lost track of an item"))?;
                let current = self.live_version(conn, &refused.key, now).await?;
                return Err(Error::conflict(&refused.key, refused.condition, current));
            }
            for row in &rows {
                let key: Vec<u8> = row.try_get(0).map_err(|e| self.shared.error(&e))?;
                versions.insert(key, version(row, 1, self)?);
            }
        }
        let out = records
            .iter()
            .map(|r| {
                versions
                    .get(r.key.as_bytes())
                    .copied()
                    .ok_or_else(|| self.shared.fail("a bulk write lost track of an item"))
            })
            .collect::<Result<Vec<_>>>()?;
        session.commit().await?;
        Ok(out)
    }

    /// One `unnest` statement for `items` (indexes into `records`), chunking values
    /// larger than a chunk first. `only_absent`: replace no live row.
    async fn write_many(
        &self,
        conn: &Conn,
        records: &[NewRecord<Bytes>],
        items: &[usize],
        only_absent: bool,
        now_db: i64,
    ) -> Result<Vec<Row>> {
        let mut keys = Vec::with_capacity(items.len());
        let mut values = Vec::with_capacity(items.len());
        let mut blobs = Vec::with_capacity(items.len());
        let mut lens = Vec::with_capacity(items.len());
        let mut expirations = Vec::with_capacity(items.len());
        let mut metadata = Vec::with_capacity(items.len());
        for &i in items {
            let record = &records[i];
            keys.push(record.key.as_bytes());
            if record.value.len() > CHUNK_BYTES {
                values.push(None);
                blobs.push(Some(self.write_chunks(conn, &record.value).await?));
            } else {
                values.push(Some(record.value.as_ref()));
                blobs.push(None);
            }
            lens.push(record.value.len() as i64);
            expirations.push(db_expiration(record.expiration));
            metadata.push(record.metadata.as_deref());
        }
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 9] = [
            &self.namespace,
            &keys,
            &values,
            &blobs,
            &lens,
            &expirations,
            &metadata,
            &self.channel,
            &now_db,
        ];
        if only_absent {
            conn.query(&self.sql.records.insert_absent_many, &params)
                .await
        } else {
            conn.query(&self.sql.records.upsert_many, &params[..8])
                .await
        }
    }
}
