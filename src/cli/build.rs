//! `kv build generate` and `kv build check`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use kv_build::{Application, Diagnostics, Generator, Source};
use miette::{GraphicalReportHandler, GraphicalTheme};

use super::{Failure, fail, fancy_stderr};

/// `kv build ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum BuildCommand {
    /// Generate the Rust code of the typed `Env` from a manifest.
    ///
    /// Prints the code on standard output, or writes it to `--out`.
    Generate {
        #[command(flatten)]
        manifest: ManifestArg,
        /// Write the code to this file (`-` for standard output, the default).
        #[arg(long, short = 'o', value_name = "PATH")]
        out: Option<PathBuf>,
    },
    /// Check a manifest and report every error in it, without generating code.
    Check {
        #[command(flatten)]
        manifest: ManifestArg,
    },
}

/// `--manifest PATH`.
#[derive(Debug, Args)]
pub(crate) struct ManifestArg {
    /// The manifest to read.
    #[arg(long, value_name = "PATH", default_value = "raindrop.manifest")]
    pub(super) manifest: PathBuf,
}

/// Runs a `kv build` command.
pub(super) fn run(command: BuildCommand) -> Result<(), Failure> {
    match command {
        BuildCommand::Generate { manifest, out } => generate(&manifest.manifest, out.as_deref()),
        BuildCommand::Check { manifest } => {
            let app = load(&manifest.manifest)?;
            eprintln!("{}: ok ({})", manifest.manifest.display(), summary(&app));
            Ok(())
        }
    }
}

fn generate(manifest: &Path, out: Option<&Path>) -> Result<(), Failure> {
    let app = load(manifest)?;
    let code = Generator::default().generate_file(&app);
    match out {
        None => write_stdout(&code),
        Some(path) if path == Path::new("-") => write_stdout(&code),
        Some(path) => {
            let unchanged = std::fs::read(path).is_ok_and(|old| old == code.as_bytes());
            if !unchanged {
                std::fs::write(path, &code).map_err(|error| {
                    fail(format_args!("cannot write `{}`: {error}", path.display()))
                })?;
            }
            eprintln!(
                "wrote {} from {} ({}){}",
                path.display(),
                manifest.display(),
                summary(&app),
                if unchanged { ", unchanged" } else { "" }
            );
            Ok(())
        }
    }
}

fn write_stdout(code: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(code.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| fail(format_args!("cannot write to standard output: {error}")))
}

/// Reads and validates the manifest; on errors, prints every diagnostic.
pub(super) fn load(manifest: &Path) -> Result<Application, Failure> {
    let source = Source::from_path(manifest).map_err(|error| {
        let hint = if manifest == Path::new("raindrop.manifest") {
            "\nhint: run kv in the directory of your manifest, or pass `--manifest PATH`"
        } else {
            ""
        };
        fail(format_args!(
            "cannot read `{}`: {error}{hint}",
            manifest.display()
        ))
    })?;
    kv_build::load(&source).map_err(|diagnostics| report(&diagnostics))
}

/// Prints the diagnostics, with colour and Unicode only on a terminal, then a summary.
fn report(diagnostics: &Diagnostics) -> Failure {
    let rendered = if fancy_stderr() {
        let theme = GraphicalTheme::unicode();
        diagnostics.render_with(&GraphicalReportHandler::new_themed(theme).with_width(100))
    } else {
        diagnostics.render_plain()
    };
    eprintln!("{rendered}");
    let count = match diagnostics.len() {
        1 => "1 error".to_owned(),
        n => format!("{n} errors"),
    };
    fail(format_args!(
        "could not load `{}`: {count}",
        diagnostics.source().name()
    ))
}

/// "application `demo-app`, 2 stores".
fn summary(app: &Application) -> String {
    let stores = match app.stores().len() {
        1 => "1 store".to_owned(),
        n => format!("{n} stores"),
    };
    format!("application `{}`, {stores}", app.name())
}
