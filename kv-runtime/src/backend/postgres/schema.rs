//! The tables, created and migrated when the runtime opens, and the SQL every store
//! runs against them.
//!
//! Migrations run in one transaction under a transaction-level advisory lock derived
//! from the schema and table prefix, so several processes opening at once serialize:
//! the first creates the tables, the others find them. The schema version lives in
//! `{table}_schema`; a version newer than this code knows is refused.

use std::sync::Arc;

use super::pool::Shared;
use super::settings::TableNames;
use crate::error::Result;

/// The schema version this code creates and understands.
pub(super) const SCHEMA_VERSION: i32 = 1;

/// A stable 64-bit FNV-1a hash: the same in every process (advisory lock keys,
/// notification channel names).
pub(super) fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SQL for one schema and table prefix: quoted, qualified names.
#[derive(Debug, Clone)]
pub(super) struct Tables {
    pub(super) names: TableNames,
    /// `"schema"."{table}_records"`.
    pub(super) records: String,
    /// `"schema"."{table}_chunks"`.
    pub(super) chunks: String,
    /// The sequence versions come from, as a `regclass` literal for `nextval`.
    pub(super) versions: String,
    /// The sequence chunked values' ids come from.
    pub(super) blobs: String,
    schema_table: String,
}

impl Tables {
    pub(super) fn new(names: &TableNames) -> Self {
        let (s, t) = (&names.schema, &names.table);
        Self {
            names: names.clone(),
            records: format!("\"{s}\".\"{t}_records\""),
            chunks: format!("\"{s}\".\"{t}_chunks\""),
            versions: format!("'\"{s}\".\"{t}_versions\"'"),
            blobs: format!("'\"{s}\".\"{t}_blobs\"'"),
            schema_table: format!("\"{s}\".\"{t}_schema\""),
        }
    }

    /// Creates or migrates the tables to [`SCHEMA_VERSION`], idempotently, under the
    /// advisory lock. Refuses a newer schema.
    pub(super) async fn migrate(&self, shared: &Arc<Shared>) -> Result<()> {
        let session = shared.session("BEGIN").await?;
        let conn = session.conn()?;
        let (s, t) = (&self.names.schema, &self.names.table);
        let lock = fnv1a(&format!("kv-runtime schema {s}.{t}")) as i64;
        conn.execute("SELECT pg_advisory_xact_lock($1)", &[&lock])
            .await?;
        let exists = conn
            .query_opt(
                "SELECT 1 FROM pg_namespace WHERE nspname = $1",
                &[&self.names.schema],
            )
            .await?
            .is_some();
        if !exists {
            conn.batch(&format!("CREATE SCHEMA \"{s}\"")).await?;
        }
        let version_table = format!("{s}.{t}_schema");
        let has_table = conn
            .query_opt(
                "SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2",
                &[&self.names.schema, &format!("{t}_schema")],
            )
            .await?
            .is_some();
        let current: i32 = if has_table {
            let row = conn
                .query_opt(&format!("SELECT version FROM {}", self.schema_table), &[])
                .await?;
            match row {
                Some(row) => row.try_get(0).map_err(|e| shared.error(&e))?,
                None => 0,
            }
        } else {
            conn.batch(&format!(
                "CREATE TABLE {} (
                    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                    version integer NOT NULL
                )",
                self.schema_table
            ))
            .await?;
            0
        };
        if current > SCHEMA_VERSION {
            return Err(shared.fail(format_args!(
                "the tables {version_table}* are at schema version {current}, newer than this \
                 kv-runtime understands ({SCHEMA_VERSION}): upgrade kv-runtime, or point \
                 `schema`/`table` elsewhere"
            )));
        }
        if current < 1 {
            conn.batch(&self.migration_1()).await?;
        }
        if current < SCHEMA_VERSION {
            conn.execute(
                &format!(
                    "INSERT INTO {} (singleton, version) VALUES (true, $1)
                     ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version",
                    self.schema_table
                ),
                &[&SCHEMA_VERSION],
            )
            .await?;
        }
        session.commit().await
    }

    /// Version 1: records, chunks, the two sequences, and the triggers that remove a
    /// chunked value's chunks in the transaction that replaces or deletes its record.
    fn migration_1(&self) -> String {
        let (s, t) = (&self.names.schema, &self.names.table);
        let (records, chunks) = (&self.records, &self.chunks);
        format!(
            r#"
CREATE TABLE {records} (
    namespace text NOT NULL,
    key bytea NOT NULL,
    version bigint NOT NULL,
    expiration bigint,
    metadata bytea,
    value bytea,
    blob bigint,
    len bigint NOT NULL,
    PRIMARY KEY (namespace, key),
    CHECK ((value IS NULL) <> (blob IS NULL))
);
CREATE INDEX "{t}_records_expiration" ON {records} (namespace, expiration)
    WHERE expiration IS NOT NULL;
CREATE TABLE {chunks} (
    blob bigint NOT NULL,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (blob, seq)
);
CREATE SEQUENCE "{s}"."{t}_versions";
CREATE SEQUENCE "{s}"."{t}_blobs";
CREATE FUNCTION "{s}"."{t}_drop_chunks"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {chunks} WHERE blob = OLD.blob;
    RETURN NULL;
END
$$;
CREATE TRIGGER "{t}_records_replaced" AFTER UPDATE ON {records} FOR EACH ROW
    WHEN (OLD.blob IS NOT NULL AND OLD.blob IS DISTINCT FROM NEW.blob)
    EXECUTE FUNCTION "{s}"."{t}_drop_chunks"();
CREATE TRIGGER "{t}_records_deleted" AFTER DELETE ON {records} FOR EACH ROW
    WHEN (OLD.blob IS NOT NULL)
    EXECUTE FUNCTION "{s}"."{t}_drop_chunks"();
"#
        )
    }
}
