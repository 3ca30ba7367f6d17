//! Writes against the store and the model: puts (single, streamed, bulk), deletes,
//! touches, prefix deletes and purges. Each returns what differed, if anything.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::stream;

use super::Case;
use super::ops::{Cond, Item, Pick, TouchTo, Val};
use super::state::{Invalid, MIN_TTL, Model, Rec};
use crate::{Body, BulkPut, Error, PutRequest, Value, Version};

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}
pub(super) use ensure;

fn value(val: Val) -> Value {
    let bytes = val.bytes();
    match val {
        Val::Big(_) => {
            let pieces: Vec<Result<Bytes, Infallible>> = bytes
                .chunks(64 * 1024)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            Body::from_stream(stream::iter(pieces)).into()
        }
        _ => bytes.into(),
    }
}

/// The expiration options of `item` applied to a builder (put or bulk item alike).
macro_rules! with_options {
    ($builder:expr, $item:expr, $model:expr, $version:expr) => {{
        use super::ops::{Expiry, Meta};
        let mut b = $builder;
        b = match $item.ttl {
            Expiry::None => b,
            Expiry::Ttl(secs) => b.expiration_ttl(secs),
            Expiry::At(ahead) => b.expiration($model.now + ahead),
            Expiry::Both { ttl, at } => b.expiration_ttl(ttl).expiration($model.now + at),
        };
        b = match $item.meta {
            Meta::None => b,
            Meta::Null => b.metadata(serde_json::Value::Null),
            meta => b.metadata(meta.json()),
        };
        match ($item.cond, $version) {
            (Cond::IfAbsent, _) => b.if_absent(),
            (Cond::IfVersion(_), Some(v)) => b.if_version(v),
            _ => b,
        }
    }};
}

fn invalid_matches(invalid: Invalid, err: &Error) -> bool {
    match invalid {
        Invalid::TtlTooShort => matches!(err, Error::ExpirationTtlTooShort { .. }),
        Invalid::TooSoon => matches!(err, Error::ExpirationTooSoon { .. }),
    }
}

fn record(item: &Item, expiration: Option<u64>, version: Version) -> Rec {
    Rec {
        value: item.val.bytes(),
        expiration,
        metadata: item.meta.json(),
        version,
    }
}

/// A conflict must name the key's live version (`None` when it has none).
fn check_conflict(m: &Model, key: &str, err: &Error) -> Result<(), String> {
    ensure!(err.is_conflict(), "expected a conflict, got {err:?}");
    let live = m.live(key).map(|r| r.version);
    ensure!(
        err.current_version() == live,
        "the conflict names version {:?}, the live one is {live:?}",
        err.current_version()
    );
    Ok(())
}

pub(super) async fn put(h: &Case, m: &mut Model, item: &Item) -> Result<(), String> {
    let version = m.condition_version(item.key, item.cond);
    let request: PutRequest = h.store.put(item.key, value(item.val));
    let result = with_options!(request, item, m, version).await;
    match (m.expiration(item.ttl), result) {
        (Err(invalid), Err(err)) => {
            ensure!(
                invalid_matches(invalid, &err),
                "expected {invalid:?}, got {err:?}"
            );
            Ok(())
        }
        (Err(invalid), Ok(v)) => Err(format!("expected {invalid:?}, the put wrote {v}")),
        (Ok(expiration), result) => {
            let holds = m.holds(item.key, item.cond, version);
            match result {
                Ok(v) if holds => {
                    m.issue(item.key, v)?;
                    m.set(item.key, record(item, expiration, v));
                    Ok(())
                }
                Ok(v) => Err(format!("expected a conflict, the put wrote {v}")),
                Err(err) if holds => Err(format!("expected success, got {err:?}")),
                Err(err) => check_conflict(m, item.key, &err),
            }
        }
    }
}

pub(super) async fn put_many(
    h: &Case,
    m: &mut Model,
    items: &[Item],
    atomic: bool,
) -> Result<(), String> {
    let versions: Vec<Option<Version>> = items
        .iter()
        .map(|i| m.condition_version(i.key, i.cond))
        .collect();
    let batch: Vec<BulkPut> = items
        .iter()
        .zip(&versions)
        .map(|(item, v)| with_options!(BulkPut::new(item.key, value(item.val)), item, m, *v))
        .collect();
    let result = h.store.put_many(batch).await;
    let invalid = items
        .iter()
        .enumerate()
        .find_map(|(i, item)| m.expiration(item.ttl).err().map(|e| (i, e)));
    // Conditions are checked against the store as it was before the batch.
    let refused = items
        .iter()
        .zip(&versions)
        .position(|(item, v)| !m.holds(item.key, item.cond, *v));
    let conditional = items.iter().any(|i| i.cond != Cond::Always);
    match (invalid, refused, result) {
        (Some((index, why)), _, Err(err)) => {
            let named = matches!(&err, Error::BulkItem { index: i, source, .. }
                if *i == index && invalid_matches(why, source));
            ensure!(
                named,
                "expected item {index} refused as {why:?}, got {err:?}"
            );
            Ok(())
        }
        (Some((index, why)), _, Ok(_)) => Err(format!(
            "expected item {index} refused as {why:?}, the batch was written"
        )),
        // A store whose batches are atomic per shard only may refuse a conditional
        // batch (one that spans shards) outright, writing nothing.
        (None, _, Err(err)) if !atomic && conditional && !err.is_conflict() => Ok(()),
        (None, Some(index), Err(err)) => {
            let named = matches!(&err, Error::BulkItem { index: i, .. } if *i == index);
            ensure!(named, "expected item {index} refused, got {err:?}");
            check_conflict(m, items[index].key, &err)
        }
        (None, Some(index), Ok(_)) => Err(format!(
            "expected item {index} refused (its condition does not hold), the batch was written"
        )),
        (None, None, Err(err)) => Err(format!("expected success, got {err:?}")),
        (None, None, Ok(written)) => {
            ensure!(
                written.len() == items.len(),
                "{} versions for {} items",
                written.len(),
                items.len()
            );
            // The later item of a key wins, and every item of the key gets its version.
            let mut winners = std::collections::BTreeMap::new();
            for (i, item) in items.iter().enumerate() {
                winners.insert(item.key, i);
            }
            for (i, item) in items.iter().enumerate() {
                let w = winners[item.key];
                ensure!(
                    written[i] == written[w],
                    "item {i} ({:?}) got version {}, the item that won the key got {}",
                    item.key,
                    written[i],
                    written[w]
                );
            }
            for (key, w) in winners {
                let expiration = m.expiration(items[w].ttl).unwrap_or_default();
                m.issue(key, written[w])?;
                m.set(key, record(&items[w], expiration, written[w]));
            }
            Ok(())
        }
    }
}

