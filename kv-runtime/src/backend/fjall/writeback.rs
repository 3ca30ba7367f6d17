//! Journal writeback: a thread that asks the operating system, every 50 ms, to write
//! the active journal's dirty pages to disk — without holding any of fjall's locks.
//!
//! Why: fjall rotates its journal (64 MiB) when a memtable seals, and the rotation
//! fsyncs the old journal while holding the journal's lock, so every writer waits for
//! that fsync. With buffered durability nothing else syncs the journal, so the fsync
//! has up to 64 MiB to write: 30–40 ms, once a second under 70,000 PUT/s, which was
//! the PUT latency's p99 of `kv serve` (32 ms pinned to one core; 5.5 ms with this). Writing back as we go leaves the rotation little to
//! do. It also shortens how much a power loss can take from buffered stores (about
//! 50 ms of writes instead of up to a journal's worth), at no cost to the write path:
//! `fdatasync` on a file descriptor of our own does not block fjall's appends.
//!
//! The thread runs at a lower priority (nice 10, on Linux): each `fdatasync` costs CPU
//! (the filesystem's writeback work runs in the caller), and at normal priority the
//! scheduler shared the core with the threads serving requests, preempting them
//! about 300 times a second under a PUT load pinned to one core. At nice 10 it gets
//! about a tenth of a busy core, plenty for a sync every 50 ms, and all of an idle one.
//!
//! This relies on fjall keeping its journals as `<data dir>/<number>.jnl`; if it ever
//! does not, the thread finds nothing to sync and the store behaves as before.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the active journal is written back.
const INTERVAL: Duration = Duration::from_millis(50);

/// The writeback thread's nice value (0 is the default, 19 the lowest priority).
#[cfg(target_os = "linux")]
const NICE: i32 = 10;

/// The running writeback thread; stops when dropped.
#[derive(Debug)]
pub(super) struct Writeback {
    stop: Arc<AtomicBool>,
}

impl Drop for Writeback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Writeback {
    /// Starts writing back the journals of the database in `dir`. `None` if the thread
    /// cannot be started (the store then works as without it).
    pub(super) fn start(dir: &Path) -> Option<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let (dir, flag) = (dir.to_path_buf(), Arc::clone(&stop));
        let started = std::thread::Builder::new()
            .name("kv-journal-writeback".into())
            .spawn(move || run(&dir, &flag));
        match started {
            Ok(_) => Some(Self { stop }),
            Err(error) => {
                tracing::warn!(%error, "cannot start the journal writeback thread");
                None
            }
        }
    }
}

fn run(dir: &Path, stop: &AtomicBool) {
    lower_priority();
    let mut active: Option<(PathBuf, File)> = None;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(INTERVAL);
        let Some(newest) = newest_journal(dir) else {
            continue;
        };
        if active.as_ref().is_none_or(|(path, _)| *path != newest) {
            active = File::open(&newest).ok().map(|file| (newest, file));
        }
        if let Some((_, file)) = &active {
            // An error (the file was just rotated away) is retried on the next one.
            let _ = file.sync_data();
        }
    }
}

/// Lowers the calling thread's priority to [`NICE`]: on Linux, `setpriority` with a
/// thread id applies to that thread alone.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), NICE) {
        tracing::debug!(%error, "cannot lower the journal writeback thread's priority");
    }
}

/// The journal with the highest number in `dir`.
fn newest_journal(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let number: u64 = path
                .file_name()?
                .to_str()?
                .strip_suffix(".jnl")?
                .parse()
                .ok()?;
            Some((number, path))
        })
        .max_by_key(|(number, _)| *number)
        .map(|(_, path)| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_newest_journal() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["2.jnl", "10.jnl", "9.jnl", "lock", "x.jnl", "11.jnl.tmp"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        assert_eq!(newest_journal(dir.path()), Some(dir.path().join("10.jnl")));
        assert_eq!(newest_journal(&dir.path().join("missing")), None);
    }
}
