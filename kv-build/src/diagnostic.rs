//! Findings about a manifest, and how they are rendered for people.

use std::fmt;
use std::ops::Range;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};

use crate::Source;

/// The stable codes of every diagnostic `kv_build` reports.
///
/// Codes never change meaning; tests and tools may match on them.
pub mod codes {
    /// The manifest does not follow the grammar; the message says what was expected.
    pub const SYNTAX: &str = "kv::syntax";
    /// The manifest has no `application "name" { ... }` block.
    pub const MISSING_APPLICATION: &str = "kv::missing_application";
    /// The manifest has more than one `application` block.
    pub const DUPLICATE_APPLICATION: &str = "kv::duplicate_application";
    /// A block that needs a name (`application`, `kv_store`, `kv_cache`, `service`,
    /// `actor`) has no label.
    pub const MISSING_NAME: &str = "kv::missing_name";
    /// A name of an application, store, service or actor breaks the naming rule.
    pub const INVALID_NAME: &str = "kv::invalid_name";
    /// Two stores (`kv_store` or `kv_cache`) have the same name.
    pub const DUPLICATE_STORE: &str = "kv::duplicate_store";
    /// Two store names map to the same `Env` field (`demo-cache`, `demo_cache`).
    pub const DUPLICATE_BINDING: &str = "kv::duplicate_binding";
    /// A store has an attribute or nested block it does not know.
    pub const UNKNOWN_ATTRIBUTE: &str = "kv::unknown_attribute";
    /// A store sets the same attribute twice.
    pub const DUPLICATE_ATTRIBUTE: &str = "kv::duplicate_attribute";
    /// An attribute has a value of the wrong type (`description = 42`).
    pub const INVALID_ATTRIBUTE_TYPE: &str = "kv::invalid_attribute_type";
    /// A kv block (`kv_store`, `kv_cache`, `service`, `actor`) outside the `application`.
    pub const MISPLACED_BLOCK: &str = "kv::misplaced_block";
    /// A bug in `kv_build` itself; please report it.
    pub const INTERNAL: &str = "kv::internal";
}

/// A part of the manifest a diagnostic points at, with an optional note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    span: Range<usize>,
    text: Option<String>,
}

impl Label {
    /// The byte range in the manifest text.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The note shown under the span, if any.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }
}

/// One finding about a manifest: a stable code, a message, the places it concerns and
/// an optional hint.
///
/// Rendered (see [`Diagnostics::render_plain`]), it reads:
///
/// ```text
/// kv::unknown_attribute
///
///   x `kv_store` has no attribute `ttl`
///    ,-[raindrop.manifest:3:5]
///  2 |   kv_store "demo-cache" {
///  3 |     ttl = 60
///    :     ^|^
///    :      `-- unknown attribute
///  4 |   }
///    `----
///   help: known attributes: `description`
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    code: &'static str,
    message: String,
    labels: Vec<Label>,
    help: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    /// Adds a label; the first label added is the primary one (the `file:line:col`).
    pub(crate) fn with_label(mut self, span: Range<usize>, text: impl Into<String>) -> Self {
        let text = text.into();
        self.labels.push(Label {
            span,
            text: (!text.is_empty()).then_some(text),
        });
        self
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The stable code, one of [`codes`], such as `kv::duplicate_binding`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message, one line, without location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The places in the manifest this diagnostic concerns; the first is the primary one.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// A hint on how to fix the problem, if there is one.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The byte offset of the primary label, where `file:line:col` points.
    pub fn offset(&self) -> Option<usize> {
        self.labels.first().map(|label| label.span.start)
    }

    /// Renders this diagnostic against its manifest as plain ASCII text, as
    /// [`Diagnostics::render_plain`] does for each of its items.
    pub fn render_plain(&self, source: &Source) -> String {
        self.render_with(source, &plain_handler())
    }

    /// Renders this diagnostic against its manifest with a miette handler of your choice
    /// (for example with colours and Unicode when writing to a terminal).
    pub fn render_with(&self, source: &Source, handler: &GraphicalReportHandler) -> String {
        let located = Located {
            diagnostic: self,
            source,
        };
        let mut out = String::new();
        match handler.render_report(&mut out, &located) {
            Ok(()) => out,
            // Rendering only fails on a broken span; fall back to one plain line.
            Err(fmt::Error) => {
                let (line, column) = self.offset().map_or((1, 1), |at| source.line_column(at));
                format!(
                    "error[{}]: {}:{line}:{column}: {}\n",
                    self.code,
                    source.name(),
                    self.message
                )
            }
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().enumerate().map(
            |(i, label)| {
                let span = (label.span.start, label.span.len());
                if i == 0 {
                    LabeledSpan::new_primary_with_span(label.text.clone(), span)
                } else {
                    LabeledSpan::new_with_span(label.text.clone(), span)
                }
            },
        )))
    }
}

