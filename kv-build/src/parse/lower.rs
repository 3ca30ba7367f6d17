//! Pest pairs to the syntax tree.
//!
//! The grammar guarantees the shape of every pair, but this module still checks it and
//! reports a `kv::internal` diagnostic instead of panicking: a panic inside the
//! proc-macro would surface as an unhelpful "proc macro panicked".

use std::ops::Range;

use pest::iterators::{Pair, Pairs};

use super::Rule;
use crate::Source;
use crate::ast::{Attribute, Block, Document, Item, Spanned, Value};
use crate::diagnostic::{Diagnostic, codes};

/// How deeply blocks, lists and objects may nest.
const MAX_DEPTH: usize = 64;

/// Lowers the pairs of `Rule::document`.
pub(super) fn document(
    source: &Source,
    mut pairs: Pairs<'_, Rule>,
) -> Result<Document, Diagnostic> {
    let document = next(&mut pairs, Rule::document, 0..0)?;
    let items = items(document.into_inner(), 0)?;
    Ok(Document {
        source: source.clone(),
        items,
    })
}

/// Lowers a sequence of attributes and blocks, skipping punctuation and the end of input.
fn items<'i>(
    pairs: impl Iterator<Item = Pair<'i, Rule>>,
    depth: usize,
) -> Result<Vec<Item>, Diagnostic> {
    let mut items = Vec::new();
    for pair in pairs {
        match pair.as_rule() {
            Rule::attribute => items.push(Item::Attribute(attribute(pair, depth)?)),
            Rule::block => items.push(Item::Block(block(pair, depth)?)),
            Rule::EOI | Rule::open_brace | Rule::close_brace => {}
            _ => return Err(unexpected(&pair, "a block body")),
        }
    }
    Ok(items)
}

fn block(pair: Pair<'_, Rule>, depth: usize) -> Result<Block, Diagnostic> {
    let span = span_of(&pair);
    check_depth(depth, &span)?;
    let mut inner = pair.into_inner().peekable();
    let kind = identifier(next(&mut inner, Rule::identifier, span.clone())?);
    let label = match inner.peek().map(Pair::as_rule) {
        Some(Rule::label) => {
            let label = next(&mut inner, Rule::label, span.clone())?;
            let label_span = span_of(&label);
            let string = next(&mut label.into_inner(), Rule::string, label_span)?;
            Some(string_value(string)?)
        }
        _ => None,
    };
    let items = items(inner, depth + 1)?;
    Ok(Block {
        kind,
        label,
        items,
        span,
    })
}

fn attribute(pair: Pair<'_, Rule>, depth: usize) -> Result<Attribute, Diagnostic> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let name = identifier(next(&mut inner, Rule::identifier, span.clone())?);
    next(&mut inner, Rule::equals, span.clone())?;
    let value = value(next(&mut inner, Rule::value, span.clone())?, depth)?;
    Ok(Attribute { name, value, span })
}

fn identifier(pair: Pair<'_, Rule>) -> Spanned<String> {
    Spanned::new(pair.as_str().to_owned(), span_of(&pair))
}

