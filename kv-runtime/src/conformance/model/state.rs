//! The reference model: a `BTreeMap` of records with the model's own clock, and the
//! rules of the contract (what is live, what a condition requires, which versions
//! were issued).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use bytes::Bytes;

use super::ops::{Cond, Expiry, Pick};
use crate::Version;

/// The store's expiration floor in the harness (the default `min_ttl`).
pub(super) const MIN_TTL: u64 = 60;

/// What the model holds for a key.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Rec {
    pub(super) value: Bytes,
    pub(super) expiration: Option<u64>,
    pub(super) metadata: Option<serde_json::Value>,
    pub(super) version: Version,
}

/// Why the model expects a write to be refused before it reaches the backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Invalid {
    TtlTooShort,
    TooSoon,
}

/// A listing walk in progress: its prefix, its cursor and the last key it returned.
#[derive(Debug)]
pub(super) struct Walk {
    pub(super) prefix: &'static str,
    pub(super) cursor: String,
    pub(super) after: &'static str,
}

/// The model of one store.
#[derive(Debug)]
pub(super) struct Model {
    /// Records as stored: an expired one stays until purged, deleted or overwritten.
    pub(super) map: BTreeMap<&'static str, Rec>,
    /// The clock, in Unix seconds.
    pub(super) now: u64,
    /// Every version the store issued, in order, and the same as a set.
    issued: Vec<Version>,
    seen: HashSet<Version>,
    /// The last version each key had, live or not.
    last: BTreeMap<&'static str, Version>,
    pub(super) walk: Option<Walk>,
    /// Expired keys that a backend may or may not have removed already (a prefix
    /// delete may take expired keys under its prefix with it): a purge may count them.
    pub(super) maybe_gone: BTreeSet<&'static str>,
}

impl Model {
    pub(super) fn new(now: u64) -> Self {
        Self {
            map: BTreeMap::new(),
            now,
            issued: Vec::new(),
            seen: HashSet::new(),
            last: BTreeMap::new(),
            walk: None,
            maybe_gone: BTreeSet::new(),
        }
    }

    /// Stores `rec` under `key`.
    pub(super) fn set(&mut self, key: &'static str, rec: Rec) {
        self.maybe_gone.remove(key);
        self.map.insert(key, rec);
    }

    /// Removes `key`.
    pub(super) fn remove(&mut self, key: &str) {
        self.maybe_gone.remove(key);
        self.map.remove(key);
    }

    /// The live record under `key`: present and not expired (expiry is inclusive).
    pub(super) fn live(&self, key: &str) -> Option<&Rec> {
        self.map
            .get(key)
            .filter(|r| r.expiration.is_none_or(|at| at > self.now))
    }

    /// The live keys under `prefix`, in byte order, after `after` (exclusive) if given.
    pub(super) fn live_keys(&self, prefix: &str, after: Option<&str>) -> Vec<&'static str> {
        self.map
            .keys()
            .copied()
            .filter(|k| k.starts_with(prefix))
            .filter(|k| after.is_none_or(|a| *k > a))
            .filter(|k| self.live(k).is_some())
            .collect()
    }

    /// Keys stored but expired: what a purge removes.
    pub(super) fn expired(&self) -> Vec<&'static str> {
        self.map
            .keys()
            .copied()
            .filter(|k| self.live(k).is_none())
            .collect()
    }

    /// The absolute expiration a put's options give, or why they are refused.
    pub(super) fn expiration(&self, ttl: Expiry) -> Result<Option<u64>, Invalid> {
        let ttl_at = |secs: u64| {
            if secs < MIN_TTL {
                Err(Invalid::TtlTooShort)
            } else {
                Ok(Some(self.now + secs))
            }
        };
        match ttl {
            Expiry::None => Ok(None),
            Expiry::Ttl(secs) | Expiry::Both { ttl: secs, .. } => ttl_at(secs),
            Expiry::At(ahead) if ahead < MIN_TTL => Err(Invalid::TooSoon),
            Expiry::At(ahead) => Ok(Some(self.now + ahead)),
        }
    }

    /// The version a condition names, resolved against what the store issued.
    pub(super) fn pick(&self, key: &str, pick: Pick) -> Version {
        // A version no backend issued (they count up from small numbers).
        let never = Version::from_u64(u64::MAX - 1);
        match pick {
            Pick::Current => self
                .live(key)
                .map(|r| r.version)
                .or_else(|| self.last.get(key).copied())
                .or_else(|| self.issued.first().copied())
                .unwrap_or(never),
            Pick::Old(_) if self.issued.is_empty() => never,
            Pick::Old(n) => self.issued[usize::from(n) % self.issued.len()],
        }
    }

    /// The version a condition would be given, if it names one.
    pub(super) fn condition_version(&self, key: &str, cond: Cond) -> Option<Version> {
        match cond {
            Cond::IfVersion(pick) => Some(self.pick(key, pick)),
            Cond::Always | Cond::IfAbsent => None,
        }
    }

    /// Whether a write to `key` under `cond` (with `version` resolved) may go ahead.
    pub(super) fn holds(&self, key: &str, cond: Cond, version: Option<Version>) -> bool {
        match cond {
            Cond::Always => true,
            Cond::IfAbsent => self.live(key).is_none(),
            Cond::IfVersion(_) => self.live(key).map(|r| r.version) == version,
        }
    }

    /// Records that the store issued `version` for `key`: it must be new.
    pub(super) fn issue(&mut self, key: &'static str, version: Version) -> Result<(), String> {
        if !self.seen.insert(version) {
            return Err(format!(
                "version {version} for {key:?} was issued before (versions never repeat)"
            ));
        }
        self.issued.push(version);
        self.last.insert(key, version);
        Ok(())
    }
}

/// A short description of a value for failure messages: large values by size and hash.
pub(super) fn show(value: Option<&Bytes>) -> String {
    match value {
        None => "None".to_owned(),
        Some(v) if v.len() <= 40 => format!("{:?}", String::from_utf8_lossy(v)),
        Some(v) => {
            let hash = v.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
            });
            format!("<{} bytes, fnv {hash:016x}>", v.len())
        }
    }
}
