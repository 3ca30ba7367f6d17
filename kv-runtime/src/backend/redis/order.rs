//! [`Sequencer`]: puts the changes the watch task receives in an order watchers can
//! rely on, from the numbers every change carries.
//!
//! Per shard, changes arrive in the order applied; the sequencer drops what it already
//! passed on (or what was published before the subscription), and reports a gap in a
//! shard's numbers as [`Change::Lagged`]. Across shards — which a cluster serves from
//! several nodes, each forwarding its own changes over its own link — a change waits
//! until every change of another shard its writer had seen (its `deps`) went by. A
//! change waits at most `max_wait`; a dependency still missing then counts as lost.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::messages::Published;
use crate::change::Change;

struct Held {
    message: Published,
    since: Instant,
}

/// The order of one subscription's changes.
#[derive(Default)]
pub(super) struct Sequencer {
    /// Per shard, the number of the last change passed on (or given up on).
    last: Vec<u64>,
    /// Per shard, changes received but waiting for their dependencies, in order.
    held: Vec<VecDeque<Held>>,
}

impl Sequencer {
    /// Starts over from the shards' counters, read after subscribing: changes up to
    /// them are not passed on. Returns whether changes were missed since the previous
    /// start (the counters moved past what was passed on).
    pub(super) fn restart(&mut self, counters: Vec<u64>) -> bool {
        let missed = !self.last.is_empty()
            && counters
                .iter()
                .zip(&self.last)
                .any(|(now, last)| now > last);
        self.held = counters.iter().map(|_| VecDeque::new()).collect();
        self.last = counters;
        missed
    }

    /// Whether every change numbered up to `after` (per shard) went by.
    pub(super) fn caught_up(&self, after: &[u64]) -> bool {
        !self.last.is_empty()
            && after
                .iter()
                .zip(&self.last)
                .all(|(after, last)| last >= after)
    }

    /// Whether changes are waiting for their dependencies.
    pub(super) fn holding(&self) -> bool {
        self.held.iter().any(|queue| !queue.is_empty())
    }

    /// Takes `message`; appends to `out` what can be passed on now.
    pub(super) fn push(&mut self, message: Published, out: &mut Vec<Change>) {
        let shard = usize::from(message.shard);
        let (Some(last), Some(queue)) = (self.last.get(shard), self.held.get_mut(shard)) else {
            return;
        };
        let newest = queue.back().map_or(*last, |held| held.message.number);
        if message.number <= newest {
            return; // published before the start, or a duplicate
        }
        queue.push_back(Held {
            message,
            since: Instant::now(),
        });
        self.drain(out);
    }

    /// Gives up on the dependencies of changes held longer than `max_wait`: reports
    /// them lost and passes the changes on.
    pub(super) fn release(&mut self, max_wait: Duration, out: &mut Vec<Change>) {
        let mut lost = false;
        for shard in 0..self.held.len() {
            let Some(head) = self.held[shard].front() else {
                continue;
            };
            if head.since.elapsed() < max_wait {
                continue;
            }
            if let Some(deps) = &head.message.deps {
                for (other, &number) in deps.iter().enumerate() {
                    if let Some(last) = self.last.get_mut(other)
                        && other != shard
                        && *last < number
                    {
                        *last = number;
                        lost = true;
                    }
                }
            }
        }
        if lost {
            out.push(Change::lagged(None));
            self.drain(out);
        }
    }

    /// Passes on every held change whose dependencies went by, until none is left.
    fn drain(&mut self, out: &mut Vec<Change>) {
        loop {
            let mut progressed = false;
            for shard in 0..self.held.len() {
                while let Some(head) = self.held[shard].front() {
                    if !self.ready(shard, &head.message) {
                        break;
                    }
                    let Some(head) = self.held[shard].pop_front() else {
                        break;
                    };
                    if head.message.number > self.last[shard] + 1 {
                        out.push(Change::lagged(None)); // a gap in the shard's numbers
                    }
                    self.last[shard] = head.message.number;
                    out.push(head.message.change);
                    progressed = true;
                }
            }
            if !progressed {
                return;
            }
        }
    }

    /// Whether every change of another shard that `message` depends on went by.
    fn ready(&self, shard: usize, message: &Published) -> bool {
        message.deps.as_ref().is_none_or(|deps| {
            deps.iter().enumerate().all(|(other, &number)| {
                other == shard || self.last.get(other).is_none_or(|&last| last >= number)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(shard: u16, number: u64, deps: Option<Vec<u64>>, key: &str) -> Published {
        let version = crate::version::Version::from_u64(number * 1024 + u64::from(shard));
        Published {
            shard,
            number,
            deps,
            change: Change::put(key, version, None),
        }
    }

    fn keys(out: &[Change]) -> Vec<&str> {
        out.iter().map(|c| c.key().unwrap_or("LAGGED")).collect()
    }

    #[test]
    fn changes_wait_for_what_their_writer_had_seen() {
        let mut s = Sequencer::default();
        assert!(!s.restart(vec![0, 0]));
        let mut out = Vec::new();
        // "after" (shard 1) was written once "k" (shard 0, change 2) was applied, but
        // arrives first.
        s.push(put(1, 1, Some(vec![2, 0]), "after"), &mut out);
        assert!(out.is_empty() && s.holding());
        s.push(put(0, 1, Some(vec![0, 0]), "k"), &mut out);
        s.push(put(0, 2, Some(vec![1, 0]), "k"), &mut out);
        assert_eq!(keys(&out), ["k", "k", "after"]);
        assert!(!s.holding());
        assert!(s.caught_up(&[2, 1]) && !s.caught_up(&[3, 1]));
    }

    #[test]
    fn old_duplicate_and_missing_changes() {
        let mut s = Sequencer::default();
        s.restart(vec![5]);
        let mut out = Vec::new();
        s.push(put(0, 5, None, "before the start"), &mut out);
        s.push(put(0, 6, None, "a"), &mut out);
        s.push(put(0, 6, None, "a again"), &mut out);
        s.push(put(0, 8, None, "after a gap"), &mut out);
        assert_eq!(keys(&out), ["a", "LAGGED", "after a gap"]);
        assert!(s.restart(vec![9]), "change 9 was missed");
        assert!(!s.restart(vec![9]));
    }

    #[test]
    fn a_dependency_that_never_comes_is_given_up_on() {
        let mut s = Sequencer::default();
        s.restart(vec![0, 0]);
        let mut out = Vec::new();
        s.push(put(1, 1, Some(vec![4, 0]), "b"), &mut out);
        s.release(Duration::from_secs(60), &mut out);
        assert!(out.is_empty());
        s.release(Duration::ZERO, &mut out);
        assert_eq!(keys(&out), ["LAGGED", "b"]);
        s.push(put(0, 3, None, "late"), &mut out);
        assert_eq!(
            keys(&out),
            ["LAGGED", "b"],
            "what was given up on stays dropped"
        );
    }
}
