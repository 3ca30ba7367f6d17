//! Parsing `kv.toml`: the runtime's own keys typed and checked with their line, every
//! other key of a store or backend section kept, with its line, for the backend.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::{Config, Durability, StoreConfig};
use crate::backend::Settings;
use crate::backend::settings::{Origin, redact_urls_in};
use crate::error::{Error, Result};
use crate::key::validate_store_name;
use crate::limits::DEFAULT_READ_CACHE_BYTES;

/// A section's keys, each with where it was written.
type Section = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    data_dir: Option<PathBuf>,
    read_cache_size: Option<u64>,
    application: Option<String>,
    /// Moved to `[backends.fjall]`; refused with a message saying so.
    block_cache_size: Option<Spanned<toml::Value>>,
    defaults: Option<Section>,
    #[serde(default)]
    stores: BTreeMap<Spanned<String>, Section>,
    #[serde(default)]
    backends: BTreeMap<Spanned<String>, Section>,
}

struct Parser {
    origin: Arc<Origin>,
    problems: Vec<String>,
}

impl Parser {
    fn at(&self, offset: usize) -> String {
        self.origin.position(offset)
    }

    fn problem(&mut self, offset: usize, section: &str, message: impl std::fmt::Display) {
        let at = self.at(offset);
        self.problems.push(format!("{at}: [{section}] {message}"));
    }

    /// Applies a store section's keys on top of `base`.
    fn store(
        &mut self,
        section_name: &str,
        section: Section,
        base: StoreConfig,
        config: &mut Config,
    ) -> StoreConfig {
        let mut out = base;
        let mut own = Settings::located(section_name.to_owned(), Some(Arc::clone(&self.origin)));
        let mut backend_changed = false;
        for (key, value) in section {
            let offset = value.span().start;
            let key_at = key.span().start;
            let key = key.into_inner();
            let value = value.into_inner();
            match key.as_str() {
                "backend" => match value.as_str() {
                    Some(name) => {
                        backend_changed = name != out.backend;
                        out.backend = name.to_owned();
                        config.backend_at.insert(section_name.to_owned(), key_at);
                    }
                    None => self.problem(
                        offset,
                        section_name,
                        format_args!(
                            "backend: expected a backend name, found {}",
                            value.type_str()
                        ),
                    ),
                },
                "durability" => match value.as_str() {
                    Some("buffered") => out.durability = Durability::Buffered,
                    Some("sync") => out.durability = Durability::Sync,
                    _ => self.problem(
                        offset,
                        section_name,
                        format_args!("durability = {value}: expected \"buffered\" or \"sync\""),
                    ),
                },
                "min_ttl" | "max_value_size" => {
                    let number = value.as_integer().and_then(|i| u64::try_from(i).ok());
                    match number {
                        Some(0) if key == "min_ttl" => self.problem(
                            offset,
                            section_name,
                            "min_ttl = 0: the expiration floor must be at least 1 second",
                        ),
                        Some(0) => self.problem(
                            offset,
                            section_name,
                            "max_value_size = 0: the value size limit must be at least 1 byte",
                        ),
                        Some(n) if key == "min_ttl" => out.min_ttl = n,
                        Some(n) => out.max_value_size = n,
                        None => self.problem(
                            offset,
                            section_name,
                            format_args!(
                                "{key} = {value}: expected a whole number of {}",
                                if key == "min_ttl" { "seconds" } else { "bytes" }
                            ),
                        ),
                    }
                }
                _ => own.insert_located(key, value, key_at..key_at),
            }
        }
        // Settings belong to a backend: a store that changes backend keeps none of
        // the defaults' settings.
        out.settings = if backend_changed {
            own
        } else {
            out.settings.overlaid(&own)
        };
        out
    }
}

