//! Reads against the store and the model: point reads, streams, bulk reads, listing
//! walks with cursors, counts, and the final comparison of everything.

use futures_util::TryStreamExt as _;

use super::Case;
use super::state::{Model, Walk, show};
use super::writes::ensure;
use crate::conformance::CHUNK_BYTES;
use crate::{Bytes, Error, ListResult};

pub(super) async fn get(h: &Case, m: &Model, key: &str) -> Result<(), String> {
    let got = h
        .store
        .get(key)
        .bytes()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let want = m.live(key).map(|r| &r.value);
    ensure!(
        got.as_ref() == want,
        "expected {}, got {}",
        show(want),
        show(got.as_ref())
    );
    Ok(())
}

pub(super) async fn get_with_metadata(h: &Case, m: &Model, key: &str) -> Result<(), String> {
    let got = h
        .store
        .get_with_metadata(key)
        .bytes()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let want = m.live(key);
    ensure!(
        got.value.as_ref() == want.map(|r| &r.value),
        "value: expected {}, got {}",
        show(want.map(|r| &r.value)),
        show(got.value.as_ref())
    );
    let (metadata, expiration, version) = match want {
        Some(r) => (r.metadata.clone(), r.expiration, Some(r.version)),
        None => (None, None, None),
    };
    ensure!(
        got.metadata == metadata,
        "metadata: expected {metadata:?}, got {:?}",
        got.metadata
    );
    ensure!(
        got.expiration == expiration,
        "expiration: expected {expiration:?}, got {:?}",
        got.expiration
    );
    ensure!(
        got.version == version,
        "version: expected {version:?}, got {:?}",
        got.version
    );
    Ok(())
}

pub(super) async fn get_stream(h: &Case, m: &Model, key: &str) -> Result<(), String> {
    let got = h
        .store
        .get(key)
        .stream()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let want = m.live(key).map(|r| &r.value);
    let Some(stream) = got else {
        ensure!(want.is_none(), "expected {}, got no stream", show(want));
        return Ok(());
    };
    let len = stream.len();
    let pieces: Vec<Bytes> = stream.try_collect().await.map_err(|e| format!("{e:?}"))?;
    ensure!(
        pieces.iter().all(|p| p.len() <= CHUNK_BYTES),
        "a piece is over {CHUNK_BYTES} bytes"
    );
    let whole = Bytes::from(pieces.concat());
    ensure!(
        whole.len() as u64 == len,
        "the stream announced {len} bytes and gave {}",
        whole.len()
    );
    ensure!(
        Some(&whole) == want,
        "expected {}, streamed {}",
        show(want),
        show(Some(&whole))
    );
    Ok(())
}

pub(super) async fn get_many(h: &Case, m: &Model, keys: &[&str]) -> Result<(), String> {
    let got = h
        .store
        .get_many(keys.iter().copied())
        .bytes()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let mut distinct: Vec<&str> = keys.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    ensure!(
        got.len() == distinct.len(),
        "{} entries for keys {distinct:?}",
        got.len()
    );
    for key in distinct {
        let want = m.live(key).map(|r| &r.value);
        let value = got.get(key).ok_or_else(|| format!("{key:?} missing"))?;
        ensure!(
            value.as_ref() == want,
            "{key:?}: expected {}, got {}",
            show(want),
            show(value.as_ref())
        );
    }
    Ok(())
}