/// A diagnostic with the manifest it refers to, for rendering one item on its own.
#[derive(Debug)]
struct Located<'a> {
    diagnostic: &'a Diagnostic,
    source: &'a Source,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.diagnostic, f)
    }
}

impl std::error::Error for Located<'_> {}

impl miette::Diagnostic for Located<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        miette::Diagnostic::code(self.diagnostic)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        miette::Diagnostic::help(self.diagnostic)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        miette::Diagnostic::labels(self.diagnostic)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.source)
    }
}

/// The handler behind `render_plain`: no colour, ASCII art, 100 columns.
fn plain_handler() -> GraphicalReportHandler {
    GraphicalReportHandler::new_themed(GraphicalTheme::none()).with_width(100)
}

/// Every finding about one manifest, in the order they occur in the file.
///
/// This is the error type of [`parse`](crate::parse), [`validate`](crate::validate) and
/// [`load`](crate::load). It implements [`miette::Diagnostic`] (each finding is a
/// `related` diagnostic), and renders to text with [`render_plain`](Self::render_plain).
///
/// # Examples
///
/// ```
/// let source = kv_build::Source::new("raindrop.manifest", "kv_store \"demo-cache\" {}\n");
/// let errors = kv_build::load(&source).unwrap_err();
/// assert_eq!(errors.len(), 2);
/// assert_eq!(errors.iter().next().map(|d| d.code()), Some("kv::missing_application"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics {
    source: Source,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Collects diagnostics about `source`, sorted by position (stable for equal ones).
    pub(crate) fn new(source: Source, mut items: Vec<Diagnostic>) -> Self {
        items.sort_by_key(|item| item.offset().unwrap_or(0));
        Self { source, items }
    }

    /// The manifest the diagnostics are about.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The diagnostics, in the order they occur in the manifest.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// How many diagnostics there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none (never the case for an `Err` from this crate).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Renders every diagnostic as plain ASCII text, as in compile errors and logs: the
    /// code, the message, `file:line:col`, the source lines with a `^` caret under the
    /// spot, and the help line. Output is deterministic (100 columns, no colour).
    pub fn render_plain(&self) -> String {
        self.render_with(&plain_handler())
    }

    /// Renders every diagnostic with a miette handler of your choice (the `kv` CLI uses a
    /// Unicode theme with colours when standard error is a terminal).
    pub fn render_with(&self, handler: &GraphicalReportHandler) -> String {
        self.items
            .iter()
            .map(|item| item.render_with(&self.source, handler))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Display for Diagnostics {
    /// One line: `raindrop.manifest:3:5: <message>` for a single diagnostic,
    /// `raindrop.manifest: 3 errors` for several.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.items.as_slice() {
            [only] => {
                let (line, column) = only
                    .offset()
                    .map_or((1, 1), |at| self.source.line_column(at));
                write!(
                    f,
                    "{}:{line}:{column}: {}",
                    self.source.name(),
                    only.message
                )
            }
            items => write!(f, "{}: {} errors", self.source.name(), items.len()),
        }
    }
}

impl std::error::Error for Diagnostics {}

impl miette::Diagnostic for Diagnostics {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        Some(Box::new(
            self.items
                .iter()
                .map(|item| item as &dyn miette::Diagnostic),
        ))
    }
}
