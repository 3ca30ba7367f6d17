//! The default implementations of [`Backend`]'s optional methods, on its required ones.

use futures_util::future::{BoxFuture, FutureExt as _};

use super::{Backend, ListQuery, RecordHead};
use crate::error::Result;
use crate::limits::MAX_LIST_LIMIT;

pub(super) fn head<'a, B: Backend + ?Sized>(
    backend: &'a B,
    key: &'a str,
) -> BoxFuture<'a, Result<Option<RecordHead>>> {
    async move { Ok(backend.get(key).await?.map(|record| record.head)) }.boxed()
}

/// Pages through the prefix, a page of keys in memory at a time.
pub(super) fn count<'a, B: Backend + ?Sized>(
    backend: &'a B,
    prefix: &'a str,
    now: u64,
) -> BoxFuture<'a, Result<u64>> {
    async move {
        let mut count = 0;
        let mut after = None;
        loop {
            let query = ListQuery::new(prefix, MAX_LIST_LIMIT, now).after(after.take());
            let page = backend.list(query).await?;
            count += page.keys.len() as u64;
            match page.keys.into_iter().next_back() {
                Some(last) if page.more => after = Some(last.name),
                _ => return Ok(count),
            }
        }
    }
    .boxed()
}

/// Lists a page, deletes it as one bulk delete, and goes on after its last key: keys
/// written behind the walk survive, and no step holds more than a page.
pub(super) fn delete_prefix<'a, B: Backend + ?Sized>(
    backend: &'a B,
    prefix: &'a str,
    now: u64,
) -> BoxFuture<'a, Result<u64>> {
    async move {
        let mut removed = 0;
        let mut after = None;
        loop {
            let query = ListQuery::new(prefix, MAX_LIST_LIMIT, now).after(after.take());
            let page = backend.list(query).await?;
            let more = page.more;
            let keys: Vec<String> = page.keys.into_iter().map(|k| k.name).collect();
            let last = keys.last().cloned();
            if !keys.is_empty() {
                removed += backend.delete_many(keys, now).await?;
            }
            match last {
                Some(last) if more => after = Some(last),
                _ => return Ok(removed),
            }
        }
    }
    .boxed()
}
