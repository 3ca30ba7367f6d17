//! The resource-name rule and binding collisions (`demo-cache` and `demo_cache`).

use std::collections::HashMap;
use std::ops::Range;

use crate::ast::Spanned;
use crate::codegen::binding;
use crate::diagnostic::{Diagnostic, codes};

use crate::names::{NAME_RULE as RULE, NameProblem, is_valid_name as is_valid, name_problem};

/// Checks the name of an `application`, store, service or actor (`what` says which).
pub(crate) fn check(what: &str, name: &Spanned<String>) -> Option<Diagnostic> {
    if is_valid(&name.value) {
        return None;
    }
    let (span, problem) = first_problem(name);
    let mut help = RULE.to_owned();
    let suggestion = suggest(&name.value);
    if is_valid(&suggestion) {
        help.push_str(&format!(", for example \"{suggestion}\""));
    }
    Some(
        Diagnostic::new(
            codes::INVALID_NAME,
            format!("invalid {what} name \"{}\"", name.value.escape_debug()),
        )
        .with_label(span, problem)
        .with_help(help),
    )
}

/// The offending part of a name and what is wrong with it.
fn first_problem(name: &Spanned<String>) -> (Range<usize>, String) {
    let whole = name.span.clone();
    // Point at the character only when the label has no escapes (text == source).
    let exact = name.span.len() == name.value.len() + 2;
    let at = |offset: usize, c: char| {
        if exact {
            let start = name.span.start + 1 + offset;
            start..start + c.len_utf8()
        } else {
            whole.clone()
        }
    };
    match name_problem(&name.value) {
        Some(NameProblem::Empty) => (whole, "a name cannot be empty".to_owned()),
        Some(NameProblem::BadStart(c)) if c.is_ascii_uppercase() => {
            (at(0, c), "uppercase letters are not allowed".to_owned())
        }
        Some(NameProblem::BadStart(c)) => (
            at(0, c),
            "a name must start with a lowercase letter".to_owned(),
        ),
        Some(NameProblem::BadChar(offset, c)) if c.is_ascii_uppercase() => (
            at(offset, c),
            "uppercase letters are not allowed".to_owned(),
        ),
        Some(NameProblem::BadChar(offset, c)) => (
            at(offset, c),
            format!("`{}` is not allowed", c.escape_debug()),
        ),
        Some(NameProblem::TooLong(len)) => (
            whole,
            format!(
                "{len} bytes is longer than the {} bytes a name may have",
                crate::names::MAX_NAME_BYTES
            ),
        ),
        None => (whole, "invalid name".to_owned()),
    }
}

/// A valid name close to `name`: lowercased, other characters turned into `-`.
fn suggest(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    mapped
        .trim_start_matches(|c: char| !c.is_ascii_lowercase())
        .to_owned()
}

/// A store as far as duplicate checks care: its block type and name.
pub(crate) struct StoreName<'a> {
    pub(crate) block_type: &'static str,
    pub(crate) name: &'a Spanned<String>,
}

/// Reports stores declared twice, and distinct names that map to the same binding.
/// Each later store is reported against the first one, with labels on both.
pub(crate) fn duplicates(stores: &[StoreName<'_>]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let mut by_name: HashMap<&str, &StoreName<'_>> = HashMap::new();
    let mut by_binding: HashMap<String, &StoreName<'_>> = HashMap::new();
    for store in stores {
        let name = store.name.value.as_str();
        if let Some(first) = by_name.get(name) {
            diagnostics.push(
                Diagnostic::new(codes::DUPLICATE_STORE, format!("store \"{name}\" is declared twice"))
                    .with_label(store.name.span.clone(), "declared again here")
                    .with_label(
                        first.name.span.clone(),
                        format!("first declared here, by `{}`", first.block_type),
                    )
                    .with_help("store names are unique within an application; `kv_store` and `kv_cache` share them"),
            );
            continue;
        }
        by_name.insert(name, store);
        let field = binding(name);
        if let Some(first) = by_binding.get(&field) {
            diagnostics.push(
                Diagnostic::new(
                    codes::DUPLICATE_BINDING,
                    format!(
                        "stores \"{}\" and \"{name}\" both map to the binding `{field}`",
                        first.name.value
                    ),
                )
                .with_label(store.name.span.clone(), format!("also becomes `env.{field}`"))
                .with_label(first.name.span.clone(), format!("becomes `env.{field}`"))
                .with_help(
                    "a store's `Env` field is its name in SHOUTY_SNAKE_CASE (`-` becomes `_`); rename one of them",
                ),
            );
            continue;
        }
        by_binding.insert(field, store);
    }
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::suggest;

    #[test]
    fn suggestions_are_valid_names() {
        assert_eq!(suggest("Demo-Cache"), "demo-cache");
        assert_eq!(suggest("my cache"), "my-cache");
        assert_eq!(suggest("9lives"), "lives");
    }
}
