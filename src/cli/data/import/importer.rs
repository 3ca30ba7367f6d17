//! The reading loop of `kv import`: records into batches, split values into streamed
//! puts, every error with its line.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use futures_util::StreamExt as _;

use crate::cli::data::Session;
use crate::cli::data::encoding;
use crate::cli::data::error::{DataError, Result};
use crate::cli::data::lines::Lines;
use crate::cli::data::progress::{Interrupt, Progress};
use crate::cli::data::records::{End, FORMAT, Header, Record, VERSION};
use crate::cli::data::target::{Item, Target, Value};

/// Most keys per batch (the runtime's `put_many` limit).
const BATCH_KEYS: usize = kv_runtime::limits::MAX_BULK_ITEMS;

/// Most value bytes per batch: well under the server's 100 MB bulk body, even base64.
const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Counts, for the summary.
#[derive(Debug, Default)]
pub(super) struct Counts {
    /// Keys written.
    pub(super) imported: u64,
    /// Records read (a split value counts once).
    pub(super) records: u64,
    /// Records skipped because they had expired.
    pub(super) expired: u64,
    /// Records skipped because they expire sooner than the store's `min_ttl` allows.
    pub(super) too_soon: u64,
    /// Keys written, by store.
    pub(super) per_store: BTreeMap<String, u64>,
}

/// Keys waiting to be written together, all of one store.
struct Batch {
    target: Option<Target>,
    items: Vec<Item<Bytes>>,
    lines: Vec<usize>,
    bytes: usize,
}

/// Reads an export and writes it, keeping count.
pub(super) struct Importer<'a> {
    session: &'a Session,
    into: Option<String>,
    targets: HashMap<String, Target>,
    batch: Batch,
    counts: Counts,
    progress: Progress,
    file: String,
}

impl<'a> Importer<'a> {
    pub(super) fn new(
        session: &'a Session,
        into: Option<String>,
        progress: Progress,
        file: String,
    ) -> Self {
        Self {
            session,
            into,
            targets: HashMap::new(),
            batch: Batch {
                target: None,
                items: Vec::new(),
                lines: Vec::new(),
                bytes: 0,
            },
            counts: Counts::default(),
            progress,
            file,
        }
    }

    /// Clears the progress bar and returns the counts.
    pub(super) fn finish(mut self) -> Counts {
        self.progress.finish();
        self.counts
    }

    /// Reads every line and writes every record; the error names the line.
    pub(super) async fn run(&mut self, lines: &mut Lines, interrupt: &Interrupt) -> Result<()> {
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
