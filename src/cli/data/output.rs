//! Where a command's result goes: standard output, or a file (`--out`), buffered, with
//! errors that name it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::error::{DataError, Result};

/// Buffer size for output: large writes, few system calls.
const BUFFER_BYTES: usize = 256 * 1024;

/// A buffered destination.
pub(crate) struct Output {
    writer: BufWriter<Box<dyn Write + Send>>,
    /// `None` for standard output.
    path: Option<PathBuf>,
}

impl Output {
    /// Standard output, or the file at `path` (created or truncated); `-` is standard
    /// output too.
    pub(crate) fn open(path: Option<&Path>) -> Result<Self> {
        match path.filter(|p| *p != Path::new("-")) {
            None => Ok(Self {
                writer: BufWriter::with_capacity(BUFFER_BYTES, Box::new(std::io::stdout())),
                path: None,
            }),
            Some(path) => {
                let file = File::create(path).map_err(|e| {
                    DataError::new(format!("cannot create `{}`: {e}", path.display()))
                })?;
                Ok(Self {
                    writer: BufWriter::with_capacity(BUFFER_BYTES, Box::new(file)),
                    path: Some(path.to_path_buf()),
                })
            }
        }
    }

    /// Whether this is standard output.
    pub(crate) fn is_stdout(&self) -> bool {
        self.path.is_none()
    }

    /// What to call it in messages.
    pub(crate) fn name(&self) -> String {
        match &self.path {
            Some(path) => format!("`{}`", path.display()),
            None => "standard output".to_owned(),
        }
    }

    /// The writer, for `serde_json::to_writer`.
    pub(crate) fn writer(&mut self) -> &mut impl Write {
        &mut self.writer
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer.write_all(bytes).map_err(|e| self.error(&e))
    }

    /// The error for a failed write.
    pub(crate) fn error(&self, error: &dyn std::fmt::Display) -> DataError {
        DataError::new(format!("cannot write to {}: {error}", self.name()))
    }

    /// Flushes (and for a file, syncs nothing more: the OS has it).
    pub(crate) fn finish(mut self) -> Result<()> {
        self.writer.flush().map_err(|e| self.error(&e))
    }
}
