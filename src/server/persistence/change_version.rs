//! Whether anything of one kind changed anywhere, for the caches in front of the database:
//! sessions and accounts (`DbSessionStore`'s copies) and visits (`server::response_cache`).
//! Every write of that kind moves its version on, after its commit and before its answer
//! leaves; a copy read under another version is never used. So a change counts on the very
//! next request, on every instance.
//!
//! SQLite instances share a machine (the database is one file), so a version is the length
//! and modification time of a file beside the database (`<database>-auth`,
//! `<database>-visits`) that every change appends a byte to: reading it is one `fstat`, far
//! cheaper than the database round trip it saves. PostgreSQL instances run on several machines and share nothing but the database,
//! so there the caches are off and every request reads the database.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Past this, the file starts again from empty at the next start-up (a byte per change).
const RESTART_AFTER_BYTES: u64 = 1 << 20;

/// A version: the file's length and the time of its last change. The length alone could come
/// round again: after a restart empties the file, a million changes later an instance still
/// running would see a length it kept a copy under. The time of that last append differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Version {
    length: u64,
    modified: Option<std::time::SystemTime>,
}

#[derive(Debug)]
pub(super) struct ChangeVersion {
    source: Source,
    /// Set when a change could not be published: from then on this instance trusts no copy.
    broken: AtomicBool,
}

#[derive(Debug)]
enum Source {
    /// SQLite on disk: the length and modification time of `<database>-auth` (or `-visits`).
    File(File),
    /// An in-memory SQLite database lives in one process.
    Process(AtomicU64),
    /// PostgreSQL (or a file that cannot be opened): no cache.
    Off,
}

impl ChangeVersion {
    pub(super) fn off() -> Self {
        Self::with(Source::Off)
    }

    /// For the SQLite database at `path` (`None` for an in-memory one); the file is the
    /// database's name followed by `suffix`.
    pub(super) fn sqlite(path: Option<PathBuf>, suffix: &str) -> Self {
        let Some(path) = path else {
            return Self::with(Source::Process(AtomicU64::new(0)));
        };
        let mut name = path.into_os_string();
        name.push(suffix);
        let opened = OpenOptions::new().append(true).create(true).open(&name);
        match opened {
            Ok(file) => {
                if file.metadata().is_ok_and(|m| m.len() > RESTART_AFTER_BYTES) {
                    // A shorter file is a different version too: other instances reload.
                    let _ = file.set_len(0);
                }
                Self::with(Source::File(file))
            }
            Err(error) => {
                tracing::warn!(%error, path = ?name, "cache off: cannot open its version file");
                Self::off()
            }
        }
    }

    fn with(source: Source) -> Self {
        Self {
            source,
            broken: AtomicBool::new(false),
        }
    }

    /// The current version, or `None` when cached sessions must not be used.
    pub(super) fn current(&self) -> Option<Version> {
        if self.broken.load(Ordering::Acquire) {
            return None;
        }
        match &self.source {
            Source::File(file) => {
                let metadata = file.metadata().ok()?;
                Some(Version {
                    length: metadata.len(),
                    modified: Some(metadata.modified().ok()?),
                })
            }
            Source::Process(counter) => Some(Version {
                length: counter.load(Ordering::Acquire),
                modified: None,
            }),
            Source::Off => None,
        }
    }

    /// Publishes a change (after it is committed).
    pub(super) fn bump(&self) {
        match &self.source {
            Source::File(file) => {
                // O_APPEND: concurrent appends from several processes each add their byte.
                if let Err(error) = (&*file).write_all(b".") {
                    // Other instances cannot be told; this one stops trusting its copies. The
                    // database is failing its writes too at this point (a full disk).
                    tracing::error!(%error, "cannot publish a change; cache off");
                    self.broken.store(true, Ordering::Release);
                }
            }
            Source::Process(counter) => {
                counter.fetch_add(1, Ordering::AcqRel);
            }
            Source::Off => {}
        }
    }
}

/// Publishes a change when dropped. Held across a write, it announces the change after the
/// commit, and also when the write is cut off after its commit (a dropped future), where a
/// call placed after the commit would never run; an announcement too many only costs a
/// reload.
pub(crate) struct Announce<'a>(pub(super) &'a ChangeVersion);

impl Drop for Announce<'_> {
    fn drop(&mut self) {
        self.0.bump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_moves_the_version_seen_by_another_handle_on_the_same_file() {
        let dir = std::env::temp_dir().join(format!("auth-version-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("app.db");
        let (a, b) = (
            ChangeVersion::sqlite(Some(db.clone()), "-auth"),
            ChangeVersion::sqlite(Some(db), "-auth"),
        );
        let before = b.current().expect("a file-backed version");
        a.bump();
        let after = b.current().unwrap();
        assert_ne!(before, after);
        assert_eq!(a.current(), Some(after));
        b.bump();
        assert_ne!(a.current().unwrap(), after);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_emptied_and_grown_back_to_the_same_length_is_another_version() {
        let dir = std::env::temp_dir().join(format!("aba-version-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("app.db");
        let running = ChangeVersion::sqlite(Some(db.clone()), "-visits");
        for _ in 0..3 {
            running.bump();
        }
        let kept = running.current().unwrap();
        // Another instance starts past the limit and empties the file; later changes bring
        // it back to the length the running instance kept a copy under.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut name = db.into_os_string();
        name.push("-visits");
        OpenOptions::new()
            .append(true)
            .open(&name)
            .unwrap()
            .set_len(0)
            .unwrap();
        for _ in 0..3 {
            running.bump();
        }
        let now = running.current().unwrap();
        assert_eq!(now.length, kept.length);
        assert_ne!(now, kept);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn postgres_never_offers_a_version() {
        let off = ChangeVersion::off();
        off.bump();
        assert_eq!(off.current(), None);
    }

    #[test]
    fn an_in_memory_database_counts_in_the_process() {
        let local = ChangeVersion::sqlite(None, "-auth");
        let before = local.current().unwrap();
        local.bump();
        assert_ne!(local.current().unwrap(), before);
    }
}
