//! [`Settings`]: a backend's own keys from `kv.toml`, with where each was written.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};

/// The keys of a store's section that are the runtime's own; the rest are the backend's.
pub(crate) const STORE_KEYS: [&str; 4] = ["backend", "durability", "min_ttl", "max_value_size"];

/// Where a configuration came from, to point errors at a line.
#[derive(PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) path: PathBuf,
    pub(crate) text: Arc<str>,
}

/// The path and the text's length only: the text may hold a password in a URL.
impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Origin")
            .field("path", &self.path)
            .field("text_len", &self.text.len())
            .finish()
    }
}

impl Origin {
    /// `line L, column C` of a byte offset.
    pub(crate) fn position(&self, offset: usize) -> String {
        let before = self.text.get(..offset).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        format!("line {line}, column {column}")
    }
}

#[derive(Clone, PartialEq)]
struct Entry {
    value: toml::Value,
    /// Where the key was written, and in which section.
    span: Option<Range<usize>>,
    section: Arc<str>,
}

/// The settings a backend reads from `kv.toml`: the keys of a store's section that are
/// not the runtime's own (`url`, `namespace`, ...), or of a `[backends.NAME]` section.
/// Each remembers its line, so that a backend's complaint about one names it:
/// [`Settings::error`].
///
/// `Debug` never shows a password: URLs print without theirs, and values of keys whose
/// name says `password`, `secret` or `token` print as `"***"`.
///
/// # Examples
///
/// ```
/// use kv_runtime::backend::Settings;
///
/// let settings = Settings::new("stores.sessions")
///     .with("url", "redis://:hunter2@127.0.0.1:6379/0")
///     .with("shards", 4);
/// assert_eq!(settings.str("url").unwrap(), Some("redis://:hunter2@127.0.0.1:6379/0"));
/// assert_eq!(settings.u64("shards").unwrap(), Some(4));
/// assert!(!format!("{settings:?}").contains("hunter2"));
/// assert_eq!(
///     settings.str("shards").unwrap_err().to_string(),
///     "[stores.sessions] shards: expected a string, found integer 4"
/// );
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct Settings {
    section: String,
    origin: Option<Arc<Origin>>,
    entries: BTreeMap<String, Entry>,
}

impl Settings {
    /// No settings, for section `section` (as errors name it: `stores.sessions`).
    pub fn new(section: impl Into<String>) -> Self {
        Self {
            section: section.into(),
            origin: None,
            entries: BTreeMap::new(),
        }
    }

