//! The manifest text and the name it is reported under.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// A manifest's text together with the name diagnostics and generated code use for it.
///
/// The name is usually the path the manifest was read from, as the user wrote it
/// (`raindrop.manifest`, `app/raindrop.manifest`). Diagnostics show it in full; generated
/// code only names the file (`raindrop.manifest`), so that the CLI, `build.rs` and the
/// proc-macro produce identical output wherever they run from.
///
/// Cloning is cheap: the text is shared.
///
/// # Examples
///
/// ```
/// let source = kv_build::Source::new("raindrop.manifest", "application \"demo-app\" {}\n");
/// assert_eq!(source.name(), "raindrop.manifest");
/// assert_eq!(source.line_column(12), (1, 13));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Source {
    name: String,
    text: Arc<str>,
}

impl Source {
    /// Creates a source from a name (usually a path) and the manifest text.
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    /// Reads a manifest file; the source is named by `path` as given.
    ///
    /// # Errors
    ///
    /// Returns the I/O error if the file cannot be read or is not UTF-8.
    pub fn from_path(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)?;
        Ok(Self::new(path.display().to_string(), text))
    }

    /// The name diagnostics report the manifest under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The last component of the name (`raindrop.manifest` for `app/raindrop.manifest`),
    /// which is how generated code refers to the manifest.
    pub fn file_name(&self) -> &str {
        self.name
            .rsplit(['/', '\\'])
            .find(|part| !part.is_empty())
            .unwrap_or(&self.name)
    }

    /// The manifest text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 1-based line and column (in characters) of a byte offset.
    ///
    /// Offsets past the end, or inside a multi-byte character, are clamped to the
    /// nearest character boundary before them.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("len", &self.text.len())
            .finish()
    }
}

impl SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let contents = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::Source;

    #[test]
    fn line_column_counts_characters() {
        let source = Source::new("m", "ab\nçd\n");
        assert_eq!(source.line_column(0), (1, 1));
        assert_eq!(source.line_column(3), (2, 1));
        assert_eq!(source.line_column(5), (2, 2));
        assert_eq!(source.line_column(4), (2, 1), "inside `ç` clamps back");
        assert_eq!(source.line_column(100), (3, 1));
    }

    #[test]
    fn file_name_is_the_last_component() {
        assert_eq!(
            Source::new("a/b/raindrop.manifest", "").file_name(),
            "raindrop.manifest"
        );
        assert_eq!(Source::new("a\\b.manifest", "").file_name(), "b.manifest");
        assert_eq!(Source::new("<inline>", "").file_name(), "<inline>");
    }
}
