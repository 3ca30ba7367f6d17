//! `kv bulk put|get|delete <STORE> FILE.json`, in wrangler's file formats: every item
//! is validated before anything is written, then written in batches within the limits.

use std::path::PathBuf;

use bytes::BytesMut;
use clap::{Args, Subcommand};
use futures_util::StreamExt as _;
use kv_runtime::limits::MAX_BULK_ITEMS;
use serde::Serialize;

use super::bulk_file::{FileItem, FileKey, check_key, read_file, shown, validate};
use super::encoding;
use super::error::{DataError, Result};
use super::key::print_json;
use super::output::Output;
use super::progress::Interrupt;
use super::{Common, Prepared, block_on};
use crate::cli::Failure;

/// Most value bytes per batch: well under the server's 100 MB bulk body, even base64.
const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// `kv bulk ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum BulkCommand {
    /// Write the items of a JSON file: [{"key", "value", "base64"?, "expiration"?,
    /// "expiration_ttl"?, "metadata"?}]. Every item is checked before any is written.
    #[command(after_help = "Example: kv bulk put demo-cache items.json")]
    Put(FileArgs),
    /// Read the keys of a JSON file (["a", "b"], or objects with "key"): prints the
    /// found ones as a JSON array in the bulk put format (text, or base64 with
    /// "base64": true), which `kv bulk put` reads back.
    #[command(after_help = "Example: kv bulk get demo-cache keys.json > items.json")]
    Get(FileArgs),
    /// Delete the keys of a JSON file (["a", "b"], or objects with "key").
    #[command(after_help = "Example: kv bulk delete demo-cache keys.json")]
    Delete(FileArgs),
}

/// `<STORE> FILE.json`.
#[derive(Debug, Args)]
pub(crate) struct FileArgs {
    /// The store.
    store: String,
    /// The JSON file (`-` for standard input).
    file: PathBuf,
    /// Print the result as JSON on standard output (put and delete).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    common: Common,
}

/// Runs a `kv bulk` command.
pub(crate) fn run(command: BulkCommand) -> std::result::Result<(), Failure> {
    match command {
        BulkCommand::Put(args) => {
            let prepared = Prepared::load(&args.common)?;
            block_on(put(prepared, args))
        }
        BulkCommand::Get(args) => {
            let prepared = Prepared::load(&args.common)?;
            block_on(get(prepared, args))
        }
        BulkCommand::Delete(args) => {
            let prepared = Prepared::load(&args.common)?;
            block_on(delete(prepared, args))
        }
    }
}

async fn put(prepared: Prepared, args: FileArgs) -> Result<()> {
    let (items, name): (Vec<FileItem>, _) = read_file(
        &args.file,
        "a JSON array of {\"key\", \"value\", ...} items",
    )?;
    let session = prepared.open(false).await?;
    let target = session.target(&args.store)?;
    let (limits, now) = (target.limits(), target.now());
    let mut checked = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let key = shown(&item.key);
        let item = validate(item, limits, now).map_err(|message| {
            DataError::new(format!(
                "{name}: item {index} (key {key}): {message}; nothing was written"
            ))
        })?;
        checked.push(item);
    }
    let total = checked.len();
    let interrupt = Interrupt::install();
    let mut progress = session
        .ui
        .progress(false, &format!("writing {}", args.store), None);
    let mut written = 0usize;
    let mut batch = Vec::new();
    let mut bytes = 0usize;
    let mut items = checked.into_iter().peekable();
    while let Some(item) = items.next() {
        bytes += item.value.len();
        batch.push(item);
        let full = batch.len() >= MAX_BULK_ITEMS
            || items
                .peek()
                .is_none_or(|next| bytes + next.value.len() > BATCH_BYTES);
        if full {
            if interrupt.requested() {
                return Err(DataError::new(format!(
                    "{name}: interrupted: wrote {written} of {total} keys, in whole batches; \
                     running the same command again writes them all"
                )));
            }
            let count = batch.len();
            let size = bytes as u64;
            target
                .put_many(std::mem::take(&mut batch))
                .await
                .map_err(|e| {
                    e.context(format_args!(
                        "{name}: items {written}..{} ({written} of {total} written before)",
                        written + count
                    ))
                })?;
            written += count;
            bytes = 0;
            progress.add(count as u64, size);
        }
    }
    progress.finish();
    session
        .ui
        .status(format_args!("wrote {written} keys to store {}", args.store));
    session.close().await?;
    session_summary(args.json, &args.store, "written", written)
}

