//! The operations of the model test, their strategies, and how they print: one short
//! line each, so that a shrunk failing sequence reads like a script.

use std::fmt;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::sample::select;

use crate::conformance::CHUNK_BYTES;

/// Keys from a small set, so that operations hit the same keys; chosen for byte
/// order (`"a" < "a/" < "a/b" < "ab"`, and `é` after every ASCII key) and prefixes.
pub(super) const KEYS: [&str; 8] = ["/", "a", "a/", "a/b", "ab", "b", "é", "éa"];
/// Prefixes for listing, counting and deleting; `""` is every key.
pub(super) const PREFIXES: [&str; 5] = ["", "a", "a/", "b", "é"];

/// A value to write.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Val {
    /// `"v{n}"`, written whole.
    Text(u8),
    /// The empty value (a value, not a miss).
    Empty,
    /// Over a chunk ([`CHUNK_BYTES`]) long, written as a stream of 64 KiB pieces.
    Big(u8),
}

impl Val {
    pub(super) fn bytes(self) -> Bytes {
        match self {
            Self::Text(n) => Bytes::from(format!("v{n}")),
            Self::Empty => Bytes::new(),
            Self::Big(n) => {
                let len = CHUNK_BYTES + 1_000 * usize::from(n) + 17;
                (0..len)
                    .map(|i| (i.wrapping_mul(31) as u8).wrapping_add(n))
                    .collect()
            }
        }
    }
}

impl fmt::Debug for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(n) => write!(f, "\"v{n}\""),
            Self::Empty => f.write_str("\"\""),
            Self::Big(n) => write!(f, "big{n} ({} bytes, streamed)", self.bytes().len()),
        }
    }
}

/// A put's expiration, relative to the model's clock.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Expiry {
    None,
    /// `expiration_ttl(secs)`; under 60 is refused.
    Ttl(u64),
    /// `expiration(now + secs)`; under 60 seconds ahead is refused.
    At(u64),
    /// Both: the TTL wins, even over an `expiration` that alone would be refused.
    Both {
        ttl: u64,
        at: u64,
    },
}

impl fmt::Debug for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => Ok(()),
            Self::Ttl(s) => write!(f, ", ttl={s}"),
            Self::At(s) => write!(f, ", expiration=now+{s}"),
            Self::Both { ttl, at } => write!(f, ", ttl={ttl}, expiration=now+{at}"),
        }
    }
}

/// A put's metadata.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Meta {
    None,
    /// `{"n": n}`.
    Object(u8),
    /// A JSON string: metadata is any JSON value.
    Text,
    /// JSON `null`: the same as no metadata.
    Null,
}

impl Meta {
    pub(super) fn json(self) -> Option<serde_json::Value> {
        match self {
            Self::None | Self::Null => None,
            Self::Object(n) => Some(serde_json::json!({ "n": n })),
            Self::Text => Some(serde_json::json!("text")),
        }
    }
}

impl fmt::Debug for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => Ok(()),
            Self::Object(n) => write!(f, ", metadata={{\"n\":{n}}}"),
            Self::Text => f.write_str(", metadata=\"text\""),
            Self::Null => f.write_str(", metadata=null"),
        }
    }
}

/// Which version a conditional write names.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Pick {
    /// The key's current version (or, if it has none, the last it had).
    Current,
    /// The `n`-th version the store issued (modulo how many it issued): usually stale,
    /// often another key's.
    Old(u8),
}

impl fmt::Debug for Pick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Current => f.write_str("current"),
            Self::Old(n) => write!(f, "issued[{n}]"),
        }
    }
}

/// A put's condition.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Cond {
    Always,
    IfAbsent,
    IfVersion(Pick),
}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Always => Ok(()),
            Self::IfAbsent => f.write_str(", if_absent"),
            Self::IfVersion(pick) => write!(f, ", if_version({pick:?})"),
        }
    }
}

/// One item of a put (single or bulk).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Item {
    pub(super) key: &'static str,
    pub(super) val: Val,
    pub(super) ttl: Expiry,
    pub(super) meta: Meta,
    pub(super) cond: Cond,
}

impl fmt::Debug for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            key,
            val,
            ttl,
            meta,
            cond,
        } = self;
        write!(f, "{key:?}, {val:?}{ttl:?}{meta:?}{cond:?}")
    }
}

/// A touch's new expiration.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TouchTo {
    Ttl(u64),
    At(u64),
    Persist,
}

impl fmt::Debug for TouchTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ttl(s) => write!(f, "expiration_ttl({s})"),
            Self::At(s) => write!(f, "expiration(now+{s})"),
            Self::Persist => f.write_str("persist()"),
        }
    }
}