/// Checks a page against the model's live keys under `prefix` after `after`, and
/// records the walk's next cursor.
fn check_page(
    m: &mut Model,
    page: ListResult,
    prefix: &'static str,
    after: Option<&str>,
    limit: usize,
) -> Result<(), String> {
    let matching = m.live_keys(prefix, after);
    let want: Vec<&'static str> = matching.iter().copied().take(limit).collect();
    let got: Vec<&str> = page.keys.iter().map(|k| k.name.as_str()).collect();
    ensure!(got == want, "keys: expected {want:?}, got {got:?}");
    for info in &page.keys {
        let rec = m.live(&info.name).ok_or("listed key is not live")?;
        ensure!(
            info.expiration == rec.expiration && info.metadata == rec.metadata,
            "{:?} listed with expiration {:?} and metadata {:?}; expected {:?} and {:?}",
            info.name,
            info.expiration,
            info.metadata,
            rec.expiration,
            rec.metadata
        );
    }
    let complete = matching.len() <= limit;
    ensure!(
        page.list_complete == complete,
        "list_complete: expected {complete}, got {}",
        page.list_complete
    );
    ensure!(
        page.cursor.is_none() == complete,
        "cursor: expected {}, got {:?}",
        if complete { "none" } else { "one" },
        page.cursor
    );
    m.walk = match (page.cursor, want.last().copied()) {
        (Some(cursor), Some(last)) => Some(Walk {
            prefix,
            cursor,
            after: last,
        }),
        _ => None,
    };
    Ok(())
}

pub(super) async fn list(
    h: &Case,
    m: &mut Model,
    prefix: &'static str,
    limit: usize,
) -> Result<(), String> {
    let page = h.store.list().prefix(prefix).limit(limit).await;
    let page = page.map_err(|e| format!("{e:?}"))?;
    check_page(m, page, prefix, None, limit)
}

pub(super) async fn list_next(h: &Case, m: &mut Model, limit: usize) -> Result<(), String> {
    let Some(walk) = m.walk.take() else {
        return Ok(());
    };
    let page = h
        .store
        .list()
        .prefix(walk.prefix)
        .limit(limit)
        .cursor(walk.cursor)
        .await
        .map_err(|e| format!("{e:?}"))?;
    check_page(m, page, walk.prefix, Some(walk.after), limit)
}

pub(super) async fn list_next_with_prefix(
    h: &Case,
    m: &mut Model,
    prefix: &'static str,
) -> Result<(), String> {
    let Some(walk) = m.walk.as_ref() else {
        return Ok(());
    };
    let result = h
        .store
        .list()
        .prefix(prefix)
        .cursor(walk.cursor.clone())
        .await;
    if prefix == walk.prefix {
        let page = result.map_err(|e| format!("{e:?}"))?;
        let after = walk.after;
        return check_page(m, page, prefix, Some(after), 1000);
    }
    ensure!(
        matches!(result, Err(Error::InvalidCursor)),
        "a cursor of prefix {:?} used with {prefix:?}: expected InvalidCursor, got {result:?}",
        walk.prefix
    );
    Ok(())
}

pub(super) async fn count(h: &Case, m: &Model, prefix: &str) -> Result<(), String> {
    let want = m.live_keys(prefix, None).len() as u64;
    let got = h.store.count().prefix(prefix).await;
    ensure!(
        got.as_ref().ok() == Some(&want),
        "expected Ok({want}), got {got:?}"
    );
    Ok(())
}

/// Everything the store holds, as a reader sees it, equals the model's live records.
pub(super) async fn everything(h: &Case, m: &Model) -> Result<(), String> {
    let mut listed = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = h.store.list().cursor(cursor.clone()).await;
        let page = page.map_err(|e| format!("{e:?}"))?;
        listed.extend(page.keys);
        match page.cursor {
            Some(next) => cursor = next,
            None => break,
        }
    }
    let got: Vec<&str> = listed.iter().map(|k| k.name.as_str()).collect();
    let want = m.live_keys("", None);
    ensure!(got == want, "live keys: expected {want:?}, got {got:?}");
    for info in &listed {
        let rec = m.live(&info.name).ok_or("listed key is not live")?;
        let value = h.store.get(info.name.clone()).bytes().await;
        let value = value.map_err(|e| format!("{e:?}"))?;
        ensure!(
            value.as_ref() == Some(&rec.value)
                && info.expiration == rec.expiration
                && info.metadata == rec.metadata,
            "{:?} holds {}, expiration {:?}, metadata {:?}; expected {}, {:?}, {:?}",
            info.name,
            show(value.as_ref()),
            info.expiration,
            info.metadata,
            show(Some(&rec.value)),
            rec.expiration,
            rec.metadata
        );
    }
    count(h, m, "").await
}
