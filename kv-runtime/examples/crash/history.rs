//! The history of a run of writers, and what a crash may cost ([`Model`]).
//!
//! The history is what the writers reported: for each operation, when it started and,
//! if it returned, when it was acknowledged (positions in one sequence of events, so
//! "A was acknowledged before B started" is a fact, not a guess). Each key is written
//! by one writer, one operation at a time, so each key's history is a sequence.

use std::collections::BTreeMap;

use crate::workload::Op;

/// What a crash may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Model {
    /// Every acknowledged operation took effect; an operation that had started but not
    /// returned took effect wholly or not at all. A process crash (everything handed to
    /// the operating system survives), a power loss with `sync`, a server that was
    /// killed with its writes already durable. This implies `Prefix`: the operations in
    /// flight at a crash all overlap it, so any of them may come last.
    Acknowledged,
    /// A prefix of history took effect: acknowledged operations may be lost, but if an
    /// operation took effect, so did every operation acknowledged before it started, and
    /// each operation wholly or not at all. A power loss with `buffered`.
    Prefix,
}

/// One operation's life, as its writer reported it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) op: Op,
    /// Position of its start in the sequence of events.
    pub(crate) started: u64,
    /// Position of its acknowledgement, if it returned successfully.
    pub(crate) acked: Option<u64>,
    /// The versions its puts returned, in the order of its writes.
    pub(crate) versions: Vec<String>,
}

/// The operations of one run of the writers (between two crashes).
#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    pub(crate) ops: BTreeMap<u64, Recorded>,
    next_event: u64,
}

impl History {
    /// Records that `op` starts; returns nothing, the position is kept.
    pub(crate) fn start(&mut self, op: Op) {
        let started = self.event();
        self.ops.insert(
            op.id,
            Recorded {
                op,
                started,
                acked: None,
                versions: Vec::new(),
            },
        );
    }

    /// Records that operation `id` returned successfully with `versions`.
    pub(crate) fn ack(&mut self, id: u64, versions: Vec<String>) -> Result<(), String> {
        let at = self.event();
        let op = self
            .ops
            .get_mut(&id)
            .ok_or_else(|| format!("operation {id} acknowledged but never started"))?;
        op.acked = Some(at);
        op.versions = versions;
        Ok(())
    }

    fn event(&mut self) -> u64 {
        self.next_event += 1;
        self.next_event
    }
}
