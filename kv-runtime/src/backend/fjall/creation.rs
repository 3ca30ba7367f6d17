//! A database whose creation a crash interrupted.
//!
//! fjall creates a database in this order: the `lock` file, the `keyspaces` folder, the
//! first journal `0.jnl` (created exclusively, and preallocated), and last the `version`
//! marker, which it fsyncs, then the folders. It decides between creating and
//! recovering by the marker alone. A process killed (or a machine that lost power)
//! after the journal was created and before the marker was written leaves a directory
//! that fjall can never open again: it has no marker, so fjall creates anew, and
//! creating the journal exclusively fails with "File exists" (found by the crash
//! harness, `examples/crash`: a kill within the first milliseconds of a new store).
//!
//! Such a directory holds no data: nothing is written before the marker is durable.
//! So before opening, a directory that has no complete marker and nothing but what the
//! creation makes first (the lock, an empty `keyspaces` folder, `0.jnl`) is cleared of
//! those, under the database's lock, and fjall creates the database as if new.
//! Anything else is left for fjall to judge.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;

use super::NAME;
use crate::error::{Error, Result};

/// fjall's file names (`fjall::file`).
const VERSION_MARKER: &str = "version";
const LOCK_FILE: &str = "lock";
const KEYSPACES_FOLDER: &str = "keyspaces";
const FIRST_JOURNAL: &str = "0.jnl";
/// The marker's header: `FJL` and the format version.
const MARKER_BYTES: u64 = 4;

fn io(error: std::io::Error) -> Error {
    Error::backend(NAME, error)
}

/// Whether `dir` has a complete version marker.
fn created(dir: &Path) -> Result<bool> {
    match std::fs::metadata(dir.join(VERSION_MARKER)) {
        Ok(marker) => Ok(marker.len() >= MARKER_BYTES),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io(e)),
    }
}

/// Whether `dir` holds only what an unfinished creation leaves, and some of it.
fn only_leftovers(dir: &Path) -> Result<bool> {
    let mut any = false;
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        match entry.file_name().to_str() {
            Some(LOCK_FILE) => {}
            Some(VERSION_MARKER | FIRST_JOURNAL) => any = true,
            Some(KEYSPACES_FOLDER) => {
                let mut inside = std::fs::read_dir(entry.path()).map_err(io)?;
                if inside.next().is_some() {
                    return Ok(false);
                }
                any = true;
            }
            _ => return Ok(false),
        }
    }
    Ok(any)
}

/// Clears what an interrupted creation of the database in `dir` left (see the module
/// docs); does nothing to a directory that is missing, empty, or a database.
///
/// # Errors
///
/// [`Error::Locked`] if another process holds the database's lock; [`Error::Backend`]
/// if the directory cannot be read or cleared.
pub(super) fn discard_unfinished(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(e)),
        Ok(_) => {}
    }
    if created(dir)? || !only_leftovers(dir)? {
        return Ok(());
    }
    // Another process may be creating it right now: only the lock holder may clear it.
    let lock: File = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))
        .map_err(io)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Error::Locked {
                path: dir.to_path_buf(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    if created(dir)? || !only_leftovers(dir)? {
        return Ok(());
    }
    tracing::warn!(
        dir = %dir.display(),
        "the creation of this database was interrupted before it held any data; creating it anew"
    );
    for file in [VERSION_MARKER, FIRST_JOURNAL] {
        match std::fs::remove_file(dir.join(file)) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
    }
    match std::fs::remove_dir(dir.join(KEYSPACES_FOLDER)) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::fjall::database::FjallDatabase;
    use crate::backend::fjall::{DEFAULT_MEMTABLE_BYTES, DatabaseSettings};

    const SETTINGS: DatabaseSettings = DatabaseSettings {
        block_cache_bytes: 1 << 20,
        memtable_bytes: DEFAULT_MEMTABLE_BYTES,
    };

    /// What a kill between fjall's journal and its version marker leaves: the lock, an
    /// empty `keyspaces` folder, a preallocated `0.jnl` — and, with `marker`, an empty
    /// version marker (a kill between creating it and writing it).
    fn interrupted_creation(marker: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        File::create(dir.path().join(LOCK_FILE)).unwrap();
        std::fs::create_dir(dir.path().join(KEYSPACES_FOLDER)).unwrap();
        let journal = File::create(dir.path().join(FIRST_JOURNAL)).unwrap();
        journal.set_len(64 << 20).unwrap();
        if marker {
            File::create(dir.path().join(VERSION_MARKER)).unwrap();
        }
        dir
    }

    /// Regression: such a directory failed every open with "File exists".
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_database_whose_creation_was_interrupted_opens_as_new() {
        for marker in [false, true] {
            let dir = interrupted_creation(marker);
            let db = FjallDatabase::open(dir.path(), SETTINGS).await.unwrap();
            let keyspaces = db.keyspaces("s").unwrap();
            keyspaces.data.insert("k", "v").unwrap();
            drop((keyspaces, db));
            let db = FjallDatabase::open(dir.path(), SETTINGS).await.unwrap();
            let keyspaces = db.keyspaces("s").unwrap();
            assert_eq!(keyspaces.data.get("k").unwrap().as_deref(), Some(&b"v"[..]));
        }
    }

    /// Only the lock holder clears it; a directory with anything more is left alone.
    #[test]
    fn a_locked_or_unexpected_directory_is_left_alone() {
        let dir = interrupted_creation(false);
        let holder = File::open(dir.path().join(LOCK_FILE)).unwrap();
        holder.try_lock().unwrap();
        let err = discard_unfinished(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err:?}");
        drop(holder);

        std::fs::write(dir.path().join(KEYSPACES_FOLDER).join("0"), b"").unwrap();
        discard_unfinished(dir.path()).unwrap();
        assert!(dir.path().join(FIRST_JOURNAL).exists());
        std::fs::remove_file(dir.path().join(KEYSPACES_FOLDER).join("0")).unwrap();
        std::fs::write(dir.path().join("1.jnl"), b"").unwrap();
        discard_unfinished(dir.path()).unwrap();
        assert!(dir.path().join(FIRST_JOURNAL).exists());

        let empty = tempfile::tempdir().unwrap();
        discard_unfinished(empty.path()).unwrap();
        discard_unfinished(&empty.path().join("missing")).unwrap();
    }
}
