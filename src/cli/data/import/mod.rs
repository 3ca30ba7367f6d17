//! `kv import FILE [--into STORE]`: an export read back, in batches, idempotently.

mod importer;

use std::path::PathBuf;

use clap::Args;

use self::importer::Importer;
use super::error::{DataError, Result};
use super::key::print_json;
use super::lines::Lines;
use super::progress::Interrupt;
use super::{Common, Prepared, block_on};
use crate::cli::Failure;

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

async fn import(prepared: Prepared, args: ImportArgs) -> Result<()> {
    let session = prepared.open(true).await?;
    let (mut lines, size) = Lines::open(&args.file)?;
    let interrupt = Interrupt::install();
    let progress = session.ui.progress(false, "importing", size);
    let mut importer = Importer::new(&session, args.into.clone(), progress, lines.name.clone());
    let result = importer.run(&mut lines, &interrupt).await;
    let counts = importer.finish();
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
