//! `kv key put|get|list|delete`: one key at a time, in wrangler's spelling.

use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use clap::{Args, Subcommand};
use futures_util::StreamExt as _;
use serde::Serialize;

use super::encoding;
use super::error::{DataError, Result};
use super::output::Output;
use super::target::{Chunks, Item, Value};
use super::{Common, Prepared, block_on};
use crate::cli::Failure;

/// Values read from a file up to this size are read whole; larger ones are streamed.
const WHOLE_FILE_BYTES: u64 = 1024 * 1024;

/// Piece size for values streamed from a file or standard input.
const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Keys asked for per listing page.
const PAGE: usize = 1000;

/// `kv key ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Write a value: from the argument, from a file (--path FILE), or from standard
    /// input (--path -).
    #[command(after_help = "Example: kv key put demo-cache user:1 \"John Doe\" --ttl 3600")]
    Put(PutArgs),
    /// Read a value: its raw bytes on standard output (exit 1 if the key is missing).
    #[command(after_help = "Example: kv key get demo-cache user:1 --text")]
    Get(GetArgs),
    /// List keys as a JSON array of {name, expiration?, metadata?}: every page, unless
    /// --limit stops early.
    #[command(after_help = "Example: kv key list demo-cache --prefix user: --limit 10")]
    List(ListArgs),
    /// Delete a key (deleting a missing key succeeds).
    #[command(after_help = "Example: kv key delete demo-cache user:1")]
    Delete(DeleteArgs),
}

/// `kv key put`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["value", "path"]))]
pub(crate) struct PutArgs {
    /// The store.
    store: String,
    /// The key.
    key: String,
    /// The value, as text.
    value: Option<String>,
    /// Read the value from this file (`-` for standard input), byte for byte.
    #[arg(long, value_name = "FILE")]
    path: Option<PathBuf>,
    /// Expire the key this many seconds from now (at least the store's min_ttl, 60 by
    /// default).
    #[arg(long, value_name = "SECS")]
    ttl: Option<u64>,
    /// Expire the key at this Unix time, in seconds (--ttl wins when both are given).
    #[arg(long, value_name = "UNIX")]
    expiration: Option<u64>,
    /// JSON metadata to store with the value (at most 1024 bytes), e.g. '{"type":"png"}'.
    #[arg(long, value_name = "JSON")]
    metadata: Option<String>,
    /// Print the result as JSON on standard output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    common: Common,
}

/// `kv key get`.
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The store.
    store: String,
    /// The key.
    key: String,
    /// Print the value as UTF-8 text with a newline (an error if it is not text).
    #[arg(long, conflicts_with_all = ["with_metadata", "json"])]
    text: bool,
    /// Print {key, value, base64?, metadata?, expiration?} as JSON (a value that is not
    /// UTF-8 is base64, with "base64": true).
    #[arg(long)]
    with_metadata: bool,
    /// The same as --with-metadata.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    common: Common,
}

/// `kv key list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// The store.
    store: String,
    /// Only keys that start with this.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    prefix: String,
    /// Stop after this many keys.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,
    #[command(flatten)]
    common: Common,
}

/// `kv key delete`.
#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// The store.
    store: String,
    /// The key.
    key: String,
    /// Print the result as JSON on standard output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    common: Common,
}

/// Runs a `kv key` command.
pub(crate) fn run(command: KeyCommand) -> std::result::Result<(), Failure> {
    match command {
        KeyCommand::Put(args) => {
            let prepared = Prepared::load(&args.common)?;
            block_on(put(prepared, args))
        }
        KeyCommand::Get(args) => {
            let prepared = Prepared::load(&args.common)?;
            block_on(get(prepared, args))
        }
        KeyCommand::List(args) => {
            let prepared = Prepared::load(&args.common)?;
            block_on(list(prepared, args))
        }
        KeyCommand::Delete(args) => {
            let prepared = Prepared::load(&args.common)?;
            block_on(delete(prepared, args))
        }
    }
}

/// `--metadata`, parsed, with wrangler's hint for a forgotten pair of quotes.
pub(crate) fn parse_metadata(raw: Option<&str>) -> Result<Option<serde_json::Value>> {
    let Some(raw) = raw else { return Ok(None) };
    serde_json::from_str(raw).map(Some).map_err(|e| {
        DataError::usage(format!(
            "--metadata is not valid JSON ({e}); a string needs its double quotes, \
             as in --metadata '\"text\"'"
        ))
    })
}

async fn put(prepared: Prepared, args: PutArgs) -> Result<()> {
    let metadata = parse_metadata(args.metadata.as_deref())?;
    let session = prepared.open(false).await?;
    let target = session.target(&args.store)?;
    let value = match (&args.value, &args.path) {
        (Some(text), _) => Value::Bytes(Bytes::from(text.clone())),
        (None, Some(path)) => read_value(path)?,
        (None, None) => return Err(DataError::usage("give a VALUE or --path FILE")),
    };
    target
        .put(Item {
            key: args.key.clone(),
            value,
            ttl: args.ttl,
            expiration: args.expiration,
            metadata,
        })
        .await?;
    session.close().await?;
    if args.json {
        print_json(&serde_json::json!({"store": args.store, "key": args.key, "written": true}))?;
    }
    Ok(())
}