    /// Adds `key = value`.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<toml::Value>) -> Self {
        self.set(key, value);
        self
    }

    /// Sets `key = value`.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<toml::Value>) {
        self.entries.insert(
            key.into(),
            Entry {
                value: value.into(),
                span: None,
                section: Arc::from(self.section.as_str()),
            },
        );
    }

    pub(crate) fn located(section: String, origin: Option<Arc<Origin>>) -> Self {
        Self {
            section,
            origin,
            entries: BTreeMap::new(),
        }
    }

    pub(crate) fn insert_located(&mut self, key: String, value: toml::Value, span: Range<usize>) {
        self.entries.insert(
            key,
            Entry {
                value,
                span: Some(span),
                section: Arc::from(self.section.as_str()),
            },
        );
    }

    /// `self` with `over`'s entries on top (a store's section over `[defaults]` or
    /// `[backends.NAME]`); each entry keeps the section it was written in.
    pub(crate) fn overlaid(&self, over: &Settings) -> Settings {
        let mut out = over.clone();
        for (key, entry) in &self.entries {
            out.entries
                .entry(key.clone())
                .or_insert_with(|| entry.clone());
        }
        out
    }

    /// The section these settings come from, e.g. `stores.sessions`.
    pub fn section(&self) -> &str {
        &self.section
    }

    /// Whether there are no settings.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys set, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&toml::Value> {
        self.entries.get(key).map(|e| &e.value)
    }

    /// An [`Error::Config`] about `key`, naming the file, line and section:
    /// `kv.toml: line 7, column 1: [stores.sessions] url: <message>`.
    pub fn error(&self, key: &str, message: impl fmt::Display) -> Error {
        let entry = self.entries.get(key);
        let at = entry
            .and_then(|e| e.span.clone())
            .zip(self.origin.as_ref())
            .map(|(span, origin)| format!("{}: ", origin.position(span.start)))
            .unwrap_or_default();
        let section = entry.map_or(self.section.as_str(), |e| &e.section);
        Error::Config {
            path: self
                .origin
                .as_ref()
                .map(|o| o.path.clone())
                .unwrap_or_default(),
            message: format!("{at}[{section}] {key}: {message}"),
        }
    }

    fn typed<'a, T>(
        &'a self,
        key: &str,
        expected: &str,
        convert: impl FnOnce(&'a toml::Value) -> Option<T>,
    ) -> Result<Option<T>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        convert(value).map(Some).ok_or_else(|| {
            self.error(
                key,
                format_args!("expected {expected}, found {}", describe(key, value)),
            )
        })
    }

    /// `key` as a string.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if it is set to something else.
    pub fn str(&self, key: &str) -> Result<Option<&str>> {
        self.typed(key, "a string", toml::Value::as_str)
    }

    /// `key` as a non-negative integer.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if it is set to something else.
    pub fn u64(&self, key: &str) -> Result<Option<u64>> {
        self.typed(key, "a non-negative integer", |v| {
            v.as_integer().and_then(|i| u64::try_from(i).ok())
        })
    }

    /// `key` as a boolean.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if it is set to something else.
    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        self.typed(key, "true or false", toml::Value::as_bool)
    }

    /// `key` as a list of strings.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if it is set to something else.
    pub fn strings(&self, key: &str) -> Result<Option<Vec<&str>>> {
        self.typed(key, "a list of strings", |v| {
            v.as_array()?.iter().map(toml::Value::as_str).collect()
        })
    }

    /// Refuses any key not in `known` (the settings backend `backend` knows), naming
    /// it and listing the known ones — with, in a store's section, the runtime's own.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for the first unknown key.
    pub fn check_known(&self, backend: &str, known: &[&str]) -> Result<()> {
        let Some(key) = self.keys().find(|k| !known.contains(k)) else {
            return Ok(());
        };
        let list = if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        };
        let in_store = self
            .entries
            .get(key)
            .is_some_and(|e| !e.section.starts_with("backends."));
        let message = if in_store {
            format!(
                "unknown key; a store section knows {}, and backend {backend:?} adds: {list}",
                STORE_KEYS.join(", ")
            )
        } else {
            format!("unknown setting for backend {backend:?}; it knows: {list}")
        };
        Err(self.error(key, message))
    }
}

/// A value for messages: its type and, unless it may be a secret, what it is.
fn describe(key: &str, value: &toml::Value) -> String {
    let shown = redact_value(key, value);
    format!("{} {shown}", value.type_str())
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token"]
        .iter()
        .any(|s| key.contains(s))
}

fn redact_value(key: &str, value: &toml::Value) -> String {
    match value {
        _ if is_secret_key(key) => "\"***\"".to_owned(),
        toml::Value::String(s) => format!("{:?}", redact_url(s)),
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| redact_value(key, v)).collect();
            format!("[{}]", items.join(", "))
        }
        // A table (`pool = { url = "..." }`, or a dotted key) holds secrets like any
        // section: each entry by its own key.
        toml::Value::Table(table) => {
            let entries: Vec<String> = table
                .iter()
                .map(|(k, v)| format!("{k} = {}", redact_value(k, v)))
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
        other => other.to_string(),
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, entry) in &self.entries {
            map.entry(key, &format_args!("{}", redact_value(key, &entry.value)));
        }
        map.finish()
    }
}

