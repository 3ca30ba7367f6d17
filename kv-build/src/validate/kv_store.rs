//! The attributes a `kv_store` (or `kv_cache`) block knows, and the rules for them.

use std::collections::HashMap;

use crate::ast::{Block, Value};
use crate::diagnostic::{Diagnostic, codes};

/// Every attribute a store block knows.
const KNOWN: &[&str] = &["description"];

/// Reads a store block's attributes; returns its description and any findings.
pub(crate) fn attributes(block: &Block, diagnostics: &mut Vec<Diagnostic>) -> Option<String> {
    let block_type = block.kind.value.as_str();
    let mut description = None;
    let mut seen = HashMap::new();
    for attribute in block.attributes() {
        let name = attribute.name.value.as_str();
        if !KNOWN.contains(&name) {
            diagnostics.push(
                Diagnostic::new(
                    codes::UNKNOWN_ATTRIBUTE,
                    format!("`{block_type}` has no attribute `{name}`"),
                )
                .with_label(attribute.name.span.clone(), "unknown attribute")
                .with_help(known_help(name)),
            );
            continue;
        }
        if let Some(first) = seen.insert(name, attribute.name.span.clone()) {
            diagnostics.push(
                Diagnostic::new(
                    codes::DUPLICATE_ATTRIBUTE,
                    format!("`{name}` is set twice in this `{block_type}`"),
                )
                .with_label(attribute.name.span.clone(), "set again here")
                .with_label(first, "first set here")
                .with_help("remove one of them"),
            );
            continue;
        }
        match &attribute.value.value {
            Value::String(text) => description = Some(text.clone()),
            other => diagnostics.push(
                Diagnostic::new(
                    codes::INVALID_ATTRIBUTE_TYPE,
                    format!("`{name}` must be a string, not {}", other.kind()),
                )
                .with_label(
                    attribute.value.span.clone(),
                    format!("this is {}", other.kind()),
                )
                .with_help(format!(
                    "write it in double quotes: {name} = \"User sessions\""
                )),
            ),
        }
    }
    for nested in block.blocks() {
        let name = nested.kind.value.as_str();
        diagnostics.push(
            Diagnostic::new(
                codes::UNKNOWN_ATTRIBUTE,
                format!("`{block_type}` has no nested block `{name}`"),
            )
            .with_label(nested.kind.span.clone(), "unknown block")
            .with_help(format!(
                "`{block_type}` takes no nested blocks; known attributes: {}",
                list(KNOWN)
            )),
        );
    }
    description
}

/// "known attributes: `description`", with a "did you mean" for near misses.
fn known_help(name: &str) -> String {
    let mut help = format!("known attributes: {}", list(KNOWN));
    if let Some(close) = KNOWN
        .iter()
        .find(|known| distance(name, known) <= 2 || (name.len() >= 4 && known.starts_with(name)))
    {
        help = format!("did you mean `{close}`? {help}");
    }
    help
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Levenshtein distance, for short attribute names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{distance, known_help};

    #[test]
    fn near_misses_get_a_suggestion() {
        assert_eq!(distance("descripton", "description"), 1);
        assert!(known_help("descripton").starts_with("did you mean `description`?"));
        assert!(known_help("desc").starts_with("did you mean"));
        assert_eq!(known_help("ttl"), "known attributes: `description`");
    }
}