pub(super) fn parse(text: &str, path: &Path) -> Result<Config> {
    let error = |message: String| Error::Config {
        path: path.to_path_buf(),
        message,
    };
    let origin = Arc::new(Origin {
        path: path.to_path_buf(),
        text: Arc::from(text),
    });
    // toml's own rendering quotes the offending line, which may hold a password: say
    // where, and the message with any URL's password hidden.
    let file: ConfigFile = toml::from_str(text).map_err(|e| {
        let message = redact_urls_in(e.message().trim_end());
        match e.span() {
            Some(span) => error(format!("{}: {message}", origin.position(span.start))),
            None => error(message),
        }
    })?;
    let mut parser = Parser {
        origin,
        problems: Vec::new(),
    };
    let mut config = Config {
        origin: Some(Arc::clone(&parser.origin)),
        ..Config::default()
    };
    if let Some(moved) = &file.block_cache_size {
        let at = parser.at(moved.span().start);
        parser.problems.push(format!(
            "{at}: block_cache_size is now a setting of the fjall backend: move it to [backends.fjall]"
        ));
    }
    for (name, section) in file.backends {
        let name = name.into_inner();
        let mut settings =
            Settings::located(format!("backends.{name}"), Some(Arc::clone(&parser.origin)));
        for (key, value) in section {
            let at = key.span().start;
            settings.insert_located(key.into_inner(), value.into_inner(), at..at);
        }
        config.backends.insert(name, settings);
    }
    let defaults = match file.defaults {
        Some(section) => parser.store("defaults", section, StoreConfig::default(), &mut config),
        None => StoreConfig::default(),
    };
    let mut stores = BTreeMap::new();
    for (name, section) in file.stores {
        let at = name.span().start;
        let name = name.into_inner();
        if let Err(e) = validate_store_name(&name) {
            let position = parser.at(at);
            parser
                .problems
                .push(format!("{position}: [stores.{name}]: {e}"));
        }
        let section_name = format!("stores.{name}");
        let resolved = parser.store(&section_name, section, defaults.clone(), &mut config);
        stores.insert(name, resolved);
    }
    if !parser.problems.is_empty() {
        // A problem may quote the value it is about: hide any URL's password in it.
        return Err(error(redact_urls_in(&parser.problems.join("\n"))));
    }
    config.data_dir = file.data_dir.unwrap_or_else(|| PathBuf::from(".kv"));
    config.read_cache_size = file.read_cache_size.unwrap_or(DEFAULT_READ_CACHE_BYTES);
    config.application = file.application;
    config.defaults = defaults;
    config.stores = stores;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let config = Config::from_toml(
            "data_dir = \"data\"\n[defaults]\nmin_ttl = 1\n[stores.big]\nmax_value_size = 5\ndurability = \"sync\"\nbackend = \"memory\"\n",
            "kv.toml",
        )
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("data"));
        assert_eq!(config.store("other").min_ttl, 1);
        let big = config.store("big");
        assert_eq!((big.min_ttl, big.max_value_size), (1, 5));
        assert_eq!(big.durability, Durability::Sync);
        assert_eq!(big.backend, "memory");
    }

    #[test]
    fn backend_settings_are_kept_with_their_lines() {
        let config = Config::from_toml(
            "[defaults]\nbackend = \"redis\"\nurl = \"redis://a\"\n[stores.s]\nnamespace = \"x\"\n[stores.t]\nbackend = \"fjall\"\n[backends.fjall]\nblock_cache_size = 5\n",
            "kv.toml",
        )
        .unwrap();
        let s = config.store("s");
        assert_eq!(s.backend, "redis");
        assert_eq!(s.settings.str("url").unwrap(), Some("redis://a"));
        assert_eq!(s.settings.str("namespace").unwrap(), Some("x"));
        assert!(config.store("t").settings.is_empty(), "t changed backend");
        assert_eq!(
            config.backends["fjall"].u64("block_cache_size").unwrap(),
            Some(5)
        );
        let err = s.settings.u64("namespace").unwrap_err().to_string();
        assert_eq!(
            err,
            "kv.toml: line 5, column 1: [stores.s] namespace: expected a non-negative integer, found string \"x\""
        );
    }

    #[test]
    fn unknown_key_names_key_file_and_line() {
        let err = Config::from_toml("min_ttl = 5\n", "conf/kv.toml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("conf/kv.toml: "), "{msg}");
        assert!(msg.contains("line 1") && msg.contains("min_ttl"), "{msg}");
    }

    #[test]
    fn impossible_values_name_line() {
        let err = Config::from_toml("[stores.a]\n\nmin_ttl = 0\n", "kv.toml").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("line 3, column 11") && msg.contains("min_ttl = 0"),
            "{msg}"
        );
        let err = Config::from_toml("[stores.Bad]\n", "kv.toml").unwrap_err();
        assert!(
            err.to_string().contains("invalid store name \"Bad\""),
            "{err}"
        );
        let err = Config::from_toml("[defaults]\ndurability = \"often\"\n", "kv.toml").unwrap_err();
        assert!(
            err.to_string().contains("line 2")
                && err.to_string().contains("\"buffered\" or \"sync\""),
            "{err}"
        );
        let err = Config::from_toml("[defaults]\nmin_ttl = \"60\"\n", "kv.toml").unwrap_err();
        assert!(err.to_string().contains("line 2, column 11"), "{err}");
    }

    #[test]
    fn old_block_cache_size_says_where_it_went() {
        let err = Config::from_toml("block_cache_size = 1024\n", "kv.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "kv.toml: line 1, column 20: block_cache_size is now a setting of the fjall backend: move it to [backends.fjall]"
        );
    }

    #[test]
    fn syntax_errors_never_show_a_password() {
        let text = "[stores.s]\nbackend = \"redis\"\nurl = \"redis://kv:hunter2@127.0.0.1/0\" x\n";
        let err = Config::from_toml(text, "kv.toml").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.starts_with("kv.toml: line 3, column "), "{err}");
    }

    #[test]
    fn type_errors_never_show_a_password() {
        let text = "read_cache_size = \"postgres://kv:hunter2@127.0.0.1/db\"\n";
        let err = Config::from_toml(text, "kv.toml").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.starts_with("kv.toml: line 1, column "), "{err}");
    }

    /// Found by `cargo fuzz run kv_toml`: a URL given to one of the runtime's own keys
    /// (a `url` pasted on the wrong line) was quoted in the error with its password.
    #[test]
    fn problems_never_quote_a_password() {
        for text in [
            "[defaults]\nmin_ttl = \"redis://kv:hunter2@127.0.0.1/0\"\n",
            "[stores.s]\ndurability = \"\"\"x\nredis://kv:hunter2@h\"\"\"\n",
            "[stores.s]\nbackend = [\"postgres://kv:hunter2@h/db\"]\n",
        ] {
            let err = Config::from_toml(text, "kv.toml").unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{err}");
            assert!(err.starts_with("kv.toml: line 2, column "), "{err}");
        }
    }

    /// Found by `cargo fuzz run kv_toml`: a configuration that parses with a URL in a
    /// string no backend reads as one (a backend's name, a backend section's name, the
    /// data directory) printed its password in `Debug`.
    #[test]
    fn debug_never_shows_a_password_in_any_string() {
        let text = "data_dir = \"x://kv:hunter2@h/d\"\n\
                    [defaults]\nbackend = \"://kv:hunter2@h\"\n\
                    [backends.\"z://kv:hunter2@h\"]\nk = 1\n";
        let config = Config::from_toml(text, "kv.toml").unwrap();
        for shown in [format!("{config:?}"), format!("{config:#?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("kv:***@h"), "{shown}");
        }
        let store = format!("{:?}", config.defaults);
        assert!(
            !store.contains("hunter2") && store.contains("://kv:***@h"),
            "{store}"
        );
    }
}
