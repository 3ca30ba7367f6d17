//! Chunked values: written chunk by chunk inside the transaction that finally points
//! the record at them (so a failed or cancelled put leaves nothing behind), and read
//! chunk by chunk inside one REPEATABLE READ transaction (so a concurrent replace,
//! whose trigger deletes the old chunks, never shows through).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;

use super::pool::{Conn, Session};
use super::records::{Found, Stored};
use super::schema::Tables;
use super::{CHUNK_BYTES, PostgresBackend};
use crate::backend::{ByteStream, Condition, Record, StoredValue};
use crate::error::{Error, Result};
use crate::version::Version;

/// How a read of a chunked value begins: its snapshot holds for the whole read.
const BEGIN_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// The statements of this module, for one table set.
#[derive(Debug)]
pub(super) struct BlobSql {
    next_blob: String,
    insert_chunk: String,
    read_chunk: Arc<str>,
}

impl BlobSql {
    pub(super) fn new(t: &Tables) -> Self {
        Self {
            next_blob: format!("SELECT nextval({})", t.blobs),
            insert_chunk: format!(
                "INSERT INTO {} (blob, seq, data) VALUES ($1, $2, $3)",
                t.chunks
            ),
            read_chunk: Arc::from(format!(
                "SELECT data FROM {} WHERE blob = $1 AND seq = $2",
                t.chunks
            )),
        }
    }
}

/// The metadata, expiration and condition of a put, as the chunked path carries them.
pub(super) struct PutHead<'a> {
    pub(super) key: &'a str,
    pub(super) expiration: Option<u64>,
    pub(super) metadata: Option<&'a [u8]>,
    pub(super) condition: Condition,
    pub(super) now: u64,
}

/// A chunked value being written: the transaction, its blob id, the next chunk's index.
struct Pending {
    session: Session,
    blob: i64,
    next: i32,
}

impl PostgresBackend {
    async fn begin_blob(&self) -> Result<Pending> {
        let session = self.shared.session("BEGIN").await?;
        let blob = self.new_blob(session.conn()?).await?;
        Ok(Pending {
            session,
            blob,
            next: 0,
        })
    }

    async fn new_blob(&self, conn: &Conn) -> Result<i64> {
        let row = conn.query_opt(&self.sql.blobs.next_blob, &[]).await?;
        row.ok_or_else(|| self.shared.fail("nextval returned nothing"))?
            .try_get(0)
            .map_err(|e| self.shared.error(&e))
    }

    async fn insert_chunk(&self, conn: &Conn, blob: i64, seq: i32, data: &[u8]) -> Result<()> {
        conn.execute(&self.sql.blobs.insert_chunk, &[&blob, &seq, &data])
            .await
            .map(drop)
    }

    /// Writes `value` as chunks of a new blob through `conn` (inside a transaction);
    /// returns the blob's id.
    pub(super) async fn write_chunks(&self, conn: &Conn, value: &Bytes) -> Result<i64> {
        let blob = self.new_blob(conn).await?;
        for (seq, chunk) in value.chunks(CHUNK_BYTES).enumerate() {
            let seq = i32::try_from(seq).map_err(|_| self.shared.fail("too many chunks"))?;
            self.insert_chunk(conn, blob, seq, chunk).await?;
        }
        Ok(blob)
    }

    /// Points the record at the chunks written in `pending` and commits.
    async fn finish_blob(&self, pending: Pending, head: &PutHead<'_>, len: u64) -> Result<Version> {
        let stored = Stored {
            value: None,
            blob: Some(pending.blob),
            len: len as i64,
        };
        let conn = pending.session.conn()?;
        let written = self
            .write(
                conn,
                head.key,
                head.expiration,
                head.metadata,
                head.condition,
                stored,
                head.now,
            )
            .await;
        match written {
            Ok(version) => {
                pending.session.commit().await?;
                Ok(version)
            }
            Err(error) => {
                pending.session.rollback().await;
                Err(error)
            }
        }
    }

    /// A value larger than a chunk, given whole.
    pub(super) async fn put_large(&self, head: PutHead<'_>, value: Bytes) -> Result<Version> {
        let session = self.shared.session("BEGIN").await?;
        let blob = match self.write_chunks(session.conn()?, &value).await {
            Ok(blob) => blob,
            Err(error) => {
                session.rollback().await;
                return Err(error);
            }
        };
        let pending = Pending {
            session,
            blob,
            next: 0,
        };
        self.finish_blob(pending, &head, value.len() as u64).await
    }