/// The value `--path` names: read whole when small, else streamed.
fn read_value(path: &Path) -> Result<Value> {
    if path == Path::new("-") {
        return Ok(Value::Stream(read_stream(
            std::io::stdin(),
            "standard input".to_owned(),
        )));
    }
    let what = format!("`{}`", path.display());
    let file = std::fs::File::open(path)
        .map_err(|e| DataError::new(format!("cannot open {what}: {e}")))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if size <= WHOLE_FILE_BYTES {
        let bytes =
            std::fs::read(path).map_err(|e| DataError::new(format!("cannot read {what}: {e}")))?;
        return Ok(Value::Bytes(Bytes::from(bytes)));
    }
    Ok(Value::Stream(read_stream(file, what)))
}

/// `reader` as a stream of chunks, read on a thread of its own.
pub(crate) fn read_stream(mut reader: impl Read + Send + 'static, what: String) -> Chunks {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes>>(4);
    std::thread::spawn(move || {
        loop {
            let mut buf = BytesMut::zeroed(READ_CHUNK_BYTES);
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(buf.freeze())).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let error = DataError::new(format!("cannot read {what}: {e}"));
                    let _ = tx.blocking_send(Err(error));
                    break;
                }
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) })
        .boxed()
}

/// What `kv key get --with-metadata` prints.
#[derive(Serialize)]
struct Shown<'a> {
    key: &'a str,
    value: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    base64: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<u64>,
}

async fn get(prepared: Prepared, args: GetArgs) -> Result<()> {
    let session = prepared.open(false).await?;
    let target = session.target(&args.store)?;
    let Some(found) = target.get(&args.key).await? else {
        return Err(DataError::new(format!(
            "key {:?} not found in store {:?}",
            args.key, args.store
        )));
    };
    let mut out = Output::open(None)?;
    let mut chunks = found.chunks;
    if !(args.text || args.with_metadata || args.json) {
        while let Some(chunk) = chunks.next().await {
            out.write(&chunk?)?;
        }
        return out.finish();
    }
    let mut value = BytesMut::new();
    while let Some(chunk) = chunks.next().await {
        value.extend_from_slice(&chunk?);
    }
    if args.text {
        let text = std::str::from_utf8(&value).map_err(|_| {
            DataError::new(format!(
                "the value of key {:?} is not UTF-8 text; without --text its raw bytes are written",
                args.key
            ))
        })?;
        out.write(text.as_bytes())?;
        out.write(b"\n")?;
        return out.finish();
    }
    let (text, base64) = encoding::encode(&value);
    let shown = Shown {
        key: &args.key,
        value: &text,
        base64,
        metadata: found.metadata.as_ref(),
        expiration: found.expiration,
    };
    serde_json::to_writer(out.writer(), &shown).map_err(|e| out.error(&e))?;
    out.write(b"\n")?;
    out.finish()
}

async fn list(prepared: Prepared, args: ListArgs) -> Result<()> {
    let session = prepared.open(false).await?;
    let target = session.target(&args.store)?;
    let interrupt = super::progress::Interrupt::install();
    let mut progress = session
        .ui
        .progress(true, &format!("listing {}", args.store), None);
    let mut out = Output::open(None)?;
    let mut remaining = args.limit.unwrap_or(u64::MAX);
    let mut cursor: Option<String> = None;
    let mut listed = 0u64;
    out.write(b"[")?;
    while remaining > 0 {
        let limit = usize::try_from(remaining.min(PAGE as u64)).unwrap_or(PAGE);
        let page = target
            .list_page(&args.prefix, cursor.as_deref(), limit)
            .await?;
        for info in &page.keys {
            out.write(if listed == 0 { b"\n  " } else { b",\n  " })?;
            serde_json::to_writer(out.writer(), info).map_err(|e| out.error(&e))?;
            listed += 1;
        }
        progress.add(page.keys.len() as u64, 0);
        remaining = remaining.saturating_sub(page.keys.len() as u64);
        match page.cursor {
            Some(next) if !page.keys.is_empty() => cursor = Some(next),
            _ => break,
        }
        if interrupt.requested() {
            progress.finish();
            out.write(b"\n]\n")?;
            out.finish()?;
            return Err(DataError::new(format!(
                "interrupted after listing {listed} keys; the list is incomplete"
            )));
        }
    }
    progress.finish();
    out.write(if listed == 0 { b"]\n" } else { b"\n]\n" })?;
    out.finish()
}

async fn delete(prepared: Prepared, args: DeleteArgs) -> Result<()> {
    let session = prepared.open(false).await?;
    let target = session.target(&args.store)?;
    target.delete(&args.key).await?;
    session.close().await?;
    if args.json {
        print_json(&serde_json::json!({"store": args.store, "key": args.key, "deleted": true}))?;
    }
    Ok(())
}

/// One JSON line on standard output.
pub(crate) fn print_json(value: &impl Serialize) -> Result<()> {
    let mut out = Output::open(None)?;
    serde_json::to_writer(out.writer(), value).map_err(|e| out.error(&e))?;
    out.write(b"\n")?;
    out.finish()
}
