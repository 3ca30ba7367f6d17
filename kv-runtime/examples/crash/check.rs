//! The checker: reads a store back after a crash and decides whether what it holds is
//! a state the history of writes allows.
//!
//! First every value is checked whole: its header names an operation that wrote this
//! key with this length, its bytes are exactly that operation's, its metadata,
//! expiration and version are that operation's too. Then the set of operations that
//! took effect must be one the [`Model`] allows (see `solve.rs`).

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use kv_runtime::{KvStore, Version};

use crate::history::{History, Model};
use crate::solve::{KeyHistories, State};
use crate::workload::{self, Op, Write};

/// What a store holds under one key, read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observed {
    pub(crate) value: Option<Bytes>,
    pub(crate) metadata: Option<serde_json::Value>,
    pub(crate) expiration: Option<u64>,
    pub(crate) version: Option<Version>,
}

/// Reads every key of `keys` (value, metadata, expiration, version), and checks that
/// `list` and `count` agree with the point reads.
pub(crate) async fn observe(
    store: &KvStore,
    keys: &[String],
) -> Result<BTreeMap<String, Observed>, String> {
    let mut out = BTreeMap::new();
    for key in keys {
        let got = store
            .get_with_metadata(key.clone())
            .bytes()
            .await
            .map_err(|e| format!("reading {key:?} failed: {e}"))?;
        out.insert(
            key.clone(),
            Observed {
                value: got.value,
                metadata: got.metadata,
                expiration: got.expiration,
                version: got.version,
            },
        );
    }
    let mut listed = BTreeMap::new();
    let mut cursor = String::new();
    loop {
        let page = store
            .list()
            .cursor(cursor.clone())
            .await
            .map_err(|e| format!("listing failed: {e}"))?;
        for info in page.keys {
            listed.insert(info.name, (info.metadata, info.expiration));
        }
        match page.cursor {
            Some(next) if !page.list_complete => cursor = next,
            _ => break,
        }
    }
    let present: BTreeMap<_, _> = out
        .iter()
        .filter(|(_, o)| o.value.is_some())
        .map(|(k, o)| (k.clone(), (o.metadata.clone(), o.expiration)))
        .collect();
    if listed != present {
        return Err(format!(
            "list disagrees with get: listed {:?}, present {:?}",
            listed.keys().collect::<Vec<_>>(),
            present.keys().collect::<Vec<_>>()
        ));
    }
    let count = store
        .count()
        .await
        .map_err(|e| format!("count failed: {e}"))?;
    if count != present.len() as u64 {
        return Err(format!(
            "count says {count}, {} keys are present",
            present.len()
        ));
    }
    Ok(out)
}

/// What is known across crashes of one store: every operation ever run, the state each
/// key was found in after the last crash, and every version each key was given.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    ops: HashMap<u64, Op>,
    /// Key → the operation whose value it holds (`None`: absent).
    state: BTreeMap<String, Option<u64>>,
    /// Key → version → the operation that got it.
    versions: HashMap<String, HashMap<String, u64>>,
}

/// What one check found, beyond "consistent".
#[derive(Debug, Clone, Default)]
pub(crate) struct Verdict {
    /// Operations acknowledged in the history.
    pub(crate) acked: u64,
    /// Operations started and not acknowledged.
    pub(crate) in_flight: u64,
    /// Of those, how many took effect.
    pub(crate) in_flight_applied: u64,
    /// Acknowledged operations that did not take effect on some key in any
    /// explanation of what the store holds (only possible under [`Model::Prefix`]).
    pub(crate) lost: Vec<u64>,
    /// Keys holding a value, and how many of those are over the chunk size.
    pub(crate) present: u64,
    pub(crate) chunked: u64,
}

impl Ledger {
    /// Checks `observed` against `history` under `model`. On success the observed state
    /// becomes the starting point of the next check.
    pub(crate) fn check(
        &mut self,
        history: &History,
        observed: &BTreeMap<String, Observed>,
        model: Model,
    ) -> Result<Verdict, Vec<String>> {
        for recorded in history.ops.values() {
            self.ops.insert(recorded.op.id, recorded.op.clone());
        }
        let mut problems = Vec::new();
        let mut states = BTreeMap::new();
        for (key, got) in observed {
            match self.identify(history, key, got) {
                Ok(state) => {
                    states.insert(key.clone(), state);
                }
                Err(problem) => problems.push(problem),
            }
        }
        problems.extend(self.check_versions(history));
        if !problems.is_empty() {
            return Err(problems);
        }
        let keys = KeyHistories::new(history, &self.state, &states);
        let applied = match model {
            Model::Acknowledged => keys.solve_acknowledged(history),
            Model::Prefix => keys.solve_prefix(history),
        }
        .map_err(|problem| vec![problem])?;

        let mut verdict = Verdict {
            lost: keys.surely_lost(history),
            ..Verdict::default()
        };
        for recorded in history.ops.values() {
            let took_effect = applied.get(&recorded.op.id).copied().unwrap_or(false);
            match recorded.acked {
                Some(_) => verdict.acked += 1,
                None => {
                    verdict.in_flight += 1;
                    verdict.in_flight_applied += u64::from(took_effect);
                }
            }
        }
        for (key, got) in observed {
            if let Some(value) = &got.value {
                verdict.present += 1;
                verdict.chunked += u64::from(value.len() as u64 > workload::CHUNK_BYTES);
            }
            if let (Some(Some(op)), Some(version)) = (states.get(key), &got.version) {
                self.versions
                    .entry(key.clone())
                    .or_default()
                    .insert(version.to_string(), *op);
            }
        }
        self.state = states;
        Ok(verdict)
    }

