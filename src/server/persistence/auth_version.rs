//! Whether any session or account changed anywhere, for the session cache
//! (`DbSessionStore`). Every write that can end a session or change what a session's user may
//! do (logout, a session saved or deleted, a password change, a deactivation, any edit of an
//! account) moves the version on, after its commit and before its answer leaves; a cached
//! session read under another version is never used. So a change counts on the very next
//! request, on every instance.
//!
//! SQLite instances share a machine (the database is one file), so the version is the length
//! of a file beside the database that every change appends a byte to: reading it is one
//! `fstat`, far cheaper than the database round trip it saves. PostgreSQL instances run on
//! several machines and share nothing but the database, so there the cache is off and every
//! request reads its session (one query).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Past this, the file starts again from empty at the next start-up (a byte per change).
const RESTART_AFTER_BYTES: u64 = 1 << 20;

#[derive(Debug)]
pub(super) struct AuthVersion {
    source: Source,
    /// Set when a change could not be published: from then on this instance trusts no copy.
    broken: AtomicBool,
}

#[derive(Debug)]
enum Source {
    /// SQLite on disk: the length of `<database>-auth`.
    File(File),
    /// An in-memory SQLite database lives in one process.
    Process(AtomicU64),
    /// PostgreSQL (or a file that cannot be opened): no cache.
    Off,
}

impl AuthVersion {
    pub(super) fn off() -> Self {
        Self::with(Source::Off)
    }

    /// For the SQLite database at `path` (`None` for an in-memory one).
    pub(super) fn sqlite(path: Option<PathBuf>) -> Self {
        let Some(path) = path else {
            return Self::with(Source::Process(AtomicU64::new(0)));
        };
        let mut name = path.into_os_string();
        name.push("-auth");
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
                tracing::warn!(%error, path = ?name, "no session cache: cannot open its version file");
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
    pub(super) fn current(&self) -> Option<u64> {
        if self.broken.load(Ordering::Acquire) {
            return None;
        }
        match &self.source {
            Source::File(file) => file.metadata().ok().map(|m| m.len()),
            Source::Process(counter) => Some(counter.load(Ordering::Acquire)),
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
                    tracing::error!(%error, "cannot publish a session change; session cache off");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_moves_the_version_seen_by_another_handle_on_the_same_file() {
        let dir = std::env::temp_dir().join(format!("auth-version-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("app.db");
        let (a, b) = (
            AuthVersion::sqlite(Some(db.clone())),
            AuthVersion::sqlite(Some(db)),
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
    fn postgres_never_offers_a_version() {
        let off = AuthVersion::off();
        off.bump();
        assert_eq!(off.current(), None);
    }

    #[test]
    fn an_in_memory_database_counts_in_the_process() {
        let local = AuthVersion::sqlite(None);
        let before = local.current().unwrap();
        local.bump();
        assert_ne!(local.current().unwrap(), before);
    }
}
