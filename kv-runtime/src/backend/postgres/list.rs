//! Range scans over `(namespace, key)`: listing, counting and deleting by prefix, and
//! the purge of expired rows over `(namespace, expiration)`.
//!
//! Keys are `bytea`, which PostgreSQL compares byte by byte whatever the database's
//! collation, so the index order is UTF-8 byte order. A prefix is a range
//! `[prefix, upper_bound(prefix))`, never a `LIKE` pattern: `%` and `_` are ordinary.

use super::records::live;
use super::schema::Tables;
use super::{PostgresBackend, db_now};
use crate::backend::{ListPage, ListQuery, ListedKey};
use crate::error::Result;

/// Rows one statement of `delete_prefix` or the purge removes: each batch is its own
/// short transaction, so other writers never wait long behind one.
const BATCH: i64 = 500;

/// The smallest byte string greater than every string starting with `prefix`, or
/// `None` when there is none (the empty prefix, or one of only `0xff` bytes, which
/// UTF-8 never has).
pub(super) fn upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut bound = prefix.to_vec();
    while let Some(last) = bound.pop() {
        if last < u8::MAX {
            bound.push(last + 1);
            return Some(bound);
        }
    }
    None
}

/// A statement in two forms: for a prefix with an upper bound, and for none.
#[derive(Debug)]
struct Ranged {
    bounded: String,
    unbounded: String,
}

impl Ranged {
    /// `template` with `{upper}` replaced by `AND key < $n` (n = `param`) or nothing.
    fn new(template: &str, column: &str, param: usize) -> Self {
        Self {
            bounded: template.replace("{upper}", &format!("AND {column} < ${param}")),
            unbounded: template.replace("{upper}", ""),
        }
    }

    fn pick(&self, bounded: bool) -> &str {
        if bounded {
            &self.bounded
        } else {
            &self.unbounded
        }
    }
}

/// The statements of this module, for one table set.
#[derive(Debug)]
pub(super) struct ListSql {
    list: Ranged,
    count: Ranged,
    delete_prefix: Ranged,
    purge: String,
}

impl ListSql {
    pub(super) fn new(t: &Tables) -> Self {
        let records = &t.records;
        Self {
            list: Ranged::new(
                &format!(
                    "SELECT version, expiration, metadata, key FROM {records}
                     WHERE namespace = $1 AND key >= $2 AND key > $3 {{upper}} AND {}
                     ORDER BY key LIMIT $5",
                    live("expiration", "$4")
                ),
                "key",
                6,
            ),
            count: Ranged::new(
                &format!(
                    "SELECT count(*) FROM {records}
                     WHERE namespace = $1 AND key >= $2 {{upper}} AND {}",
                    live("expiration", "$3")
                ),
                "key",
                4,
            ),
            delete_prefix: Ranged::new(
                &format!(
                    "WITH batch AS MATERIALIZED (
                        SELECT key FROM {records}
                        WHERE namespace = $1 AND key >= $2 AND key > $3 {{upper}}
                        ORDER BY key LIMIT $4),
                     d AS (
                        DELETE FROM {records} r USING batch b
                        WHERE r.namespace = $1 AND r.key = b.key
                        RETURNING CASE WHEN {} THEN pg_notify($6, 'd:' || encode(r.key, 'hex')) END,
                            {} AS live)
                     SELECT (SELECT key FROM batch ORDER BY key DESC LIMIT 1), (SELECT count(*) FROM batch),
                        (SELECT count(*) FROM d WHERE d.live)",
                    live("r.expiration", "$5"),
                    live("r.expiration", "$5"),
                ),
                "key",
                7,
            ),
            purge: format!(
                "WITH batch AS MATERIALIZED (
                    SELECT key FROM {records}
                    WHERE namespace = $1 AND expiration BETWEEN 0 AND $2
                    ORDER BY expiration LIMIT $3 FOR UPDATE SKIP LOCKED),
                 d AS (
                    DELETE FROM {records} r USING batch b
                    WHERE r.namespace = $1 AND r.key = b.key AND r.expiration BETWEEN 0 AND $2
                    RETURNING pg_notify($4, 'e:' || encode(r.key, 'hex')))
                 SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM d)"
            ),
        }
    }
}

