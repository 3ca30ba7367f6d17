//! `kv export [STORE...] [--out FILE]`: every key of the stores as JSON Lines.

use std::path::PathBuf;

use clap::Args;

use super::error::{DataError, Result};
use super::key::print_json;
use super::output::Output;
use super::progress::Interrupt;
use super::records::RecordWriter;
use super::{Common, Prepared, block_on};
use crate::cli::Failure;

/// Keys asked for per listing page.
const PAGE: usize = 1000;

/// `kv export`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example: kv export demo-cache --out dump.jsonl",
    long_about = EXPORT_ABOUT
)]
pub(crate) struct ExportArgs {
    /// The stores to export, in this order. Default: every store of the manifest, in
    /// its order (remotely without a manifest: every store of the server).
    stores: Vec<String>,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print a summary as JSON on standard output (needs --out).
    #[arg(long, requires = "out")]
    json: bool,
    #[command(flatten)]
    common: Common,
}

const EXPORT_ABOUT: &str = "\
Write every key of the stores as JSON Lines: values byte-exact, with metadata and
expiration. `kv import` reads the file back, into the same or another backend.

The format, one JSON object per line:

  {\"format\":\"kv-export\",\"version\":1}
  {\"store\":\"demo-cache\",\"key\":\"user:1\",\"value\":\"John Doe\",\"metadata\":{\"a\":1},\"expiration\":1767225600}
  {\"store\":\"demo-cache\",\"key\":\"logo.png\",\"value\":\"iVBORw0KGgo=\",\"base64\":true}
  {\"store\":\"files\",\"key\":\"big\",\"value\":\"<first MiB>\",\"more\":true}
  {\"store\":\"files\",\"key\":\"big\",\"value\":\"<the rest>\"}
  {\"end\":true,\"keys\":3}

- `value` is the bytes as UTF-8 text, or base64 with \"base64\": true when they are
  not text; `metadata` and `expiration` (Unix seconds) appear when the key has them.
- A value over 1 MiB is split across consecutive lines of the same store and key:
  every line but the last has \"more\": true; only the first has metadata and
  expiration; each piece says for itself whether it is text or base64. Memory stays
  bounded whatever the value's size.
- The last line, {\"end\":true,\"keys\":N}, tells a complete export from a cut one.
- Stores come in the order given (else the manifest's), keys in byte order: the same
  data always gives the same bytes.";

/// Runs `kv export`.
pub(crate) fn run(args: ExportArgs) -> std::result::Result<(), Failure> {
    let prepared = Prepared::load(&args.common)?;
    block_on(export(prepared, args))
}

async fn export(prepared: Prepared, args: ExportArgs) -> Result<()> {
    let session = prepared.open(false).await?;
    let mut names = if args.stores.is_empty() {
        session.all_stores()?
    } else {
        args.stores.clone()
    };
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    // Every store is checked before anything is written.
    let targets = names
        .iter()
        .map(|name| session.target(name))
        .collect::<Result<Vec<_>>>()?;
    let interrupt = Interrupt::install();
    let out = Output::open(args.out.as_deref())?;
    let mut progress = session.ui.progress(out.is_stdout(), "exporting", None);
    let mut writer = RecordWriter::start(out)?;
    for target in &targets {
        let mut cursor: Option<String> = None;
        loop {
            let page = target
                .list_page("", cursor.as_deref(), PAGE)
                .await
                .map_err(|e| e.context(format_args!("store {:?}", target.name())))?;
            for info in &page.keys {
                if interrupt.requested() {
                    progress.finish();
                    let (keys, name) = (writer.keys, writer.output().name());
                    writer.abandon()?;
                    return Err(DataError::new(format!(
                        "interrupted: exported {keys} keys to {name} (store {:?} was next, at key {:?}); \
                         the file is incomplete: it has no closing line, so kv import reports it as cut short",
                        target.name(),
                        info.name
                    )));
                }
                // A key that expired or was deleted since the listing is left out.
                let Some(found) = target.get_listed(info).await? else {
                    continue;
                };
                let size = writer.write(target.name(), &info.name, found).await?;
                progress.add(1, size);
            }
            match page.cursor {
                Some(next) if !page.keys.is_empty() => cursor = Some(next),
                _ => break,
            }
        }
    }
    progress.finish();
    let name = writer.output().name();
    let (keys, bytes) = writer.finish()?;
    session.ui.status(format_args!(
        "exported {keys} keys ({bytes} bytes of values) from {} to {name}",
        names.join(", ")
    ));
    if args.json {
        print_json(&serde_json::json!({
            "exported": keys,
            "bytes": bytes,
            "stores": names,
        }))?;
    }
    session.close().await
}
