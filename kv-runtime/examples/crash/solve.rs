//! Which operations took effect: the search for a set of operations that explains
//! what every key holds and that the model (`history::Model`) allows.

use std::collections::{BTreeMap, HashMap};

use crate::history::{History, Recorded};
use crate::workload::Write;

/// A key's state: which operation's value it holds, or `None`.
pub(crate) type State = Option<u64>;

/// Per key: where it started, its operations in order, and what it holds now.
pub(crate) struct KeyHistories {
    keys: BTreeMap<String, KeyHistory>,
}

struct KeyHistory {
    initial: State,
    /// (operation id, the state it leaves the key in).
    ops: Vec<(u64, State)>,
    observed: State,
}

impl KeyHistory {
    /// The state after the first `applied` operations.
    fn state_after(&self, applied: usize) -> State {
        match applied {
            0 => self.initial,
            n => self.ops[n - 1].1,
        }
    }

    fn describe(state: State) -> String {
        match state {
            Some(op) => format!("operation {op}'s value"),
            None => "nothing".to_owned(),
        }
    }
}

impl KeyHistories {
    pub(crate) fn new(
        history: &History,
        before: &BTreeMap<String, State>,
        observed: &BTreeMap<String, State>,
    ) -> Self {
        let mut keys: BTreeMap<String, KeyHistory> = observed
            .iter()
            .map(|(key, state)| {
                let history = KeyHistory {
                    initial: before.get(key).copied().flatten(),
                    ops: Vec::new(),
                    observed: *state,
                };
                (key.clone(), history)
            })
            .collect();
        let mut by_start: Vec<&Recorded> = history.ops.values().collect();
        by_start.sort_by_key(|r| r.started);
        for recorded in by_start {
            for write in &recorded.op.writes {
                let state = match write {
                    Write::Put { .. } => Some(recorded.op.id),
                    Write::Delete { .. } => None,
                };
                if let Some(key) = keys.get_mut(write.key()) {
                    key.ops.push((recorded.op.id, state));
                }
            }
        }
        Self { keys }
    }

    /// `Model::Acknowledged`: tries every choice of which unacknowledged operations
    /// took effect (only those after a key's last acknowledged one matter).
    pub(crate) fn solve_acknowledged(
        &self,
        history: &History,
    ) -> Result<HashMap<u64, bool>, String> {
        let acked = |id: u64| history.ops.get(&id).is_some_and(|r| r.acked.is_some());
        let mut open: Vec<u64> = Vec::new();
        for key in self.keys.values() {
            let last = key.ops.iter().rposition(|(id, _)| acked(*id));
            let after = last.map_or(0, |i| i + 1);
            for (id, _) in &key.ops[after..] {
                if !open.contains(id) {
                    open.push(*id);
                }
            }
        }
        // Each key alone first, for a precise message.
        for (name, key) in &self.keys {
            let last = key.ops.iter().rposition(|(id, _)| acked(*id));
            let allowed: Vec<State> = std::iter::once(key.state_after(last.map_or(0, |i| i + 1)))
                .chain(key.ops[last.map_or(0, |i| i + 1)..].iter().map(|(_, s)| *s))
                .collect();
            if !allowed.contains(&key.observed) {
                let last_acked = last.map(|i| key.ops[i].0);
                let last_acked = match last_acked {
                    Some(id) => format!("operation {id}"),
                    None => "none".to_owned(),
                };
                return Err(format!(
                    "{name:?} holds {}, but its last acknowledged operation is {last_acked}: it can only hold {}",
                    KeyHistory::describe(key.observed),
                    allowed
                        .iter()
                        .map(|s| KeyHistory::describe(*s))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ));
            }
        }
        if open.len() > 20 {
            return Err(format!(
                "{} operations in flight: too many to check",
                open.len()
            ));
        }
        for mask in 0u64..(1 << open.len()) {
            let took = |id: u64| {
                acked(id)
                    || open
                        .iter()
                        .position(|o| *o == id)
                        .is_some_and(|i| mask >> i & 1 == 1)
            };
            let fits = self.keys.values().all(|key| {
                let applied = key.ops.iter().rposition(|(id, _)| took(*id));
                key.state_after(applied.map_or(0, |i| i + 1)) == key.observed
            });
            if fits {
                return Ok(history.ops.keys().map(|id| (*id, took(*id))).collect());
            }
        }
        Err(format!(
            "no choice of the operations in flight {open:?} explains the keys together: an operation took effect on some of its keys only"
        ))
    }