    /// Which operation's value `got` is, after checking that it is whole and that its
    /// metadata, expiration and version are that operation's.
    fn identify(&self, history: &History, key: &str, got: &Observed) -> Result<State, String> {
        let Some(value) = &got.value else {
            if got.metadata.is_some() || got.expiration.is_some() || got.version.is_some() {
                return Err(format!("{key:?} is absent but has metadata or expiration"));
            }
            return Ok(None);
        };
        let torn = |what: &str| format!("{key:?} holds a torn or foreign value ({what})");
        let (id, named_key, len) =
            workload::parse_header(value).ok_or_else(|| torn("no header"))?;
        if named_key != key {
            return Err(torn(&format!("it names key {named_key:?}")));
        }
        let op = self
            .ops
            .get(&id)
            .ok_or_else(|| torn(&format!("operation {id} never started")))?;
        let write = op.writes.iter().find(|w| w.key() == key);
        let Some(Write::Put {
            len: written,
            metadata,
            expires,
            ..
        }) = write
        else {
            return Err(torn(&format!("operation {id} wrote no value to it")));
        };
        if *written != len {
            return Err(torn(&format!(
                "length {len}, operation {id} wrote {written}"
            )));
        }
        if *value != workload::value(id, key, len) {
            return Err(torn(&format!(
                "{} bytes, not exactly what operation {id} wrote",
                value.len()
            )));
        }
        let want_metadata = metadata.then(|| workload::metadata_of(id, key));
        if got.metadata != want_metadata {
            return Err(format!(
                "{key:?} has operation {id}'s value but metadata {:?}",
                got.metadata
            ));
        }
        let want_expiration = expires.then(|| workload::expiration_of(id));
        if got.expiration != want_expiration {
            return Err(format!(
                "{key:?} has operation {id}'s value but expiration {:?}, not {want_expiration:?}",
                got.expiration
            ));
        }
        let version = got
            .version
            .as_ref()
            .map(ToString::to_string)
            .ok_or_else(|| format!("{key:?} has a value and no version"))?;
        if let Some(recorded) = history.ops.get(&id).filter(|r| r.acked.is_some()) {
            let index = recorded.op.writes.iter().position(|w| w.key() == key);
            let acked = index.and_then(|i| recorded.versions.get(i));
            if acked != Some(&version) {
                return Err(format!(
                    "{key:?} has operation {id}'s value under version {version}, but the put returned {acked:?}"
                ));
            }
        } else if let Some(other) = self
            .versions
            .get(key)
            .and_then(|seen| seen.get(&version))
            .filter(|other| **other != id)
        {
            return Err(format!(
                "{key:?}: version {version} of operation {id} was already operation {other}'s"
            ));
        }
        Ok(Some(id))
    }

    /// Every acknowledged version is new for its key.
    fn check_versions(&mut self, history: &History) -> Vec<String> {
        let mut problems = Vec::new();
        for recorded in history.ops.values().filter(|r| r.acked.is_some()) {
            let puts = recorded
                .op
                .writes
                .iter()
                .filter(|w| matches!(w, Write::Put { .. }));
            if puts.clone().count() != recorded.versions.len() {
                problems.push(format!(
                    "operation {} returned {} versions for {} puts",
                    recorded.op.id,
                    recorded.versions.len(),
                    puts.count()
                ));
                continue;
            }
            for (write, version) in puts.zip(&recorded.versions) {
                let seen = self.versions.entry(write.key().to_owned()).or_default();
                match seen.insert(version.clone(), recorded.op.id) {
                    Some(other) if other != recorded.op.id => problems.push(format!(
                        "{:?}: version {version} given to operation {} was operation {other}'s",
                        write.key(),
                        recorded.op.id
                    )),
                    _ => {}
                }
            }
        }
        problems
    }
}
