//! An export file (or standard input), line by line, with the line number for messages
//! and the position for the progress bar.

use std::io::{BufRead, BufReader, Read};

use super::error::{DataError, Result};

/// The input, line by line, with the line number and position for messages and the
/// progress bar.
pub(crate) struct Lines {
    reader: BufReader<Box<dyn Read + Send>>,
    line: Vec<u8>,
    /// The number of the line last read, from 1.
    pub(crate) number: usize,
    /// Bytes read so far.
    pub(crate) position: u64,
    /// The input, for messages.
    pub(crate) name: String,
}

impl Lines {
    pub(crate) fn open(path: &std::path::Path) -> Result<(Self, Option<u64>)> {
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
    pub(crate) fn next(&mut self) -> Result<Option<&[u8]>> {
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
    pub(crate) fn here(&self) -> String {
        format!("{}:{}", self.name, self.number)
    }
}
