//! `kv.toml` parsing, on arbitrary text and on text with a password planted in a
//! store's URL.
//!
//! Properties: nothing panics; an error names the file; a configuration that parses
//! opens as an in-memory runtime whose stores carry the configured limits; a password
//! in a URL never shows in an error message or in `Debug`.

#![no_main]

use arbitrary::Arbitrary;
use kv_runtime::{Config, Runtime};
use libfuzzer_sys::fuzz_target;

/// Never in the dictionary or the corpus, so the fuzzer only finds it where planted.
const SECRET: &str = "Qx7pLantedPw";

#[derive(Arbitrary, Debug)]
enum Input {
    /// Any text.
    Text(String),
    /// `before`, then a store whose URL carries [`SECRET`], then `tail` on the URL's
    /// line and `after` on the next.
    Planted {
        before: String,
        scheme: Scheme,
        key: UrlKey,
        tail: String,
        after: String,
    },
}

#[derive(Arbitrary, Debug)]
enum Scheme {
    Redis,
    Rediss,
    Postgres,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum UrlKey {
    Url,
    Urls,
    Other(String),
}

/// Runs `future` to completion outside any tokio runtime, so that the runtime opened
/// per input starts no purger thread (the memory backend never waits).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

fuzz_target!(|input: Input| match input {
    Input::Text(text) => check(&text, None),
    Input::Planted {
        before,
        scheme,
        key,
        tail,
        after,
    } => {
        let chosen = [&before, &tail, &after]
            .into_iter()
            .chain(match &scheme {
                Scheme::Other(s) => Some(s),
                _ => None,
            })
            .chain(match &key {
                UrlKey::Other(k) => Some(k),
                _ => None,
            });
        if chosen.into_iter().any(|s| s.contains(SECRET)) {
            return; // the fuzzer wrote the secret itself, outside a URL
        }
        let scheme = match scheme {
            Scheme::Redis => "redis".to_owned(),
            Scheme::Rediss => "rediss".to_owned(),
            Scheme::Postgres => "postgres".to_owned(),
            Scheme::Other(s) => s,
        };
        let (key, value) = match key {
            UrlKey::Url => (
                "url".to_owned(),
                format!("\"{scheme}://kv:{SECRET}@127.0.0.1:1/0\""),
            ),
            UrlKey::Urls => (
                "urls".to_owned(),
                format!("[\"{scheme}://:{SECRET}@127.0.0.1:1\"]"),
            ),
            UrlKey::Other(k) => (k, format!("\"{scheme}://kv:{SECRET}@h\"")),
        };
        let text =
            format!("{before}\n[stores.s]\nbackend = \"redis\"\n{key} = {value}{tail}\n{after}");
        check(&text, Some(SECRET));
    }
});

fn check(text: &str, secret: Option<&str>) {
    let hidden = |shown: &str| {
        if let Some(secret) = secret {
            assert!(!shown.contains(secret), "the password shows:\n{shown}");
        }
    };
    let config = match Config::from_toml(text, "conf/kv.toml") {
        Ok(config) => config,
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("conf/kv.toml"), "{message}");
            hidden(&message);
            hidden(&format!("{e:?}"));
            return;
        }
    };
    hidden(&format!("{config:?}"));
    for (name, store) in &config.stores {
        assert!(kv_build::is_valid_name(name), "store {name:?} accepted");
        assert!(store.min_ttl >= 1 && store.max_value_size >= 1);
        for key in store.settings.keys() {
            // What a backend does with a setting it knows: typed reads, errors by line.
            for message in [
                store.settings.str(key).err().map(|e| e.to_string()),
                store.settings.u64(key).err().map(|e| e.to_string()),
                store.settings.bool(key).err().map(|e| e.to_string()),
                store.settings.strings(key).err().map(|e| e.to_string()),
            ]
            .into_iter()
            .flatten()
            {
                hidden(&message);
            }
        }
    }
    let stores: Vec<(String, u64, u64)> = config
        .stores
        .iter()
        .map(|(n, s)| (n.clone(), s.min_ttl, s.max_value_size))
        .collect();
    block_on(async {
        let runtime = match Runtime::builder().config(config).in_memory().open().await {
            Ok(runtime) => runtime,
            Err(e) => {
                hidden(&e.to_string());
                return;
            }
        };
        for (name, min_ttl, max_value_size) in stores {
            let store = runtime.store(&name).expect("a configured store opens");
            assert_eq!(store.config().min_ttl, min_ttl);
            assert_eq!(store.config().max_value_size, max_value_size);
            assert_eq!(store.backend_name(), "memory");
        }
    });
}
