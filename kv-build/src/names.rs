//! The resource-name rule, the one the manifest's validator and the runtime both apply
//! to application and store names. This module needs none of the crate's features, so
//! the runtime depends on `kv-build` with `default-features = false` for it alone.

/// The longest name, in bytes: a store's name becomes part of file and key names in
/// the backends (fjall keyspaces are limited to 255 bytes, with suffixes).
pub const MAX_NAME_BYTES: usize = 128;

/// The rule, in words, for messages.
pub const NAME_RULE: &str = "names start with a lowercase letter and use only lowercase letters, digits, `-` and `_`, at most 128 bytes";

/// What is wrong with a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameProblem {
    /// The empty name.
    Empty,
    /// The first character is not a lowercase letter.
    BadStart(char),
    /// A character other than a lowercase letter, a digit, `-` or `_`, at this byte offset.
    BadChar(usize, char),
    /// Longer than [`MAX_NAME_BYTES`]; the name's length in bytes.
    TooLong(usize),
}

/// What is wrong with `name`, if anything: `^[a-z][a-z0-9_-]*$`, at most
/// [`MAX_NAME_BYTES`] bytes.
///
/// # Examples
///
/// ```
/// use kv_build::names::{NameProblem, name_problem};
///
/// assert_eq!(name_problem("demo-cache"), None);
/// assert_eq!(name_problem("Demo"), Some(NameProblem::BadStart('D')));
/// assert_eq!(name_problem(&"a".repeat(129)), Some(NameProblem::TooLong(129)));
/// ```
pub fn name_problem(name: &str) -> Option<NameProblem> {
    let mut chars = name.char_indices();
    let Some((_, first)) = chars.next() else {
        return Some(NameProblem::Empty);
    };
    if !first.is_ascii_lowercase() {
        return Some(NameProblem::BadStart(first));
    }
    if let Some((at, c)) = chars
        .find(|(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Some(NameProblem::BadChar(at, c));
    }
    (name.len() > MAX_NAME_BYTES).then_some(NameProblem::TooLong(name.len()))
}

/// Whether `name` is a valid application or store name (see [`name_problem`]).
pub fn is_valid_name(name: &str) -> bool {
    name_problem(name).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_rule() {
        for ok in ["a", "demo-cache", "demo_cache", "cache2", "a-1_b"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        assert!(is_valid_name(&"a".repeat(MAX_NAME_BYTES)));
        for bad in [
            "",
            "Demo",
            "1cache",
            "-a",
            "_a",
            "demo cache",
            "démo",
            "a.b",
            "aB",
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
        assert_eq!(name_problem("aé"), Some(NameProblem::BadChar(1, 'é')));
        assert!(!is_valid_name(&"a".repeat(MAX_NAME_BYTES + 1)));
    }
}
