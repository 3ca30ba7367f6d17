//! The generic syntax tree of a manifest, before the kv plugin gives it meaning.
//!
//! Every node keeps the byte range it came from, so that diagnostics can point at it.

use std::ops::Range;

use crate::Source;

/// A value with the byte range of the manifest text it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Byte range in the manifest text.
    pub span: Range<usize>,
}

impl<T> Spanned<T> {
    pub(crate) fn new(value: T, span: Range<usize>) -> Self {
        Self { value, span }
    }
}

/// A parsed manifest: its top-level attributes and blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Document {
    /// The manifest the tree was parsed from.
    pub source: Source,
    /// Top-level attributes and blocks, in order.
    pub items: Vec<Item>,
}

/// An entry of a document or block body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `name = value`.
    Attribute(Attribute),
    /// `type "label" { ... }`.
    Block(Block),
}

/// A block: `kv_store "demo-cache" { description = "..." }`, or `domain { ... }` without label.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Block {
    /// The block type, such as `kv_store`.
    pub kind: Spanned<String>,
    /// The label, unquoted; its span includes the quotes.
    pub label: Option<Spanned<String>>,
    /// Attributes and nested blocks, in order.
    pub items: Vec<Item>,
    /// The whole block, from its type to its closing brace.
    pub span: Range<usize>,
}

impl Block {
    /// The block's attributes, in order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.items.iter().filter_map(|item| match item {
            Item::Attribute(attribute) => Some(attribute),
            Item::Block(_) => None,
        })
    }

    /// The block's nested blocks, in order.
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.items.iter().filter_map(|item| match item {
            Item::Block(block) => Some(block),
            Item::Attribute(_) => None,
        })
    }
}

/// An attribute: `description = "User sessions"`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attribute {
    /// The attribute's name.
    pub name: Spanned<String>,
    /// The attribute's value.
    pub value: Spanned<Value>,
    /// The whole attribute, from its name to the end of its value.
    pub span: Range<usize>,
}

/// An attribute value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `"text"`, with escapes resolved.
    String(String),
    /// `42`; integers fit in an `i64`.
    Integer(i64),
    /// `true` or `false`.
    Boolean(bool),
    /// `["a", "b"]`.
    List(Vec<Spanned<Value>>),
    /// `{ key = value }`, entries in order.
    Object(Vec<(Spanned<String>, Spanned<Value>)>),
}

impl Value {
    /// What the value is, with an article, for messages: "a string", "an integer", ...
    pub fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Boolean(_) => "a boolean",
            Value::List(_) => "a list",
            Value::Object(_) => "an object",
        }
    }
}
