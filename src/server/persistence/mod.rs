//! The persistence layer. One implementation serves SQLite and PostgreSQL through sqlx's
//! `Any` driver: queries are written in the SQL both dialects share (`$n` placeholders,
//! `RETURNING`, `ON CONFLICT`), and each backend has its own migrations folder with the same
//! version numbers. Values crossing this boundary are domain types, never raw rows.

mod audit;
mod auth_version;
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
    auth: std::sync::Arc<auth_version::AuthVersion>,
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
                    }
                    Ok(())
                })
            })
            .connect(url.expose())
            .await?;
        let auth = match url.backend() {
            DatabaseBackend::Sqlite => auth_version::AuthVersion::sqlite(sqlite_path(url.expose())),
            DatabaseBackend::Postgres => auth_version::AuthVersion::off(),
        };
        let db = Db {
            audit: audit::AuditWriter::start(pool.clone()),
            auth: std::sync::Arc::new(auth),
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

    /// The version of sessions and accounts (`auth_version`), `None` when copies of sessions
    /// must not be kept.
    pub(crate) fn auth_version(&self) -> Option<u64> {
        self.auth.current()
    }

    /// Tells every instance that a session or an account changed (after the commit).
    pub(crate) fn auth_changed(&self) {
        self.auth.bump();
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