impl PostgresBackend {
    pub(super) async fn list_page(&self, query: &ListQuery) -> Result<ListPage> {
        let conn = self.shared.conn().await?;
        let prefix = query.prefix.as_bytes();
        let after = query.start_after.as_deref().unwrap_or("").as_bytes();
        let now = db_now(query.now);
        let limit = query.limit as i64 + 1;
        let upper = upper_bound(prefix);
        let sql = self.sql.list.list.pick(upper.is_some());
        let rows = match &upper {
            Some(upper) => {
                conn.query(
                    sql,
                    &[&self.namespace, &prefix, &after, &now, &limit, upper],
                )
                .await?
            }
            None => {
                conn.query(sql, &[&self.namespace, &prefix, &after, &now, &limit])
                    .await?
            }
        };
        let more = rows.len() > query.limit;
        let mut keys = Vec::with_capacity(rows.len().min(query.limit));
        for row in rows.iter().take(query.limit) {
            let head = super::records::head(row, self)?;
            let key: Vec<u8> = row.try_get(3).map_err(|e| self.shared.error(&e))?;
            let key = String::from_utf8(key)
                .map_err(|_| self.shared.fail("a stored key is not UTF-8"))?;
            keys.push(ListedKey::new(key, head));
        }
        Ok(ListPage::new(keys, more))
    }

    pub(super) async fn count_live(&self, prefix: &str, now: u64) -> Result<u64> {
        let conn = self.shared.conn().await?;
        let prefix = prefix.as_bytes();
        let now = db_now(now);
        let upper = upper_bound(prefix);
        let sql = self.sql.list.count.pick(upper.is_some());
        let row = match &upper {
            Some(upper) => {
                conn.query_opt(sql, &[&self.namespace, &prefix, &now, upper])
                    .await?
            }
            None => {
                conn.query_opt(sql, &[&self.namespace, &prefix, &now])
                    .await?
            }
        };
        let count: i64 = match row {
            Some(row) => row.try_get(0).map_err(|e| self.shared.error(&e))?,
            None => 0,
        };
        Ok(count as u64)
    }

    /// Deletes the prefix a batch at a time, each batch after the last key of the one
    /// before: keys written behind the walk survive.
    pub(super) async fn delete_by_prefix(&self, prefix: &str, now: u64) -> Result<u64> {
        let prefix = prefix.as_bytes();
        let upper = upper_bound(prefix);
        let sql = self.sql.list.delete_prefix.pick(upper.is_some());
        let now = db_now(now);
        let mut after: Vec<u8> = Vec::new();
        let mut removed = 0u64;
        loop {
            let conn = self.shared.conn().await?;
            let row = match &upper {
                Some(upper) => {
                    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
                        &self.namespace,
                        &prefix,
                        &after,
                        &BATCH,
                        &now,
                        &self.channel,
                        upper,
                    ];
                    conn.query_opt(sql, &params).await?
                }
                None => {
                    conn.query_opt(
                        sql,
                        &[
                            &self.namespace,
                            &prefix,
                            &after,
                            &BATCH,
                            &now,
                            &self.channel,
                        ],
                    )
                    .await?
                }
            };
            let Some(row) = row else {
                return Ok(removed);
            };
            let last: Option<Vec<u8>> = row.try_get(0).map_err(|e| self.shared.error(&e))?;
            let selected: i64 = row.try_get(1).map_err(|e| self.shared.error(&e))?;
            let live: i64 = row.try_get(2).map_err(|e| self.shared.error(&e))?;
            removed += live as u64;
            match last {
                Some(last) if selected >= BATCH => after = last,
                _ => return Ok(removed),
            }
        }
    }

    /// Deletes what expired at or before `now`, a batch at a time on the expiration
    /// index; rows another process is purging at the same moment are skipped, not
    /// waited for.
    pub(super) async fn purge(&self, now: u64) -> Result<u64> {
        let now = db_now(now);
        let mut removed = 0u64;
        loop {
            let conn = self.shared.conn().await?;
            let row = conn
                .query_opt(
                    &self.sql.list.purge,
                    &[&self.namespace, &now, &BATCH, &self.channel],
                )
                .await?;
            let Some(row) = row else {
                return Ok(removed);
            };
            let selected: i64 = row.try_get(0).map_err(|e| self.shared.error(&e))?;
            let deleted: i64 = row.try_get(1).map_err(|e| self.shared.error(&e))?;
            removed += deleted as u64;
            if selected < BATCH {
                return Ok(removed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::upper_bound;

    #[test]
    fn upper_bounds() {
        assert_eq!(upper_bound(b""), None);
        assert_eq!(upper_bound(b"a"), Some(b"b".to_vec()));
        assert_eq!(upper_bound(b"a%"), Some(b"a&".to_vec()));
        assert_eq!(upper_bound(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(upper_bound(b"\xff\xff"), None);
        assert_eq!(upper_bound("é".as_bytes()), Some(vec![0xc3, 0xaa]));
    }
}