/// One step of a sequence.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Op {
    Put(Item),
    Get(&'static str),
    GetWithMetadata(&'static str),
    GetStream(&'static str),
    GetMany(Vec<&'static str>),
    /// Starts a listing walk (abandoning any in progress).
    List {
        prefix: &'static str,
        limit: usize,
    },
    /// Continues the walk with its cursor; nothing without one.
    ListNext {
        limit: usize,
    },
    /// Uses the walk's cursor with `prefix`: refused unless it is the walk's own.
    ListNextWithPrefix {
        prefix: &'static str,
    },
    Delete(&'static str),
    DeleteIfVersion(&'static str, Pick),
    PutMany(Vec<Item>),
    DeleteMany(Vec<&'static str>),
    Touch(&'static str, TouchTo),
    DeletePrefix(&'static str),
    Count(&'static str),
    Advance(u64),
    Purge,
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Put(item) => write!(f, "put({item:?})"),
            Self::Get(k) => write!(f, "get({k:?})"),
            Self::GetWithMetadata(k) => write!(f, "get_with_metadata({k:?})"),
            Self::GetStream(k) => write!(f, "get({k:?}).stream()"),
            Self::GetMany(keys) => write!(f, "get_many({keys:?})"),
            Self::List { prefix, limit } => write!(f, "list(prefix={prefix:?}, limit={limit})"),
            Self::ListNext { limit } => write!(f, "list_next(limit={limit})"),
            Self::ListNextWithPrefix { prefix } => {
                write!(f, "list_next_with_prefix({prefix:?})")
            }
            Self::Delete(k) => write!(f, "delete({k:?})"),
            Self::DeleteIfVersion(k, pick) => write!(f, "delete({k:?}, if_version({pick:?}))"),
            Self::PutMany(items) => {
                f.write_str("put_many([")?;
                for (i, item) in items.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "; " };
                    write!(f, "{sep}({item:?})")?;
                }
                f.write_str("])")
            }
            Self::DeleteMany(keys) => write!(f, "delete_many({keys:?})"),
            Self::Touch(k, to) => write!(f, "touch({k:?}).{to:?}"),
            Self::DeletePrefix(p) => write!(f, "delete_prefix({p:?})"),
            Self::Count(p) => write!(f, "count(prefix={p:?})"),
            Self::Advance(s) => write!(f, "clock.advance({s}s)"),
            Self::Purge => f.write_str("purge_expired()"),
        }
    }
}

fn key() -> impl Strategy<Value = &'static str> {
    select(&KEYS[..])
}

fn prefix() -> impl Strategy<Value = &'static str> {
    select(&PREFIXES[..])
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![3 => Just(Pick::Current), 1 => (0u8..8).prop_map(Pick::Old)]
}

fn val(big: bool) -> BoxedStrategy<Val> {
    let small = prop_oneof![6 => (0u8..4).prop_map(Val::Text), 1 => Just(Val::Empty)];
    if big {
        prop_oneof![12 => small, 1 => (0u8..2).prop_map(Val::Big)].boxed()
    } else {
        small.boxed()
    }
}

fn ttl() -> impl Strategy<Value = Expiry> {
    prop_oneof![
        8 => Just(Expiry::None),
        4 => select(&[60u64, 61, 120][..]).prop_map(Expiry::Ttl),
        2 => select(&[60u64, 90][..]).prop_map(Expiry::At),
        1 => Just(Expiry::Ttl(30)),
        1 => Just(Expiry::At(59)),
        1 => Just(Expiry::Both { ttl: 60, at: 30 }),
    ]
}

fn meta() -> impl Strategy<Value = Meta> {
    prop_oneof![
        4 => Just(Meta::None),
        3 => (0u8..3).prop_map(Meta::Object),
        1 => Just(Meta::Text),
        1 => Just(Meta::Null),
    ]
}

fn cond() -> impl Strategy<Value = Cond> {
    prop_oneof![
        8 => Just(Cond::Always),
        2 => Just(Cond::IfAbsent),
        2 => pick().prop_map(Cond::IfVersion),
    ]
}

fn item(big: bool) -> impl Strategy<Value = Item> {
    (key(), val(big), ttl(), meta(), cond()).prop_map(|(key, val, ttl, meta, cond)| Item {
        key,
        val,
        ttl,
        meta,
        cond,
    })
}

fn touch_to() -> impl Strategy<Value = TouchTo> {
    prop_oneof![
        3 => select(&[60u64, 120][..]).prop_map(TouchTo::Ttl),
        1 => Just(TouchTo::Ttl(30)),
        1 => Just(TouchTo::At(90)),
        2 => Just(TouchTo::Persist),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let keys = || proptest::collection::vec(key(), 1..4);
    prop_oneof![
        10 => item(true).prop_map(Op::Put),
        4 => key().prop_map(Op::Get),
        4 => key().prop_map(Op::GetWithMetadata),
        1 => key().prop_map(Op::GetStream),
        2 => keys().prop_map(Op::GetMany),
        3 => (prefix(), 1usize..4).prop_map(|(prefix, limit)| Op::List { prefix, limit }),
        4 => (1usize..4).prop_map(|limit| Op::ListNext { limit }),
        1 => prefix().prop_map(|prefix| Op::ListNextWithPrefix { prefix }),
        3 => key().prop_map(Op::Delete),
        2 => (key(), pick()).prop_map(|(k, p)| Op::DeleteIfVersion(k, p)),
        2 => proptest::collection::vec(item(false), 1..4).prop_map(Op::PutMany),
        1 => keys().prop_map(Op::DeleteMany),
        2 => (key(), touch_to()).prop_map(|(k, t)| Op::Touch(k, t)),
        1 => prefix().prop_map(Op::DeletePrefix),
        2 => prefix().prop_map(Op::Count),
        3 => select(&[1u64, 29, 30, 59, 60, 61][..]).prop_map(Op::Advance),
        1 => Just(Op::Purge),
    ]
}

/// Sequences of 1 to `max_len` operations.
pub(super) fn ops(max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), 1..=max_len)
}
