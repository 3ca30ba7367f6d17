//! Group commit for `durability = "sync"`: many writers, few fsyncs.
//!
//! A writer commits its batch to fjall's journal (buffered), takes a ticket, and waits
//! until a sync covers its ticket. One writer at a time leads: it notes the newest
//! ticket issued, fsyncs the journal once, and marks everything up to that ticket
//! durable. Writers that queued meanwhile find themselves covered and return without
//! an fsync of their own, so N concurrent writers cost about two fsyncs, not N.

use std::sync::atomic::{AtomicU64, Ordering};

use fjall::{Database, PersistMode};

use super::blocking;
use crate::error::{Error, Result};

pub(crate) struct GroupSync {
    db: Database,
    /// Tickets issued: one per write committed to the journal.
    written: AtomicU64,
    /// Every ticket up to this one is on disk.
    synced: AtomicU64,
    /// Held by the writer that is fsyncing; the others queue on it, in order.
    leader: tokio::sync::Mutex<()>,
    /// fsyncs done, for tests and diagnostics.
    fsyncs: AtomicU64,
}

impl GroupSync {
    pub(crate) fn new(db: Database) -> Self {
        Self {
            db,
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            leader: tokio::sync::Mutex::new(()),
            fsyncs: AtomicU64::new(0),
        }
    }

    /// Returns once everything committed before this call is on disk.
    pub(crate) async fn sync(&self) -> Result<()> {
        let ticket = self.written.fetch_add(1, Ordering::SeqCst) + 1;
        if self.synced.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let _lead = self.leader.lock().await;
        if self.synced.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let target = self.written.load(Ordering::SeqCst);
        let db = self.db.clone();
        blocking(move || {
            db.persist(PersistMode::SyncAll)
                .map_err(|e| Error::backend("fjall", e))
        })
        .await?;
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.synced.fetch_max(target, Ordering::SeqCst);
        Ok(())
    }

    /// How many fsyncs have run.
    #[cfg(test)]
    pub(crate) fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }
}
