//! Errors of the build-script and CLI edges: files, `OUT_DIR` and the manifest itself.

use std::fmt;
use std::path::PathBuf;

use crate::Diagnostics;

/// Why [`compile`](crate::compile) or [`Builder::compile`](crate::Builder::compile) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The manifest could not be read.
    #[error("cannot read manifest `{}`", path.display())]
    Read {
        /// The path as resolved (against `CARGO_MANIFEST_DIR` when relative).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The generated file could not be written.
    #[error("cannot write `{}`", path.display())]
    Write {
        /// The file that was being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No output directory: neither `Builder::out_dir` nor the `OUT_DIR` environment
    /// variable (set by Cargo for build scripts) was given.
    #[error(
        "OUT_DIR environment variable is not set; call kv_build from a build script, or set \
         an output directory with `kv_build::configure().out_dir(...)`"
    )]
    OutDirNotSet,
    /// The manifest has errors; render them with [`Diagnostics::render_plain`].
    #[error("{0}")]
    Manifest(Diagnostics),
}

/// The error a build script returns from `main`: its `Debug` output is the rendered
/// report, because Rust prints an `Err` from `main` with `Debug`.
///
/// ```text
/// Error: kv::unknown_attribute
///
///   x `kv_store` has no attribute `ttl`
///    ,-[raindrop.manifest:3:5]
///  ...
/// ```
///
/// # Examples
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), kv_build::Report> {
///     kv_build::compile("raindrop.manifest")
/// }
/// ```
pub struct Report(BuildError);

impl Report {
    /// The underlying error.
    pub fn error(&self) -> &BuildError {
        &self.0
    }

    /// Unwraps the underlying error.
    pub fn into_error(self) -> BuildError {
        self.0
    }
}

impl From<BuildError> for Report {
    fn from(error: BuildError) -> Self {
        Self(error)
    }
}

impl From<Diagnostics> for Report {
    fn from(diagnostics: Diagnostics) -> Self {
        Self(BuildError::Manifest(diagnostics))
    }
}

impl fmt::Debug for Report {
    /// The full report: rendered diagnostics, or the error and its causes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            BuildError::Manifest(diagnostics) => {
                writeln!(f, "{}", diagnostics.render_plain())?;
                write!(f, "{}", summary(diagnostics))
            }
            error => {
                write!(f, "{error}")?;
                let mut source = std::error::Error::source(error);
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Report {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

/// "could not load `raindrop.manifest`: 2 errors", the last line of a report.
pub(crate) fn summary(diagnostics: &Diagnostics) -> String {
    let count = match diagnostics.len() {
        1 => "1 error".to_owned(),
        n => format!("{n} errors"),
    };
    format!("could not load `{}`: {count}", diagnostics.source().name())
}
