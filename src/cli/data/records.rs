//! The export format, JSON Lines (written by `kv export`, read by `kv import`):
//!
//! ```text
//! {"format":"kv-export","version":1}
//! {"store":"demo-cache","key":"user:1","value":"John Doe","metadata":{"a":1},"expiration":1767225600}
//! {"store":"demo-cache","key":"logo.png","value":"iVBORw0KGgo=","base64":true}
//! {"store":"files","key":"big","value":"<first MiB>","more":true}
//! {"store":"files","key":"big","value":"<the rest>"}
//! {"end":true,"keys":3}
//! ```
//!
//! - The first line names the format and its version.
//! - One record per key: `store`, `key`, `value` (the bytes as UTF-8 text, or base64
//!   with `"base64": true` when they are not text), and `metadata` and `expiration`
//!   (absolute Unix seconds) when the key has them.
//! - A value over [`PIECE_BYTES`] (1 MiB) is split across consecutive lines of the same
//!   store and key: every line but the last has `"more": true`, only the first carries
//!   `metadata` and `expiration`, and each piece says for itself whether it is text or
//!   base64 (text pieces end on a character boundary). So a 1 GiB value is written and
//!   read back one MiB at a time.
//! - The last line is `{"end":true,"keys":N}`: a file without it was cut short.
//! - Stores come in the order asked for (else the manifest's), keys in byte order,
//!   fields in this order: the same data always gives the same bytes.

use bytes::{Buf as _, BytesMut};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::encoding;
use super::error::Result;
use super::output::Output;
use super::target::Found;

/// `format` of the first line.
pub(crate) const FORMAT: &str = "kv-export";

/// `version` of the first line.
pub(crate) const VERSION: u64 = 1;

/// The largest piece of a value on one line, in bytes (before base64 or escaping).
pub(crate) const PIECE_BYTES: usize = 1024 * 1024;

/// The first line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Header {
    pub(crate) format: String,
    pub(crate) version: u64,
}

/// The last line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct End {
    pub(crate) end: bool,
    pub(crate) keys: u64,
}

/// A record (or a piece of one), as read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Record {
    pub(crate) store: String,
    pub(crate) key: String,
    pub(crate) value: String,
    #[serde(default)]
    pub(crate) base64: bool,
    #[serde(default)]
    pub(crate) metadata: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) expiration: Option<u64>,
    #[serde(default)]
    pub(crate) more: bool,
}

/// A record (or a piece of one), as written.
#[derive(Serialize)]
struct RecordOut<'a> {
    store: &'a str,
    key: &'a str,
    value: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    base64: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    more: bool,
}

/// Writes an export: header, records, end.
pub(crate) struct RecordWriter {
    out: Output,
    /// Keys written.
    pub(crate) keys: u64,
    /// Value bytes written (before encoding).
    pub(crate) bytes: u64,
    /// Reused between values.
    buf: BytesMut,
}

impl RecordWriter {
    /// Starts an export on `out` with its first line.
    pub(crate) fn start(mut out: Output) -> Result<Self> {
        let header = Header {
            format: FORMAT.to_owned(),
            version: VERSION,
        };
        serde_json::to_writer(out.writer(), &header).map_err(|e| out.error(&e))?;
        out.write(b"\n")?;
        Ok(Self {
            out,
            keys: 0,
            bytes: 0,
            buf: BytesMut::new(),
        })
    }

    pub(crate) fn output(&self) -> &Output {
        &self.out
    }

    /// Writes one key, reading its value piece by piece; returns the value's size.
    pub(crate) async fn write(&mut self, store: &str, key: &str, found: Found) -> Result<u64> {
        let Found {
            mut chunks,
            metadata,
            expiration,
        } = found;
        let mut head = Some((metadata, expiration));
        let mut size = 0u64;
        self.buf.clear();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            self.buf.extend_from_slice(&chunk);
            // A piece is written only once more bytes follow it, so that where the
            // value is cut depends on its bytes alone.
            while self.buf.len() > PIECE_BYTES {
                let piece = &self.buf[..PIECE_BYTES];
                let used = match encoding::text_prefix(piece) {
                    Some(n) => n,
                    None => PIECE_BYTES,
                };
                let meta = head.take();
                write_line(&mut self.out, store, key, &self.buf[..used], meta, true)?;
                self.buf.advance(used);
            }
        }
        let meta = head.take();
        let rest = std::mem::take(&mut self.buf);
        write_line(&mut self.out, store, key, &rest, meta, false)?;
        self.buf = rest;
        self.keys += 1;
        self.bytes += size;
        Ok(size)
    }

    /// Writes the last line and flushes.
    pub(crate) fn finish(mut self) -> Result<(u64, u64)> {
        let end = End {
            end: true,
            keys: self.keys,
        };
        serde_json::to_writer(self.out.writer(), &end).map_err(|e| self.out.error(&e))?;
        self.out.write(b"\n")?;
        self.out.finish()?;
        Ok((self.keys, self.bytes))
    }

    /// Flushes what was written, without the last line (an interrupted export).
    pub(crate) fn abandon(self) -> Result<()> {
        self.out.finish()
    }
}

type Head = Option<(Option<serde_json::Value>, Option<u64>)>;

fn write_line(
    out: &mut Output,
    store: &str,
    key: &str,
    piece: &[u8],
    head: Head,
    more: bool,
) -> Result<()> {
    let (value, base64) = encoding::encode(piece);
    let (metadata, expiration) = match &head {
        Some((metadata, expiration)) => (metadata.as_ref(), *expiration),
        None => (None, None),
    };
    let record = RecordOut {
        store,
        key,
        value: &value,
        base64,
        metadata,
        expiration,
        more,
    };
    serde_json::to_writer(out.writer(), &record).map_err(|e| out.error(&e))?;
    out.write(b"\n")
}