/// `url` with the password of its userinfo (`scheme://user:password@host`) replaced
/// by `***`; anything that is not such a URL comes back unchanged. Every `://` in the
/// text starts an authority, so that `a://b://user:password@host` hides it too.
pub(crate) fn redact_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(start) = rest.find("://") {
        let (head, tail) = rest.split_at(start + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', '?', '#']).unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        let userinfo = authority
            .rfind('@')
            .and_then(|at| Some((authority[..at].find(':')?, at)));
        match userinfo {
            Some((colon, at)) => {
                out.push_str(&authority[..colon]);
                out.push_str(":***");
                out.push_str(&authority[at..]);
                rest = &tail[authority_end..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// `text` (an error message) with the password of every URL in it replaced by `***`.
/// A URL ends at whitespace or a quote, which a valid URL never holds unescaped.
pub(crate) fn redact_urls_in(text: &str) -> String {
    if !text.contains("://") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, '"' | '\'' | '`') {
            out.push_str(&redact_url(&token));
            token.clear();
            out.push(c);
        } else {
            token.push(c);
        }
    }
    out.push_str(&redact_url(&token));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        for (url, shown) in [
            ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
            (
                "postgres://u:p%40ss@db/app?x=1",
                "postgres://u:***@db/app?x=1",
            ),
            ("redis://user@h", "redis://user@h"),
            ("redis://h:6379", "redis://h:6379"),
            ("rediss://a:b:c@h/x@y", "rediss://a:***@h/x@y"),
            // Found by `cargo fuzz run kv_toml`: the first `://` did not start the
            // authority, and the password printed.
            ("x://d://kv:pw@h/0", "x://d://kv:***@h/0"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn urls_in_messages_lose_their_passwords() {
        assert_eq!(
            redact_urls_in("invalid type: string \"postgres://kv:pw@db/app\", expected u64"),
            "invalid type: string \"postgres://kv:***@db/app\", expected u64"
        );
        assert_eq!(
            redact_urls_in("a redis://:x@h and `rediss://u:y@h/0`"),
            "a redis://:***@h and `rediss://u:***@h/0`"
        );
        assert_eq!(redact_urls_in("no url: a:b@c"), "no url: a:b@c");
    }

    #[test]
    fn secrets_never_print() {
        let s = Settings::new("stores.x")
            .with("url", "redis://:hunter2@h")
            .with("password", "hunter2")
            .with("cluster", vec!["redis://:hunter2@a", "redis://:hunter2@b"]);
        assert!(!format!("{s:?}").contains("hunter2"), "{s:?}");
        let err = s.u64("password").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        let err = s.u64("cluster").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        let err = s.u64("url").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    /// Found by `cargo fuzz run kv_toml`: a URL inside a table (`pool.url = "..."`, a
    /// dotted key) printed with its password in `Debug` and in type errors.
    #[test]
    fn secrets_in_tables_never_print() {
        let config = crate::Config::from_toml(
            "[stores.s]\npool.url = \"redis://kv:hunter2@h\"\nauth = { token = \"hunter2\" }\n",
            "kv.toml",
        )
        .unwrap();
        let settings = &config.store("s").settings;
        assert!(!format!("{settings:?}").contains("hunter2"), "{settings:?}");
        assert!(!format!("{config:?}").contains("hunter2"), "{config:?}");
        for key in ["pool", "auth"] {
            let err = settings.str(key).unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{err}");
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let s = Settings::new("stores.x").with("urll", "redis://h");
        assert_eq!(
            s.check_known("redis", &["url", "namespace"])
                .unwrap_err()
                .to_string(),
            "[stores.x] urll: unknown key; a store section knows backend, durability, \
             min_ttl, max_value_size, and backend \"redis\" adds: url, namespace"
        );
        let s = Settings::new("backends.redis").with("urll", "redis://h");
        assert_eq!(
            s.check_known("redis", &["url"]).unwrap_err().to_string(),
            "[backends.redis] urll: unknown setting for backend \"redis\"; it knows: url"
        );
        assert!(Settings::new("d").check_known("memory", &[]).is_ok());
    }
}
