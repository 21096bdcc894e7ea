//! The persistence layer. One implementation serves SQLite and PostgreSQL through sqlx's
//! `Any` driver: queries are written in the SQL both dialects share (`$n` placeholders,
//! `RETURNING`, `ON CONFLICT`), and each backend has its own migrations folder with the same
//! version numbers. Values crossing this boundary are domain types, never raw rows.

mod audit;
pub(crate) mod change_version;
mod limits;
mod login_links;
mod outbox;
mod preferences;
mod push;
mod sessions;
mod throttle;
mod users;
mod visits;
mod webhooks;
mod zoom;
mod zoom_health;

pub use audit::{AuditEntry, AuditQuery, NewAuditEntry};
pub use outbox::{NewMail, OutboxRow, ReminderCandidate, VisitNotice};
pub use preferences::{OwnPreferences, PreferencesRow};
pub use push::VisitParties;
pub use sessions::{DbSessionStore, UserSnapshot, USER_SNAPSHOT};
pub use throttle::{Counted, ThrottleScope};
pub use users::{NewUser, UserRecord, UserUpdate, LAST_ACTIVE_ADMIN};
pub use visits::{AppointmentRow, JobTicket, MeetingRow, NewAppointment, Person, Visibility};
pub use webhooks::{LiveRow, MeetingMatch, NewWebhookEvent, Purged, WebhookEventRow};
pub use zoom::{
    AccountTokenRow, ConnectionRow, NewConnection, OAuthStateRow, SealedValue, ZoomSettingsRow,
};
pub use zoom_health::ZoomHealth;

use crate::server::config::{DatabaseBackend, DatabaseUrl};
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique or check constraint refused the change; carries the constraint's name.
    #[error("constraint {0} violated")]
    Conflict(String),
    /// A stored value no longer parses as its domain type.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    fn from_sqlx(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error {
            if db.is_unique_violation() {
                // SQLite does not report constraint names, so fall back to its message,
                // which names the column ("UNIQUE constraint failed: users.email").
                let name = db
                    .constraint()
                    .map(str::to_owned)
                    .unwrap_or_else(|| db.message().to_owned());
                return StoreError::Conflict(name);
            }
        }
        StoreError::Database(error)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: DatabaseBackend,
    audit: audit::AuditWriter,
    auth: std::sync::Arc<change_version::ChangeVersion>,
    visits: std::sync::Arc<change_version::ChangeVersion>,
}

impl Db {
    /// Connects and brings the schema up to date.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn connect(url: &DatabaseUrl) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        if url.backend() == DatabaseBackend::Sqlite {
            create_sqlite_parent_dir(url.expose());
        }
        let pool = AnyPoolOptions::new()
            .max_connections(match url.backend() {
                // SQLite allows one writer at a time; a small pool avoids lock convoys.
                DatabaseBackend::Sqlite => 4,
                DatabaseBackend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        // WAL lets readers proceed during a write and lets several app
                        // processes share one file; foreign keys are off by default in SQLite.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        // Deleted and rewritten rows are zeroed, so a secret re-sealed under a
                        // new key (or a token revoked) leaves no old copy in free pages.
                        sqlx::query("PRAGMA secure_delete = ON")
                            .execute(&mut *conn)
                            .await?;
                        // 1 MiB of pages per connection instead of 2: four connections' caches
                        // were a seventh of the server's memory under load, and the pages
                        // they drop stay in the operating system's cache of the file.
                        sqlx::query("PRAGMA cache_size = -1024")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url.expose())
            .await?;
        let version = |suffix| match url.backend() {
            DatabaseBackend::Sqlite => std::sync::Arc::new(change_version::ChangeVersion::sqlite(
                sqlite_path(url.expose()),
                suffix,
            )),
            DatabaseBackend::Postgres => std::sync::Arc::new(change_version::ChangeVersion::off()),
        };
        let db = Db {
            audit: audit::AuditWriter::start(pool.clone(), url.backend()),
            auth: version("-auth"),
            visits: version("-visits"),
            pool,
            backend: url.backend(),
        };
        db.migrate().await?;
        Ok(db)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn migrate(&self) -> StoreResult<()> {
        match self.backend {
            DatabaseBackend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            DatabaseBackend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// For `/readyz`: a read of a table. (`SELECT 1` would not do: SQLite answers it without
    /// opening the database file, so an unreadable or overwritten file would look ready.)
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1 FROM users LIMIT 1")
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// SQLite: checkpoints the write-ahead log and truncates it. No-op on PostgreSQL.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn discard_old_pages(&self) -> StoreResult<()> {
        if self.backend == DatabaseBackend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The version of sessions and accounts (`change_version`), `None` when copies of sessions
    /// must not be kept.
    pub(crate) fn auth_version(&self) -> Option<change_version::Version> {
        self.auth.current()
    }

    /// Tells every instance that a session or an account changed, when the returned guard
    /// is dropped: at the end of the write (after its commit), or wherever it is cut off (a
    /// client that goes away drops the request's future, possibly after the commit).
    pub(crate) fn auth_changing(&self) -> change_version::Announce<'_> {
        change_version::Announce(&self.auth)
    }

    /// The version of appointments and their meetings (`change_version`), `None` when
    /// responses built from them must not be kept.
    pub(crate) fn visits_version(&self) -> Option<change_version::Version> {
        self.visits.current()
    }

    /// Tells every instance that an appointment or its meeting changed, when the returned
    /// guard is dropped (as `auth_changing`). Every store method that writes `appointments`
    /// or `meetings` holds one (`every_write_to_visits_moves_their_version` reads the sources).
    pub(crate) fn visits_changing(&self) -> change_version::Announce<'_> {
        change_version::Announce(&self.visits)
    }
}

