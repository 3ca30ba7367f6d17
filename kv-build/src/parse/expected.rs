//! Pest errors to diagnostics that say, in words, what was expected.
//!
//! Each grammar rule has a phrase for users (tera's `renamed_rules`): `Rule::label`
//! becomes "a name in quotes such as \"demo-cache\"", `Rule::equals` becomes "`=`".

use std::ops::Range;

use pest::error::{Error, ErrorVariant, InputLocation};

use super::Rule;
use crate::Source;
use crate::diagnostic::{Diagnostic, codes};

/// What a user would call the thing `rule` matches: (in a message, in a label).
fn phrase(rule: Rule) -> (&'static str, &'static str) {
    match rule {
        Rule::document => ("a manifest", "a manifest"),
        Rule::attribute => ("an attribute", "an attribute"),
        Rule::block => ("a block", "a block"),
        Rule::label => ("a name in quotes such as \"demo-cache\"", "a quoted name"),
        Rule::identifier => ("a name such as `description`", "a name"),
        Rule::value => (
            "a value (a string, integer, boolean, list or object)",
            "a value",
        ),
        Rule::string | Rule::string_content => ("a string such as \"demo-cache\"", "a string"),
        Rule::escape => ("an escape such as `\\n` or `\\\"`", "an escape"),
        Rule::closing_quote => ("a closing `\"`", "`\"`"),
        Rule::integer => ("an integer such as `42`", "an integer"),
        Rule::boolean => ("`true` or `false`", "a boolean"),
        Rule::list => ("a list such as `[\"a\", \"b\"]`", "a list"),
        Rule::object => ("an object such as `{ key = \"value\" }`", "an object"),
        Rule::object_entry => ("an entry such as `key = \"value\"`", "an entry"),
        Rule::equals => ("`=`", "`=`"),
        Rule::colon => ("`:`", "`:`"),
        Rule::comma => ("`,`", "`,`"),
        Rule::open_brace => ("`{`", "`{`"),
        Rule::close_brace => ("`}`", "`}`"),
        Rule::open_bracket => ("`[`", "`[`"),
        Rule::close_bracket => ("`]`", "`]`"),
        Rule::EOI => ("the end of the file", "the end of the file"),
        Rule::string_char => ("a character", "a character"),
        Rule::WHITESPACE => ("whitespace", "whitespace"),
        Rule::COMMENT => ("a comment", "a comment"),
    }
}

/// Turns a pest error into one `kv::syntax` diagnostic.
pub(super) fn syntax_error(source: &Source, error: &Error<Rule>) -> Diagnostic {
    let text = source.text();
    let at = match error.location {
        InputLocation::Pos(at) => at,
        InputLocation::Span((start, _)) => start,
    }
    .min(text.len());
    let rest = &text[at..];
    let found = Found::at(text, at);

    let positives = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.as_slice(),
        // pest's own limits ("stack limit reached" on absurd nesting).
        ErrorVariant::CustomError { message } => {
            return Diagnostic::new(
                codes::SYNTAX,
                format!("the manifest cannot be parsed: {message}"),
            )
            .with_label(found.span, "here");
        }
    };

    if rest.starts_with("/*") {
        return Diagnostic::new(codes::SYNTAX, "comment is not closed")
            .with_label(at..at + 2, "this comment has no `*/`")
            .with_help("close the comment with `*/`");
    }
    if positives.contains(&Rule::closing_quote) && rest.starts_with('\\') {
        let escape: String = rest.chars().take(2).collect();
        return Diagnostic::new(
            codes::SYNTAX,
            format!("unknown escape `{escape}` in a string"),
        )
        .with_label(at..at + escape.len(), "unknown escape")
        .with_help(r#"strings know the escapes `\"`, `\\`, `\/`, `\n`, `\r`, `\t` and `\uXXXX`"#);
    }

    let mut rules: Vec<Rule> = positives.to_vec();
    rules.sort_by_key(|rule| order(*rule));
    rules.dedup();
    // The innermost rule is reported: `string` stands for a label or an object key, and
    // `identifier` for an attribute or block.
    let object_key = rules.contains(&Rule::identifier) && rules.contains(&Rule::string);
    let after_block_type = rules.contains(&Rule::equals) && rules.contains(&Rule::open_brace);
    let phrases: Vec<(&str, &str)> = rules
        .iter()
        .filter(|rule| !(object_key && **rule == Rule::string))
        .flat_map(|rule| match rule {
            Rule::identifier if object_key => vec![("a key such as `cname`", "a key")],
            Rule::identifier => vec![phrase(Rule::attribute), phrase(Rule::block)],
            Rule::string if after_block_type => vec![phrase(Rule::label)],
            rule => vec![phrase(*rule)],
        })
        .collect();
    let name_before = preceding_name(text, at).filter(|_| after_block_type);

    if let (Some(block_type), Some(word)) = (name_before, &found.word) {
        // `kv_store demo-cache {}`: the user meant a label.
        return Diagnostic::new(
            codes::SYNTAX,
            format!("expected a name in quotes after `{block_type}`, found `{word}`"),
        )
        .with_label(found.span.clone(), "not quoted")
        .with_help(format!(
            "block names are quoted: {block_type} \"{word}\" {{ ... }}"
        ));
    }

    let after = name_before
        .map(|name| format!(" after `{name}`"))
        .unwrap_or_default();
    let long: Vec<&str> = phrases.iter().map(|phrase| phrase.0).collect();
    let short: Vec<&str> = phrases.iter().map(|phrase| phrase.1).collect();
    let message = if long.is_empty() {
        format!("unexpected {}", found.description)
    } else {
        format!(
            "expected {}{after}, found {}",
            join(&long),
            found.description
        )
    };
    let label = if found.end_of_file {
        "the file ends here".to_owned()
    } else if short.is_empty() {
        "unexpected".to_owned()
    } else {
        format!("expected {}", join(&short))
    };
    let mut diagnostic =
        Diagnostic::new(codes::SYNTAX, message).with_label(found.span.clone(), label);
    if rules.contains(&Rule::close_brace) && found.end_of_file {
        if let Some(open) = unclosed_brace(text) {
            diagnostic = diagnostic.with_label(open..open + 1, "this `{` is not closed");
        }
        diagnostic = diagnostic.with_help("every `{` needs a matching `}`");
    } else if let Some(help) = help(&rules, &found) {
        diagnostic = diagnostic.with_help(help);
    }
    diagnostic
}