pub(super) async fn delete(
    h: &Case,
    m: &mut Model,
    key: &'static str,
    pick: Option<Pick>,
) -> Result<(), String> {
    let Some(pick) = pick else {
        let result = h.store.delete(key).await;
        ensure!(result.is_ok(), "delete failed: {result:?}");
        m.remove(key);
        return Ok(());
    };
    let version = m.pick(key, pick);
    let result = h.store.delete(key).if_version(version).await;
    let holds = m.live(key).map(|r| r.version) == Some(version);
    match result {
        Ok(()) if holds => {
            m.remove(key);
            Ok(())
        }
        Ok(()) => Err(format!(
            "expected a conflict for version {version}, it deleted"
        )),
        Err(err) if holds => Err(format!("expected the delete, got {err:?}")),
        Err(err) => check_conflict(m, key, &err),
    }
}

pub(super) async fn delete_many(
    h: &Case,
    m: &mut Model,
    keys: &[&'static str],
) -> Result<(), String> {
    let result = h.store.delete_many(keys.iter().copied()).await;
    ensure!(result.is_ok(), "delete_many failed: {result:?}");
    for key in keys {
        m.remove(key);
    }
    Ok(())
}

pub(super) async fn touch(
    h: &Case,
    m: &mut Model,
    key: &'static str,
    to: TouchTo,
) -> Result<(), String> {
    let touch = h.store.touch(key);
    let (request, expiration) = match to {
        TouchTo::Ttl(secs) => (touch.expiration_ttl(secs), Some(m.now + secs)),
        TouchTo::At(ahead) => (touch.expiration(m.now + ahead), Some(m.now + ahead)),
        TouchTo::Persist => (touch.persist(), None),
    };
    let result = request.await;
    if matches!(to, TouchTo::Ttl(secs) if secs < MIN_TTL) {
        ensure!(
            matches!(result, Err(Error::ExpirationTtlTooShort { .. })),
            "expected the TTL refused, got {result:?}"
        );
        return Ok(());
    }
    let live = m.live(key).is_some();
    ensure!(
        matches!(result, Ok(t) if t == live),
        "expected Ok({live}), got {result:?}"
    );
    if live {
        let head = h.store.get_with_metadata(key).head().await;
        let version = head
            .map_err(|e| format!("head after touch: {e:?}"))?
            .version;
        let version = version.ok_or("the touched key has no version")?;
        m.issue(key, version)?;
        if let Some(rec) = m.map.get_mut(key) {
            rec.expiration = expiration;
            rec.version = version;
        }
    }
    Ok(())
}

pub(super) async fn delete_prefix(
    h: &Case,
    m: &mut Model,
    prefix: &'static str,
) -> Result<(), String> {
    let live = m.live_keys(prefix, None);
    let result = h.store.delete_prefix(prefix).await;
    ensure!(
        result.as_ref().ok() == Some(&(live.len() as u64)),
        "expected Ok({}) (live keys {live:?}), got {result:?}",
        live.len()
    );
    for key in live {
        m.remove(key);
    }
    let expired: Vec<&'static str> = m.expired();
    m.maybe_gone
        .extend(expired.into_iter().filter(|k| k.starts_with(prefix)));
    Ok(())
}

pub(super) async fn purge(h: &Case, m: &mut Model) -> Result<(), String> {
    let expired = m.expired();
    let most = expired.len() as u64;
    let least = expired
        .iter()
        .filter(|k| !m.maybe_gone.contains(*k))
        .count() as u64;
    let result = h.store.purge_expired().await;
    ensure!(
        matches!(result, Ok(n) if (least..=most).contains(&n)),
        "expected Ok({least}..={most}) (expired keys {expired:?}, of which a prefix \
         delete may have removed {:?}), got {result:?}",
        m.maybe_gone
    );
    for key in expired {
        m.remove(key);
    }
    Ok(())
}