/// Lowers a `Rule::value` pair.
fn value(pair: Pair<'_, Rule>, depth: usize) -> Result<Spanned<Value>, Diagnostic> {
    let span = span_of(&pair);
    check_depth(depth, &span)?;
    let Some(inner) = pair.clone().into_inner().next() else {
        return Err(unexpected(&pair, "a value"));
    };
    let value = match inner.as_rule() {
        Rule::string => Value::String(string_value(inner)?.value),
        Rule::integer => Value::Integer(integer(&inner)?),
        Rule::boolean => Value::Boolean(inner.as_str() == "true"),
        Rule::list => Value::List(
            inner
                .into_inner()
                .filter(|pair| pair.as_rule() == Rule::value)
                .map(|pair| value(pair, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Rule::object => Value::Object(
            inner
                .into_inner()
                .filter(|pair| pair.as_rule() == Rule::object_entry)
                .map(|pair| object_entry(pair, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(unexpected(&inner, "a value")),
    };
    Ok(Spanned::new(value, span))
}

fn object_entry(
    pair: Pair<'_, Rule>,
    depth: usize,
) -> Result<(Spanned<String>, Spanned<Value>), Diagnostic> {
    let span = span_of(&pair);
    let mut inner = pair.into_inner();
    let Some(key) = inner.next() else {
        return Err(internal(span, "an object entry without key"));
    };
    let key = match key.as_rule() {
        Rule::identifier => identifier(key),
        Rule::string => string_value(key)?,
        _ => return Err(unexpected(&key, "an object key")),
    };
    let Some(value_pair) = inner.find(|pair| pair.as_rule() == Rule::value) else {
        return Err(internal(span, "an object entry without value"));
    };
    Ok((key, value(value_pair, depth)?))
}

/// Lowers a `Rule::string` pair: resolves escapes; the span includes the quotes.
fn string_value(pair: Pair<'_, Rule>) -> Result<Spanned<String>, Diagnostic> {
    let span = span_of(&pair);
    let content = next(&mut pair.into_inner(), Rule::string_content, span.clone())?;
    let raw = content.as_str();
    let base = content.as_span().start();
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let escaped = match chars.next() {
            Some((_, 'n')) => '\n',
            Some((_, 'r')) => '\r',
            Some((_, 't')) => '\t',
            Some((_, c @ ('"' | '\\' | '/'))) => c,
            Some((_, 'u')) => {
                let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                let escape_span = base + at..base + at + 2 + hex.len();
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| {
                        Diagnostic::new(
                            codes::SYNTAX,
                            format!("`\\u{hex}` is not a Unicode scalar value"),
                        )
                        .with_label(escape_span, "invalid escape")
                        .with_help("surrogate code points (D800 to DFFF) cannot appear in text")
                    })?
            }
            _ => return Err(internal(base + at..base + at + 1, "an unknown escape")),
        };
        text.push(escaped);
    }
    Ok(Spanned::new(text, span))
}

fn integer(pair: &Pair<'_, Rule>) -> Result<i64, Diagnostic> {
    pair.as_str().parse().map_err(|_| {
        Diagnostic::new(
            codes::SYNTAX,
            format!("integer `{}` is out of range", pair.as_str()),
        )
        .with_label(span_of(pair), "too large")
        .with_help(format!(
            "integers must lie between {} and {}",
            i64::MIN,
            i64::MAX
        ))
    })
}

fn check_depth(depth: usize, span: &Range<usize>) -> Result<(), Diagnostic> {
    if depth < MAX_DEPTH {
        return Ok(());
    }
    Err(Diagnostic::new(
        codes::SYNTAX,
        format!("blocks and values nest more than {MAX_DEPTH} levels deep"),
    )
    .with_label(span.start..span.start + 1, "too deep")
    .with_help("flatten the manifest"))
}

/// Takes the next pair, which must be `rule`.
fn next<'i>(
    pairs: &mut impl Iterator<Item = Pair<'i, Rule>>,
    rule: Rule,
    parent: Range<usize>,
) -> Result<Pair<'i, Rule>, Diagnostic> {
    match pairs.next() {
        Some(pair) if pair.as_rule() == rule => Ok(pair),
        Some(pair) => Err(unexpected(&pair, &format!("{rule:?}"))),
        None => Err(internal(parent, &format!("a missing {rule:?}"))),
    }
}

fn span_of(pair: &Pair<'_, Rule>) -> Range<usize> {
    let span = pair.as_span();
    span.start()..span.end()
}

fn unexpected(pair: &Pair<'_, Rule>, context: &str) -> Diagnostic {
    internal(
        span_of(pair),
        &format!("an unexpected {:?} in {context}", pair.as_rule()),
    )
}

fn internal(span: Range<usize>, what: &str) -> Diagnostic {
    Diagnostic::new(
        codes::INTERNAL,
        format!("internal error: the parser produced {what}"),
    )
    .with_label(span, "while reading this")
    .with_help("this is a bug in kv_build; please report it with the manifest")
}