    /// `Model::Prefix`: the least set of operations that explains every key and is
    /// closed under "acknowledged before an applied one started" and "all keys of an
    /// operation or none".
    pub(crate) fn solve_prefix(&self, history: &History) -> Result<HashMap<u64, bool>, String> {
        // Per key, how many of its operations took effect; start at the fewest.
        let mut applied: BTreeMap<&str, usize> = BTreeMap::new();
        for (name, key) in &self.keys {
            let first = (0..=key.ops.len()).find(|n| key.state_after(*n) == key.observed);
            let Some(first) = first else {
                return Err(format!(
                    "{name:?} holds {}, which none of its operations wrote",
                    KeyHistory::describe(key.observed)
                ));
            };
            applied.insert(name, first);
        }
        loop {
            let took = self.took(&applied);
            let horizon = took
                .iter()
                .filter(|(_, t)| **t)
                .filter_map(|(id, _)| history.ops.get(id).map(|r| r.started))
                .max()
                .unwrap_or(0);
            let mut changed = false;
            for (name, key) in &self.keys {
                // Each of this key's operations that must have taken effect: one that
                // took effect on another key, or one acknowledged before the start of
                // an operation that took effect.
                let needed = key
                    .ops
                    .iter()
                    .rposition(|(id, _)| {
                        took.get(id).copied().unwrap_or(false)
                            || history
                                .ops
                                .get(id)
                                .and_then(|r| r.acked)
                                .is_some_and(|at| at < horizon)
                    })
                    .map_or(0, |i| i + 1);
                let now = applied[name.as_str()];
                if needed <= now {
                    continue;
                }
                let next = (needed..=key.ops.len()).find(|n| key.state_after(*n) == key.observed);
                let Some(next) = next else {
                    let (id, _) = key.ops[needed - 1];
                    return Err(format!(
                        "{name:?} holds {}, but operation {id} on it must have taken effect (it was acknowledged before an operation that did started, or took effect on another key)",
                        KeyHistory::describe(key.observed)
                    ));
                };
                applied.insert(name, next);
                changed = true;
            }
            if !changed {
                return Ok(history
                    .ops
                    .keys()
                    .map(|id| (*id, took.get(id).copied().unwrap_or(false)))
                    .collect());
            }
        }
    }

    /// Acknowledged operations that cannot have taken effect on one of their keys: the
    /// key holds a state from before them, whatever else happened.
    pub(crate) fn surely_lost(&self, history: &History) -> Vec<u64> {
        let mut lost = Vec::new();
        for key in self.keys.values() {
            let Some(last) = (0..=key.ops.len())
                .rev()
                .find(|n| key.state_after(*n) == key.observed)
            else {
                continue;
            };
            for (id, _) in &key.ops[last..] {
                let acked = history.ops.get(id).is_some_and(|r| r.acked.is_some());
                if acked && !lost.contains(id) {
                    lost.push(*id);
                }
            }
        }
        lost
    }

    /// Which operations took effect on at least one key, given per-key counts.
    fn took(&self, applied: &BTreeMap<&str, usize>) -> HashMap<u64, bool> {
        let mut took = HashMap::new();
        for (name, key) in &self.keys {
            for (i, (id, _)) in key.ops.iter().enumerate() {
                let here = i < applied[name.as_str()];
                *took.entry(*id).or_insert(false) |= here;
            }
        }
        took
    }
}