/// The file of a SQLite URL, `None` for an in-memory database.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| std::path::PathBuf::from(path))
}

fn create_sqlite_parent_dir(url: &str) {
    let Some(path) = sqlite_path(url) else {
        return;
    };
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            let _ = std::fs::create_dir_all(parent);
        }
    }
}

pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    /// Every store source, read as text: a new file here must be added.
    const SOURCES: [(&str, &str); 15] = [
        ("audit.rs", include_str!("audit.rs")),
        ("change_version.rs", include_str!("change_version.rs")),
        ("limits.rs", include_str!("limits.rs")),
        ("login_links.rs", include_str!("login_links.rs")),
        ("mod.rs", include_str!("mod.rs")),
        ("outbox.rs", include_str!("outbox.rs")),
        ("preferences.rs", include_str!("preferences.rs")),
        ("push.rs", include_str!("push.rs")),
        ("sessions.rs", include_str!("sessions.rs")),
        ("throttle.rs", include_str!("throttle.rs")),
        ("users.rs", include_str!("users.rs")),
        ("visits.rs", include_str!("visits.rs")),
        ("webhooks.rs", include_str!("webhooks.rs")),
        ("zoom.rs", include_str!("zoom.rs")),
        ("zoom_health.rs", include_str!("zoom_health.rs")),
    ];

    /// A cached visit page or list is used only while the visits' version holds, so a store
    /// method that changes an appointment or its meeting without moving it would leave every
    /// instance showing the old state (for up to a second). SQL stays in this module, so
    /// reading its sources finds every such write.
    #[test]
    fn every_write_to_visits_moves_their_version() {
        let files = std::fs::read_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/server/persistence"
        ))
        .unwrap()
        .count();
        assert_eq!(files, SOURCES.len(), "add the new store file to SOURCES");
        let writes = ["appointments", "meetings"].into_iter().flat_map(|table| {
            ["INSERT INTO ", "UPDATE ", "DELETE FROM "].map(move |verb| format!("{verb}{table}"))
        });
        let writes: Vec<String> = writes.collect();
        // The table's whole name: followed by a space, `(`, a line break or the string's end,
        // not by more of a longer name.
        let names = |text: &str, write: &str| {
            text.match_indices(write).any(|(at, _)| {
                !text[at + write.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            })
        };
        let mut missing = Vec::new();
        for (file, source) in SOURCES {
            for function in source.split("async fn ").skip(1) {
                let writes_visits = writes.iter().any(|w| names(function, w));
                if writes_visits && !function.contains("let _announce = self.visits_changing();") {
                    let name = function.split('(').next().unwrap_or_default();
                    missing.push(format!("{file}: {name}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "these write visits without moving their version: {missing:?}"
        );
    }
}
