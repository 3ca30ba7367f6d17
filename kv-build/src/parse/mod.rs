//! The manifest grammar (`manifest.pest`) and the parser built from it.

mod expected;
mod lower;

use pest::Parser as _;

use crate::Source;
use crate::ast::Document;
use crate::diagnostic::Diagnostics;

/// The pest parser generated from `manifest.pest`; [`Rule`] has one variant per rule.
#[derive(pest_derive::Parser)]
#[grammar = "manifest.pest"]
struct ManifestParser;

/// Parses a manifest into its syntax tree, without giving it meaning.
///
/// Any block type parses (`service`, `env`, `observer`, `smartbucket`, ...); use
/// [`validate`](crate::validate) or [`load`](crate::load) for the kv rules.
///
/// # Errors
///
/// Returns one `kv::syntax` diagnostic at the first place the text leaves the grammar,
/// saying what was expected there.
///
/// # Examples
///
/// ```
/// let source = kv_build::Source::new("raindrop.manifest", r#"
/// application "demo-app" {
///   service "api" { domain { cname = "api" } }  # nested, unlabelled block
///   kv_store "demo-cache" {}
/// }
/// "#);
/// let document = kv_build::parse(&source)?;
/// assert_eq!(document.items.len(), 1);
/// # Ok::<(), kv_build::Diagnostics>(())
/// ```
pub fn parse(source: &Source) -> Result<Document, Diagnostics> {
    let result = ManifestParser::parse(Rule::document, source.text())
        .map_err(|error| expected::syntax_error(source, &error))
        .and_then(|pairs| lower::document(source, pairs));
    result.map_err(|diagnostic| Diagnostics::new(source.clone(), vec![diagnostic]))
}

#[cfg(test)]
mod tests;
