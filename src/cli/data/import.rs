//! `kv import FILE [--into STORE]`: an export read back, in batches, idempotently.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use bytes::Bytes;
use clap::Args;
use futures_util::StreamExt as _;

use super::encoding;
use super::error::{DataError, Result};
use super::key::print_json;
use super::progress::{Interrupt, Progress};
use super::records::{End, FORMAT, Header, Record, VERSION};
use super::target::{Item, Target, Value};
use super::{Common, Prepared, Session, block_on};
use crate::cli::Failure;

/// Most keys per batch (the runtime's `put_many` limit).
const BATCH_KEYS: usize = kv_runtime::limits::MAX_BULK_ITEMS;

/// Most value bytes per batch: well under the server's 100 MB bulk body, even base64.
const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// `kv import`.
#[derive(Debug, Args)]
#[command(after_help = "Example: kv import dump.jsonl --config kv.redis.toml")]
pub(crate) struct ImportArgs {
    /// An export from `kv export` (`-` for standard input).
    file: PathBuf,
    /// Write every record into this store, whatever store it names.
    #[arg(long, value_name = "STORE")]
    into: Option<String>,
    /// Print a summary as JSON on standard output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    common: Common,
}

/// Runs `kv import`.
///
/// Keys are written with `put`, which replaces: running an interrupted import again
/// finishes it without duplicating anything. Expirations are written as exported
/// (locally the import lowers every store's expiration floor to 1 second for this
/// purpose); keys already expired are skipped and counted.
pub(crate) fn run(args: ImportArgs) -> std::result::Result<(), Failure> {
    let prepared = Prepared::load(&args.common)?;
    block_on(import(prepared, args))
}

/// The input, line by line, with the line number and position for messages and the
/// progress bar.
struct Lines {
    reader: BufReader<Box<dyn Read + Send>>,
    line: Vec<u8>,
    number: usize,
    position: u64,
    name: String,
}

impl Lines {
    fn open(path: &std::path::Path) -> Result<(Self, Option<u64>)> {
        let (reader, size, name): (Box<dyn Read + Send>, _, _) = if path
            == std::path::Path::new("-")
        {
            (
                Box::new(std::io::stdin()),
                None,
                "standard input".to_owned(),
            )
        } else {
            let file = std::fs::File::open(path)
                .map_err(|e| DataError::new(format!("cannot open `{}`: {e}", path.display())))?;
            let size = file.metadata().ok().map(|m| m.len());
            (Box::new(file), size, path.display().to_string())
        };
        let lines = Self {
            reader: BufReader::with_capacity(1024 * 1024, reader),
            line: Vec::new(),
            number: 0,
            position: 0,
            name,
        };
        Ok((lines, size))
    }

    /// The next line without its end, or `None` at the end of the input.
    fn next(&mut self) -> Result<Option<&[u8]>> {
        self.line.clear();
        let read = self
            .reader
            .read_until(b'\n', &mut self.line)
            .map_err(|e| DataError::new(format!("cannot read {}: {e}", self.name)))?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        self.position += read as u64;
        while matches!(self.line.last(), Some(b'\n' | b'\r')) {
            self.line.pop();
        }
        Ok(Some(&self.line))
    }

    /// `FILE:LINE` for messages.
    fn here(&self) -> String {
        format!("{}:{}", self.name, self.number)
    }
}

/// Counts, for the summary.
#[derive(Default)]
struct Counts {
    imported: u64,
    records: u64,
    expired: u64,
    too_soon: u64,
    per_store: BTreeMap<String, u64>,
}

/// Keys waiting to be written together, all of one store.
struct Batch {
    target: Option<Target>,
    items: Vec<Item<Bytes>>,
    lines: Vec<usize>,
    bytes: usize,
}

struct Importer<'a> {
    session: &'a Session,
    into: Option<String>,
    targets: HashMap<String, Target>,
    batch: Batch,
    counts: Counts,
    progress: Progress,
    file: String,
}

async fn import(prepared: Prepared, args: ImportArgs) -> Result<()> {
    let session = prepared.open(true).await?;
    let (mut lines, size) = Lines::open(&args.file)?;
    let interrupt = Interrupt::install();
    let progress = session.ui.progress(false, "importing", size);
    let mut importer = Importer {
        session: &session,
        into: args.into.clone(),
        targets: HashMap::new(),
        batch: Batch {
            target: None,
            items: Vec::new(),
            lines: Vec::new(),
            bytes: 0,
        },
        counts: Counts::default(),
        progress,
        file: lines.name.clone(),
    };
    let result = importer.run(&mut lines, &interrupt).await;
    importer.progress.finish();
    let counts = importer.counts;
    result.map_err(|e| {
        let so_far = format!(
            "{e}\n(imported {} keys before this; running the same import again rewrites them \
             and finishes the job)",
            counts.imported
        );
        DataError::new(so_far)
    })?;
    let stores: Vec<String> = counts
        .per_store
        .iter()
        .map(|(name, n)| format!("{name}: {n}"))
        .collect();
    if counts.expired > 0 && !args.json {
        session.ui.warn(format_args!(
            "skipped {} keys that had expired",
            counts.expired
        ));
    }
    if counts.too_soon > 0 && !args.json {
        session.ui.warn(format_args!(
            "skipped {} keys that expire sooner than the store's min_ttl allows to write",
            counts.too_soon
        ));
    }
    session.ui.status(format_args!(
        "imported {} keys from {} ({})",
        counts.imported,
        lines.name,
        stores.join(", ")
    ));
    if args.json {
        print_json(&serde_json::json!({
            "imported": counts.imported,
            "skipped_expired": counts.expired,
            "skipped_too_soon": counts.too_soon,
            "stores": counts.per_store,
        }))?;
    }
    session.close().await
}