fn session_summary(json: bool, store: &str, what: &str, count: usize) -> Result<()> {
    if json {
        return print_json(&serde_json::json!({"store": store, what: count}));
    }
    Ok(())
}

async fn delete(prepared: Prepared, args: FileArgs) -> Result<()> {
    let (keys, name): (Vec<FileKey>, _) = read_file(
        &args.file,
        "a JSON array of keys (strings, or objects with \"key\")",
    )?;
    let keys: Vec<String> = keys.into_iter().map(FileKey::into_key).collect();
    for (index, key) in keys.iter().enumerate() {
        check_key(key).map_err(|e| {
            DataError::new(format!(
                "{name}: item {index} (key {}): {e}; nothing was deleted",
                shown(key)
            ))
        })?;
    }
    let session = prepared.open(false).await?;
    let target = session.target(&args.store)?;
    let mut progress = session
        .ui
        .progress(false, &format!("deleting from {}", args.store), None);
    let interrupt = Interrupt::install();
    let mut deleted = 0usize;
    for batch in keys.chunks(MAX_BULK_ITEMS) {
        if interrupt.requested() {
            return Err(DataError::new(format!(
                "{name}: interrupted: deleted {deleted} of {} keys, in whole batches",
                keys.len()
            )));
        }
        target.delete_many(batch.to_vec()).await.map_err(|e| {
            e.context(format_args!(
                "{name}: {deleted} of {} deleted before",
                keys.len()
            ))
        })?;
        deleted += batch.len();
        progress.add(batch.len() as u64, 0);
    }
    progress.finish();
    session.ui.status(format_args!(
        "deleted {deleted} keys from store {}",
        args.store
    ));
    session.close().await?;
    session_summary(args.json, &args.store, "deleted", deleted)
}

/// One found key, in the bulk put format.
#[derive(Serialize)]
struct Shown<'a> {
    key: &'a str,
    value: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    base64: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a serde_json::Value>,
}

async fn get(prepared: Prepared, args: FileArgs) -> Result<()> {
    let (keys, name): (Vec<FileKey>, _) = read_file(
        &args.file,
        "a JSON array of keys (strings, or objects with \"key\")",
    )?;
    let keys: Vec<String> = keys.into_iter().map(FileKey::into_key).collect();
    for (index, key) in keys.iter().enumerate() {
        check_key(key).map_err(|e| {
            DataError::new(format!("{name}: item {index} (key {}): {e}", shown(key)))
        })?;
    }
    let session = prepared.open(false).await?;
    let target = session.target(&args.store)?;
    let mut out = Output::open(None)?;
    let mut progress = session
        .ui
        .progress(true, &format!("reading {}", args.store), None);
    let interrupt = Interrupt::install();
    let mut missing = Vec::new();
    let mut found_any = false;
    out.write(b"[")?;
    for (read, key) in keys.iter().enumerate() {
        if interrupt.requested() {
            progress.finish();
            out.write(b"\n]\n")?;
            out.finish()?;
            return Err(DataError::new(format!(
                "{name}: interrupted after reading {read} of {} keys; the output is incomplete",
                keys.len()
            )));
        }
        let Some(found) = target.get(key).await? else {
            missing.push(shown(key));
            continue;
        };
        let mut value = BytesMut::new();
        let mut chunks = found.chunks;
        while let Some(chunk) = chunks.next().await {
            value.extend_from_slice(&chunk?);
        }
        let (text, base64) = encoding::encode(&value);
        let item = Shown {
            key,
            value: &text,
            base64,
            expiration: found.expiration,
            metadata: found.metadata.as_ref(),
        };
        out.write(if found_any { b",\n  " } else { b"\n  " })?;
        serde_json::to_writer(out.writer(), &item).map_err(|e| out.error(&e))?;
        found_any = true;
        progress.add(1, value.len() as u64);
    }
    progress.finish();
    out.write(if found_any { b"\n]\n" } else { b"]\n" })?;
    out.finish()?;
    if !missing.is_empty() {
        session.ui.warn(format_args!(
            "{} of {} keys not found: {}",
            missing.len(),
            keys.len(),
            missing.join(", ")
        ));
    }
    Ok(())
}
