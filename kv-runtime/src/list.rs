//! [`ListRequest`]: listing keys by prefix, a page at a time.

use std::future::IntoFuture;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::backend::ListQuery;
use crate::cursor;
use crate::error::{Error, Result};
use crate::limits::MAX_LIST_LIMIT;
use crate::store::KvStore;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListResult {
    /// Keys in byte order.
    pub keys: Vec<KeyInfo>,
    /// `true` on the last page.
    pub list_complete: bool,
    /// Where the next page starts; `None` on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A listed key, with its expiration and metadata but not its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// The key.
    pub name: String,
    /// When it expires, in absolute Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<u64>,
    /// Its metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// A listing being described; it runs when awaited. From [`KvStore::list`].
///
/// Keys come in byte order, matched against the prefix literally. Pass the cursor of
/// one page to get the next: it resumes strictly after the last key returned, so keys
/// added behind it are not revisited and keys added ahead of it are.
///
/// # Errors
///
/// [`Error::ListLimit`] for a limit outside 1..=1000; [`Error::InvalidCursor`] for a
/// cursor that was not issued by this store for this prefix; [`Error::Json`] if
/// stored metadata is not JSON; [`Error::Backend`] if storage fails.
#[must_use = "a ListRequest does nothing until it is awaited"]
#[derive(Debug)]
pub struct ListRequest {
    store: KvStore,
    prefix: String,
    limit: usize,
    cursor: Option<String>,
}

impl ListRequest {
    pub(crate) fn new(store: KvStore) -> Self {
        Self {
            store,
            prefix: String::new(),
            limit: MAX_LIST_LIMIT,
            cursor: None,
        }
    }

    /// Only keys that start with `prefix`. Default: all keys.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// At most `limit` keys, 1 to 1000. Default: 1000.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continues after the page that returned `cursor`. The empty string means the start.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into()).filter(|c: &String| !c.is_empty());
        self
    }

    async fn run(self) -> Result<ListResult> {
        let Self {
            store,
            prefix,
            limit,
            cursor,
        } = self;
        if !(1..=MAX_LIST_LIMIT).contains(&limit) {
            return Err(Error::ListLimit {
                limit,
                max: MAX_LIST_LIMIT,
            });
        }
        let start_after = cursor
            .map(|c| cursor::decode(store.name(), &prefix, &c))
            .transpose()?;
        let page = store
            .list_page(ListQuery {
                prefix: prefix.clone(),
                start_after,
                limit,
                now: store.now(),
            })
            .await?;
        let cursor = match page.keys.last() {
            Some(last) if page.more => Some(cursor::encode(store.name(), &prefix, &last.name)),
            _ => None,
        };
        let keys = page
            .keys
            .into_iter()
            .map(|k| {
                Ok(KeyInfo {
                    metadata: k
                        .head
                        .metadata
                        .map(|m| serde_json::from_slice(&m))
                        .transpose()
                        .map_err(Error::Json)?,
                    name: k.name,
                    expiration: k.head.expiration,
                })
            })
            .collect::<Result<_>>()?;
        Ok(ListResult {
            keys,
            list_complete: cursor.is_none(),
            cursor,
        })
    }
}

impl IntoFuture for ListRequest {
    type Output = Result<ListResult>;
    type IntoFuture = BoxFuture<'static, Result<ListResult>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
