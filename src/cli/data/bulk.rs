//! `kv bulk put|get|delete <STORE> FILE.json`, in wrangler's file formats: every item
//! is validated before anything is written, then written in batches within the limits.

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use clap::{Args, Subcommand};
use futures_util::StreamExt as _;
use kv_runtime::Error as RuntimeError;
use kv_runtime::limits::{MAX_BULK_ITEMS, MAX_KEY_BYTES, MAX_METADATA_BYTES};
use serde::{Deserialize, Serialize};

use super::encoding;
use super::error::{DataError, Result};
use super::key::print_json;
use super::output::Output;
use super::progress::Interrupt;
use super::target::{Item, Limits};
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

/// One item of a bulk put file.
#[derive(Debug, Deserialize)]
struct FileItem {
    key: String,
    value: String,
    #[serde(default)]
    base64: bool,
    #[serde(default)]
    expiration: Option<serde_json::Value>,
    #[serde(default)]
    expiration_ttl: Option<serde_json::Value>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

/// A key in a bulk get or delete file: a string, or an object with `key` (or `name`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileKey {
    Name(String),
    Object {
        #[serde(alias = "name")]
        key: String,
    },
}

impl FileKey {
    fn into_key(self) -> String {
        match self {
            FileKey::Name(key) | FileKey::Object { key } => key,
        }
    }
}

/// The file, parsed; a syntax error names its line and column.
fn read_file<T: serde::de::DeserializeOwned>(path: &Path, shape: &str) -> Result<(T, String)> {
    let (bytes, name) = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|e| DataError::new(format!("cannot read standard input: {e}")))?;
        (bytes, "standard input".to_owned())
    } else {
        let bytes = std::fs::read(path)
            .map_err(|e| DataError::new(format!("cannot read `{}`: {e}", path.display())))?;
        (bytes, format!("`{}`", path.display()))
    };
    let parsed = serde_json::from_slice(&bytes)
        .map_err(|e| DataError::new(format!("{name} is not {shape}: {e}; nothing was written")))?;
    Ok((parsed, name))
}

/// A key, shortened for a message.
fn shown(key: &str) -> String {
    if key.len() <= 40 {
        return format!("{key:?}");
    }
    let mut end = 40;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}… ({} bytes)", &key[..end], key.len())
}

/// What is wrong with `key`, in the runtime's words.
fn check_key(key: &str) -> std::result::Result<(), RuntimeError> {
    if key.is_empty() {
        return Err(RuntimeError::EmptyKey);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(RuntimeError::KeyTooLong {
            len: key.len(),
            max: MAX_KEY_BYTES,
        });
    }
    if key == "." || key == ".." {
        return Err(RuntimeError::ReservedKey {
            key: key.to_owned(),
        });
    }
    Ok(())
}

/// A whole number of seconds, as Cloudflare's clients send them (`120` or `120.0`).
fn seconds(
    name: &str,
    value: Option<&serde_json::Value>,
) -> std::result::Result<Option<u64>, String> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => {
            if let Some(n) = n.as_u64() {
                return Ok(Some(n));
            }
            match n.as_f64() {
                Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 =>
                {
                    #[allow(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "checked: whole, non-negative, below u64::MAX"
                    )]
                    Ok(Some(f as u64))
                }
                _ => Err(format!(
                    "Invalid {name} of {n}. Please specify a non-negative integer."
                )),
            }
        }
        Some(other) => Err(format!(
            "Invalid {name} of {other}. Please specify a non-negative integer."
        )),
    }
}

/// Checks one item against the store's limits, as a put would.
fn validate(item: FileItem, limits: Limits, now: u64) -> std::result::Result<Item<Bytes>, String> {
    check_key(&item.key).map_err(|e| e.to_string())?;
    let value = encoding::decode(item.value, item.base64)?;
    if value.len() as u64 > limits.max_value_size {
        return Err(RuntimeError::ValueTooLarge {
            size: value.len() as u64,
            max: limits.max_value_size,
        }
        .to_string());
    }
    let metadata = item.metadata.filter(|m| !m.is_null());
    if let Some(metadata) = &metadata {
        let size = metadata.to_string().len();
        if size > MAX_METADATA_BYTES {
            return Err(RuntimeError::MetadataTooLarge {
                size,
                max: MAX_METADATA_BYTES,
            }
            .to_string());
        }
    }
    let ttl = seconds("expiration_ttl", item.expiration_ttl.as_ref())?;
    let expiration = seconds("expiration", item.expiration.as_ref())?;
    match (ttl, expiration) {
        (Some(ttl), _) if ttl < limits.min_ttl => {
            return Err(RuntimeError::ExpirationTtlTooShort {
                ttl,
                min: limits.min_ttl,
            }
            .to_string());
        }
        (None, Some(at)) if at < now.saturating_add(limits.min_ttl) => {
            return Err(RuntimeError::ExpirationTooSoon {
                at,
                min: limits.min_ttl,
            }
            .to_string());
        }
        _ => {}
    }
    Ok(Item {
        key: item.key,
        value,
        ttl,
        expiration,
        metadata,
    })
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