impl Importer<'_> {
    async fn run(&mut self, lines: &mut Lines, interrupt: &Interrupt) -> Result<()> {
        self.header(lines)?;
        loop {
            if interrupt.requested() {
                self.flush().await?;
                return Err(DataError::new(format!("{}: interrupted", lines.here())));
            }
            let Some(line) = lines.next()? else {
                self.flush().await?;
                return Err(DataError::new(format!(
                    "{} ends at line {} without the export's closing line {{\"end\":true,...}}: \
                     the export was cut short",
                    lines.name, lines.number
                )));
            };
            if line.is_empty() {
                continue;
            }
            if line.starts_with(b"{\"end\"") {
                let end: End = serde_json::from_slice(line).map_err(|e| {
                    DataError::new(format!("{}: invalid closing line: {e}", lines.here()))
                })?;
                self.flush().await?;
                if end.keys != self.counts.records {
                    return Err(DataError::new(format!(
                        "{}: the export says it holds {} keys, but {} records came before it",
                        lines.here(),
                        end.keys,
                        self.counts.records
                    )));
                }
                return self.trailing(lines);
            }
            let record: Record = serde_json::from_slice(line).map_err(|e| {
                DataError::new(format!("{}: not a record of an export: {e}", lines.here()))
            })?;
            self.progress.set_position(lines.position);
            self.record(record, lines, interrupt).await?;
        }
    }

    fn header(&self, lines: &mut Lines) -> Result<()> {
        let expected = format!("{{\"format\":\"{FORMAT}\",\"version\":{VERSION}}}");
        let Some(line) = lines.next()? else {
            return Err(DataError::new(format!(
                "{} is empty: an export starts with {expected}",
                lines.name
            )));
        };
        match serde_json::from_slice::<Header>(line) {
            Ok(header) if header.format == FORMAT && header.version == VERSION => Ok(()),
            Ok(header) if header.format == FORMAT => Err(DataError::new(format!(
                "{}: an export of version {}; this kv reads version {VERSION}",
                lines.here(),
                header.version
            ))),
            _ => Err(DataError::new(format!(
                "{}: not a kv export: its first line must be {expected}",
                lines.here()
            ))),
        }
    }

    /// After the closing line only empty lines may follow.
    fn trailing(&self, lines: &mut Lines) -> Result<()> {
        while let Some(line) = lines.next()? {
            if !line.is_empty() {
                return Err(DataError::new(format!(
                    "{}: text after the export's closing line",
                    lines.here()
                )));
            }
        }
        Ok(())
    }

    fn target(&mut self, store: &str) -> Result<Target> {
        let name = self.into.as_deref().unwrap_or(store);
        if let Some(target) = self.targets.get(name) {
            return Ok(target.clone());
        }
        let target = self.session.target(name)?;
        self.targets.insert(name.to_owned(), target.clone());
        Ok(target)
    }

    async fn record(
        &mut self,
        record: Record,
        lines: &mut Lines,
        interrupt: &Interrupt,
    ) -> Result<()> {
        self.counts.records += 1;
        let target = self
            .target(&record.store)
            .map_err(|e| e.context(lines.here()))?;
        let skip = record.expiration.and_then(|at| {
            let now = target.now();
            if at <= now {
                Some(true)
            } else if at
                < now
                    .saturating_add(target.limits().min_ttl)
                    .saturating_add(1)
            {
                Some(false)
            } else {
                None
            }
        });
        let Record {
            store,
            key,
            value,
            base64,
            metadata,
            expiration,
            more,
        } = record;
        let first = encoding::decode(value, base64)
            .map_err(|e| DataError::new(format!("{}: key {key:?}: {e}", lines.here())))?;
        if let Some(expired) = skip {
            if expired {
                self.counts.expired += 1;
            } else {
                self.counts.too_soon += 1;
            }
            if more {
                self.skip_rest(&store, &key, lines)?;
            }
            return Ok(());
        }
        let item = Item {
            key,
            value: first,
            ttl: None,
            expiration,
            metadata,
        };
        if more {
            self.flush().await?;
            self.streamed(target, &store, item, lines, interrupt)
                .await?;
        } else {
            if self
                .batch
                .target
                .as_ref()
                .is_some_and(|t| t.name() != target.name())
            {
                self.flush().await?;
            }
            self.batch.bytes += item.value.len();
            self.batch.items.push(item);
            self.batch.lines.push(lines.number);
            self.batch.target = Some(target);
            if self.batch.items.len() >= BATCH_KEYS || self.batch.bytes >= BATCH_BYTES {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Writes the pending batch, all or none.
    async fn flush(&mut self) -> Result<()> {
        let Some(target) = self.batch.target.take() else {
            return Ok(());
        };
        let items = std::mem::take(&mut self.batch.items);
        let lines = std::mem::take(&mut self.batch.lines);
        self.batch.bytes = 0;
        let count = items.len() as u64;
        let bytes: u64 = items.iter().map(|i| i.value.len() as u64).sum();
        if let Err(error) = target.put_many(items).await {
            let at = match error.runtime_error() {
                Some(kv_runtime::Error::BulkItem { index, .. }) => lines
                    .get(*index)
                    .map_or_else(|| self.file.clone(), |line| format!("{}:{line}", self.file)),
                _ => match (lines.first(), lines.last()) {
                    (Some(a), Some(b)) => format!("{}:{a}-{b}", self.file),
                    _ => self.file.clone(),
                },
            };
            return Err(error.context(format_args!("{at}: store {:?}", target.name())));
        }
        self.counted(target.name(), count, bytes);
        Ok(())
    }

    fn counted(&mut self, store: &str, keys: u64, bytes: u64) {
        self.counts.imported += keys;
        *self.counts.per_store.entry(store.to_owned()).or_default() += keys;
        self.progress.add(keys, bytes);
    }

    /// A value split across lines, streamed into one put: nothing is written unless
    /// every piece arrives.
    async fn streamed(
        &mut self,
        target: Target,
        store: &str,
        first: Item<Bytes>,
        lines: &mut Lines,
        interrupt: &Interrupt,
    ) -> Result<()> {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes>>(2);
        let chunks =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|c| (c, rx)) },
            )
            .boxed();
        let key = first.key.clone();
        let start = lines.number;
        let mut size = first.value.len() as u64;
        let item = Item {
            key: first.key,
            value: Value::Stream(chunks),
            ttl: None,
            expiration: first.expiration,
            metadata: first.metadata,
        };
        let writer = target.clone();
        let put = tokio::spawn(async move { writer.put(item).await });
        let mut failure = None;
        if tx.send(Ok(first.value)).await.is_ok() {
            loop {
                match self.piece(store, &key, lines, interrupt) {
                    Ok((piece, more)) => {
                        size += piece.len() as u64;
                        if tx.send(Ok(piece)).await.is_err() || !more {
                            break;
                        }
                    }
                    Err(error) => {
                        // The put fails with the stream: nothing is written.
                        let _ = tx.send(Err(DataError::new("the import stopped"))).await;
                        failure = Some(error);
                        break;
                    }
                }
            }
        }
        drop(tx);
        let written = put
            .await
            .map_err(|e| DataError::new(format!("the write of key {key:?} failed: {e}")))?;
        if let Some(error) = failure {
            return Err(error);
        }
        written.map_err(|e| {
            e.context(format_args!(
                "{}:{start}: store {:?}",
                self.file,
                target.name()
            ))
        })?;
        self.counted(target.name(), 1, size);
        Ok(())
    }

    /// The next piece of the value of `key`, and whether more follow.
    fn piece(
        &mut self,
        store: &str,
        key: &str,
        lines: &mut Lines,
        interrupt: &Interrupt,
    ) -> Result<(Bytes, bool)> {
        if interrupt.requested() {
            return Err(DataError::new(format!("{}: interrupted", lines.here())));
        }
        let Some(line) = lines.next()? else {
            return Err(DataError::new(format!(
                "{}: the value of key {key:?} continues past the end of the file",
                lines.here()
            )));
        };
        let record: Record = serde_json::from_slice(line).map_err(|e| {
            DataError::new(format!(
                "{}: expected the next piece of key {key:?}: {e}",
                lines.here()
            ))
        })?;
        if record.store != store || record.key != key {
            return Err(DataError::new(format!(
                "{}: expected the next piece of key {key:?} of store {store:?} (the line before has \"more\": true), found key {:?} of store {:?}",
                lines.here(),
                record.key,
                record.store
            )));
        }
        self.progress.set_position(lines.position);
        let bytes = encoding::decode(record.value, record.base64)
            .map_err(|e| DataError::new(format!("{}: key {key:?}: {e}", lines.here())))?;
        Ok((bytes, record.more))
    }

    /// Reads past the remaining pieces of a skipped value.
    fn skip_rest(&mut self, store: &str, key: &str, lines: &mut Lines) -> Result<()> {
        let never = Interrupt::never();
        while self.piece(store, key, lines, &never)?.1 {}
        Ok(())
    }
}