    /// A streamed value: inline if it ends within one chunk, otherwise chunk by chunk
    /// as it arrives, holding at most one chunk (plus one item of the stream).
    pub(super) async fn put_stream(
        &self,
        head: PutHead<'_>,
        mut stream: ByteStream,
    ) -> Result<Version> {
        let mut buffer = BytesMut::with_capacity(CHUNK_BYTES);
        let mut pending: Option<Pending> = None;
        let mut len = 0u64;
        let read = async {
            while let Some(item) = stream.next().await {
                let mut item = item?;
                len += item.len() as u64;
                while !item.is_empty() {
                    if buffer.len() == CHUNK_BYTES {
                        let p = match &mut pending {
                            Some(p) => p,
                            None => pending.insert(self.begin_blob().await?),
                        };
                        self.insert_chunk(p.session.conn()?, p.blob, p.next, &buffer)
                            .await?;
                        p.next += 1;
                        buffer.clear();
                    }
                    let take = item.len().min(CHUNK_BYTES - buffer.len());
                    buffer.extend_from_slice(&item.split_to(take));
                }
            }
            Ok::<(), Error>(())
        };
        if let Err(error) = read.await {
            if let Some(p) = pending {
                p.session.rollback().await;
            }
            return Err(error);
        }
        let Some(p) = pending else {
            return self
                .put_inline(
                    head.key,
                    head.expiration,
                    head.metadata,
                    head.condition,
                    &buffer,
                    head.now,
                )
                .await;
        };
        if !buffer.is_empty()
            && let Err(error) = self
                .insert_chunk(p.session.conn()?, p.blob, p.next, &buffer)
                .await
        {
            p.session.rollback().await;
            return Err(error);
        }
        self.finish_blob(p, &head, len).await
    }

    /// Reads `key` inside a REPEATABLE READ transaction held until its chunks are all
    /// read (or the stream is dropped, which rolls it back).
    pub(super) async fn get_chunked(&self, key: &str) -> Result<Option<Record>> {
        let session = self.shared.session(BEGIN_READ).await?;
        let found = self.fetch(session.conn()?, key).await;
        let (head, blob, len) = match found {
            Err(error) => {
                session.rollback().await;
                return Err(error);
            }
            Ok(None) => {
                session.commit().await?;
                return Ok(None);
            }
            Ok(Some((head, Found::Inline(value)))) => {
                session.commit().await?;
                return Ok(Some(Record::new(head, StoredValue::Inline(value))));
            }
            Ok(Some((head, Found::Chunked { blob, len }))) => (head, blob, len),
        };
        let chunks = chunk_stream(
            ChunkRead {
                session: Some(session),
                sql: Arc::clone(&self.sql.blobs.read_chunk),
                blob,
                next: 0,
                read: 0,
                len,
            },
            Arc::clone(&self.shared),
        );
        Ok(Some(Record::new(
            head,
            StoredValue::Chunked { len, chunks },
        )))
    }
}

/// A chunked read in progress.
struct ChunkRead {
    session: Option<Session>,
    sql: Arc<str>,
    blob: i64,
    next: i32,
    read: u64,
    len: u64,
}

fn chunk_stream(state: ChunkRead, shared: Arc<super::pool::Shared>) -> ByteStream {
    futures_util::stream::try_unfold((state, shared), |(mut state, shared)| async move {
        if state.read >= state.len {
            if let Some(session) = state.session.take() {
                session.commit().await?;
            }
            return Ok(None);
        }
        let session = state
            .session
            .as_ref()
            .ok_or_else(|| shared.fail("the read of a chunked value already ended"))?;
        let row = session
            .conn()?
            .query_opt(&state.sql, &[&state.blob, &state.next])
            .await?
            .ok_or_else(|| shared.fail("a chunk of a stored value is missing"))?;
        let data: Vec<u8> = row.try_get(0).map_err(|e| shared.error(&e))?;
        if data.is_empty() || state.read + data.len() as u64 > state.len {
            return Err(shared.fail("a stored value's chunks do not match its length"));
        }
        state.read += data.len() as u64;
        state.next += 1;
        if state.read == state.len
            && let Some(session) = state.session.take()
        {
            session.commit().await?;
        }
        Ok(Some((Bytes::from(data), (state, shared))))
    })
    .boxed()
}