/// The last `{` left open at the end of `text`, skipping strings and comments.
fn unclosed_brace(text: &str) -> Option<usize> {
    let mut open = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' => open.push(at),
            '}' => {
                open.pop();
            }
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' | '\n' => break,
                        _ => {}
                    }
                }
            }
            '#' => skip_line(&mut chars),
            '/' if chars.peek().is_some_and(|(_, c)| *c == '/') => skip_line(&mut chars),
            '/' if chars.peek().is_some_and(|(_, c)| *c == '*') => {
                chars.next();
                let mut star = false;
                for (_, c) in chars.by_ref() {
                    if star && c == '/' {
                        break;
                    }
                    star = c == '*';
                }
            }
            _ => {}
        }
    }
    open.pop()
}

fn skip_line(chars: &mut impl Iterator<Item = (usize, char)>) {
    for (_, c) in chars {
        if c == '\n' {
            break;
        }
    }
}

/// A hint for the common mistakes: unquoted names and strings, unclosed strings.
fn help(rules: &[Rule], found: &Found) -> Option<String> {
    if let Some(word) = &found.word
        && rules.contains(&Rule::value)
    {
        return Some(format!("strings are quoted: \"{word}\""));
    }
    if rules.contains(&Rule::closing_quote) {
        return Some("a string ends with `\"` on the line where it starts".to_owned());
    }
    if rules.contains(&Rule::EOI) && found.description == "`}`" {
        return Some("this `}` has no matching `{`".to_owned());
    }
    None
}

/// Order of phrases in a message: structure first, punctuation last.
fn order(rule: Rule) -> usize {
    const ORDER: &[Rule] = &[
        Rule::attribute,
        Rule::block,
        Rule::object_entry,
        Rule::identifier,
        Rule::equals,
        Rule::colon,
        Rule::label,
        Rule::value,
        Rule::string,
        Rule::string_content,
        Rule::escape,
        Rule::integer,
        Rule::boolean,
        Rule::list,
        Rule::object,
        Rule::closing_quote,
        Rule::comma,
        Rule::open_brace,
        Rule::open_bracket,
        Rule::close_brace,
        Rule::close_bracket,
        Rule::EOI,
        Rule::document,
    ];
    ORDER.iter().position(|r| *r == rule).unwrap_or(ORDER.len())
}

/// "a", "a or b", "a, b or c".
fn join(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The name (block type or attribute) that ends just before `at`, separated by spaces only.
fn preceding_name(text: &str, at: usize) -> Option<&str> {
    let before = text[..at].trim_end_matches([' ', '\t']);
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_name_char(*c))
        .last()
        .map(|(i, _)| i)?;
    let name = &before[start..];
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        .then_some(name)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// What stands where the parser gave up.
struct Found {
    /// "`}`", "`demo-cache`", "the end of the file", ...
    description: String,
    /// The bare word found, if it is a name-like word (for "quote it" hints).
    word: Option<String>,
    span: Range<usize>,
    end_of_file: bool,
}

impl Found {
    fn at(text: &str, at: usize) -> Self {
        let rest = &text[at..];
        let Some(first) = rest.chars().next() else {
            // Point at the last character, so the caret lands on a visible line.
            let start = text.trim_end().len().min(text.len());
            let span = if start == 0 {
                0..0
            } else {
                let last = text[..start].chars().next_back().map_or(1, char::len_utf8);
                start - last..start
            };
            return Self {
                description: "the end of the file".to_owned(),
                word: None,
                span,
                end_of_file: true,
            };
        };
        if first == '\n' || first == '\r' {
            return Self {
                description: "the end of the line".to_owned(),
                word: None,
                span: at..at,
                end_of_file: false,
            };
        }
        if is_name_char(first) {
            let len = rest
                .char_indices()
                .find(|(_, c)| !is_name_char(*c))
                .map_or(rest.len(), |(i, _)| i);
            let word = &rest[..len];
            return Self {
                description: format!("`{word}`"),
                word: first.is_ascii_alphabetic().then(|| word.to_owned()),
                span: at..at + len,
                end_of_file: false,
            };
        }
        if first == '"' {
            let line = rest.lines().next().unwrap_or(rest);
            let len = line[1..]
                .char_indices()
                .scan(false, |escaped, (i, c)| {
                    let end = !*escaped && c == '"';
                    *escaped = !*escaped && c == '\\';
                    Some((i, end))
                })
                .find(|(_, end)| *end)
                .map_or(line.len(), |(i, _)| i + 2);
            return Self {
                description: format!("the string {}", &rest[..len]),
                word: None,
                span: at..at + len,
                end_of_file: false,
            };
        }
        let len = first.len_utf8();
        let description = if first == '`' {
            "a backtick".to_owned()
        } else {
            format!("`{}`", first.escape_debug())
        };
        Self {
            description,
            word: None,
            span: at..at + len,
            end_of_file: false,
        }
    }
}
