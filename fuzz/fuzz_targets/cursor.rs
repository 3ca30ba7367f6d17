//! List cursors: decoding arbitrary cursors, and paging with cursors the store issued,
//! through the public `list()` API on an in-memory store.
//!
//! Properties: nothing panics; a cursor that was never issued is `InvalidCursor` (or
//! resumes a valid listing, for a forged one that happens to be well formed); paging
//! with issued cursors returns every live key under the prefix exactly once, in byte
//! order, with `list_complete` exactly on the last page; an issued cursor is refused
//! with another prefix or by another store; a corrupted one never panics.

#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use kv_runtime::{Error, KvStore};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    store: String,
    keys: Vec<String>,
    prefix: String,
    limit: u16,
    /// A cursor of the fuzzer's own.
    forged: String,
    /// Where to corrupt an issued cursor, and how.
    flip: (u16, u8),
    other_prefix: String,
}

fn tokio() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

fuzz_target!(|input: Input| tokio().block_on(run(input)));

async fn run(input: Input) {
    let store = KvStore::in_memory(&input.store);
    let mut live: Vec<String> = Vec::new();
    for key in input.keys.iter().take(64) {
        if store.put(key.as_str(), "v").await.is_ok() {
            live.push(key.clone());
        }
    }
    live.sort();
    live.dedup();
    let expected: Vec<&String> = live
        .iter()
        .filter(|k| k.starts_with(&input.prefix))
        .collect();
    let limit = usize::from(input.limit % 8) + 1;

    // An arbitrary cursor: refused, or a page of keys after some key, in order.
    match store
        .list()
        .prefix(input.prefix.as_str())
        .cursor(input.forged.as_str())
        .limit(limit)
        .await
    {
        Ok(page) => check_order(&page.keys, &input.prefix),
        Err(Error::InvalidCursor) => {}
        Err(e) => panic!("a forged cursor gave {e:?}"),
    }

    // Paging with the store's own cursors visits every key once, in order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut issued = Vec::new();
    loop {
        let mut request = store.list().prefix(input.prefix.as_str()).limit(limit);
        if let Some(c) = &cursor {
            request = request.cursor(c.as_str());
        }
        let page = match request.await {
            Ok(page) => page,
            Err(e) => panic!("paging with an issued cursor failed: {e:?}"),
        };
        check_order(&page.keys, &input.prefix);
        assert!(page.keys.len() <= limit);
        seen.extend(page.keys.into_iter().map(|k| k.name));
        assert_eq!(page.list_complete, page.cursor.is_none());
        match page.cursor {
            Some(c) => {
                assert!(seen.len() < expected.len(), "a cursor after the last key");
                issued.push(c.clone());
                cursor = Some(c);
            }
            None => break,
        }
    }
    assert_eq!(
        seen.iter().collect::<Vec<_>>(),
        expected,
        "pages did not return every key once"
    );

    let Some(c) = issued.first() else { return };
    // Bound to its prefix and store.
    if input.other_prefix != input.prefix {
        let other = store
            .list()
            .prefix(input.other_prefix.as_str())
            .cursor(c.as_str())
            .await;
        assert!(
            matches!(other, Err(Error::InvalidCursor)),
            "a cursor for {:?} accepted with prefix {:?}: {other:?}",
            input.prefix,
            input.other_prefix
        );
    }
    let elsewhere = KvStore::in_memory(format!("{}-other", input.store));
    let other = elsewhere
        .list()
        .prefix(input.prefix.as_str())
        .cursor(c.as_str())
        .await;
    assert!(matches!(other, Err(Error::InvalidCursor)), "{other:?}");

    // A corrupted cursor never panics and never yields keys out of order.
    let mut bytes = c.clone().into_bytes();
    let at = usize::from(input.flip.0) % bytes.len();
    bytes[at] ^= input.flip.1.max(1);
    if let Ok(corrupted) = String::from_utf8(bytes) {
        match store
            .list()
            .prefix(input.prefix.as_str())
            .cursor(corrupted.as_str())
            .limit(limit)
            .await
        {
            Ok(page) => check_order(&page.keys, &input.prefix),
            Err(Error::InvalidCursor) => {}
            Err(e) => panic!("a corrupted cursor gave {e:?}"),
        }
    }
}

fn check_order(keys: &[kv_runtime::KeyInfo], prefix: &str) {
    for key in keys {
        assert!(
            key.name.starts_with(prefix),
            "{:?} outside {prefix:?}",
            key.name
        );
    }
    for pair in keys.windows(2) {
        assert!(pair[0].name < pair[1].name, "keys out of order: {pair:?}");
    }
}
