//! tower-sessions' store, kept in our own database so sessions survive restarts and are shared
//! by every app instance. Expired rows are never loaded and are pruned periodically.

use super::change_version::Version;
use super::users::{user_from_row, USER_COLUMNS};
use super::{now_unix, Db, UserRecord};
use crate::domain::{DisplayName, Email, Role, TimeZone};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error as SessionError, Result as SessionResult};
use tower_sessions::SessionStore;

/// Where `load` puts the session's user, read in the same query as the session, for
/// `auth::session::current_user`: one round trip per request instead of two, and the same
/// snapshot for every check within the request. Never written to the database.
pub const USER_SNAPSHOT: &str = "__user";

/// The session key holding the user id (see `auth::session`).
const USER_ID: &str = "uid";

/// Remembered owners: at most this many session ids per instance (a few hundred KiB).
const OWNERS_CAPACITY: usize = 10_000;

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
    /// Which user each session belongs to, learnt when it was created or loaded. A session id
    /// never changes its user (login cycles the id), so this needs no invalidation: it only
    /// lets `load` read the user along with the session. Whether the session still exists,
    /// and the user's state (active, password epoch), come from the database every request,
    /// so a logout, password change or deactivation on any instance counts at once.
    owners: Arc<Mutex<HashMap<String, i64>>>,
    /// Sessions as last read, with their user, each under the version of sessions and accounts
    /// it was read at (`Db::auth_version`): used only while that version holds, so any change
    /// on any instance makes every copy stale at once. Empty on PostgreSQL.
    copies: Arc<Mutex<HashMap<String, SessionCopy>>>,
}

#[derive(Debug)]
struct SessionCopy {
    version: Version,
    record: Record,
}

/// Copies kept, at most (about a KiB each).
const COPIES_CAPACITY: usize = 4_096;

/// The user as `load` read it, in the session's data for the length of one request.
#[derive(Serialize, Deserialize)]
pub struct UserSnapshot {
    id: i64,
    email: String,
    role: String,
    display_name: Option<String>,
    time_zone: Option<String>,
    active: bool,
    session_epoch: i64,
}

impl UserSnapshot {
    fn of(user: &UserRecord) -> Self {
        Self {
            id: user.id,
            email: user.email.as_str().to_owned(),
            role: user.role.as_str().to_owned(),
            display_name: user.display_name.as_ref().map(|n| n.as_str().to_owned()),
            time_zone: user.time_zone.map(|z| z.name().to_owned()),
            active: user.active,
            session_epoch: user.session_epoch,
        }
    }

    /// The record, if every field still parses (it came from a row that did).
    pub fn into_record(self) -> Option<UserRecord> {
        Some(UserRecord {
            id: self.id,
            email: Email::parse(&self.email).ok()?,
            role: Role::parse(&self.role).ok()?,
            display_name: match self.display_name {
                Some(n) => Some(DisplayName::parse(&n).ok()?),
                None => None,
            },
            time_zone: match self.time_zone {
                Some(z) => Some(TimeZone::parse(&z).ok()?),
                None => None,
            },
            active: self.active,
            session_epoch: self.session_epoch,
        })
    }
}

fn session_with_user_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let columns: Vec<String> = USER_COLUMNS
            .split(',')
            .map(|c| format!("u.{}", c.trim()))
            .collect();
        format!(
            "SELECT s.data, s.expires_at, {} FROM sessions s JOIN users u ON u.id = $3 \
             WHERE s.id = $1 AND s.expires_at > $2",
            columns.join(", ")
        )
    })
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            owners: Arc::new(Mutex::new(HashMap::new())),
            copies: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn copy_of(&self, id: &str, version: Version) -> Option<Record> {
        let copies = self.copies.lock().unwrap_or_else(|p| p.into_inner());
        let copy = copies.get(id)?;
        (copy.version == version && copy.record.expiry_date > time::OffsetDateTime::now_utc())
            .then(|| copy.record.clone())
    }

    fn keep_copy(&self, id: String, version: Version, record: &Record) {
        let mut copies = self.copies.lock().unwrap_or_else(|p| p.into_inner());
        if copies.len() >= COPIES_CAPACITY && !copies.contains_key(&id) {
            // Stale copies are worthless anyway; dropping them all is simpler than an LRU.
            copies.retain(|_, c| c.version == version);
            if copies.len() >= COPIES_CAPACITY {
                copies.clear();
            }
        }
        copies.insert(
            id,
            SessionCopy {
                version,
                record: record.clone(),
            },
        );
    }

    fn drop_copy(&self, id: &str) {
        self.copies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    fn owner(&self, id: &str) -> Option<i64> {
        self.owners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .copied()
    }

    fn remember_owner(&self, id: String, data: &HashMap<String, serde_json::Value>) {
        let Some(user_id) = data.get(USER_ID).and_then(|v| v.as_i64()) else {
            return;
        };
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        if owners.len() >= OWNERS_CAPACITY && !owners.contains_key(&id) {
            // Forgetting costs one extra query per session, once: simpler than an LRU.
            owners.clear();
        }
        owners.insert(id, user_id);
    }

    fn forget_owner(&self, id: &str) {
        self.owners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_expired(&self) -> Result<u64, sqlx::Error> {
        let result = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_unix())
            .execute(self.db.pool())
            .await?;
        Ok(result.rows_affected())
    }
}

fn backend(error: impl std::fmt::Display) -> SessionError {
    SessionError::Backend(error.to_string())
}

fn encode(record: &Record) -> SessionResult<String> {
    let encoded = if record.data.contains_key(USER_SNAPSHOT) {
        let mut data = record.data.clone();
        data.remove(USER_SNAPSHOT);
        serde_json::to_string(&data)
    } else {
        serde_json::to_string(&record.data)
    };
    encoded.map_err(|e| SessionError::Encode(e.to_string()))
}

fn decode(id: &Id, data: &str, expires_at: i64) -> SessionResult<Record> {
    let mut data: HashMap<String, serde_json::Value> =
        serde_json::from_str(data).map_err(|e| SessionError::Decode(e.to_string()))?;
    // Only `load` may put a snapshot there, fresh.
    data.remove(USER_SNAPSHOT);
    let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires_at)
        .map_err(|e| SessionError::Decode(e.to_string()))?;
    Ok(Record {
        id: *id,
        data,
        expiry_date,
    })
}

#[async_trait]
impl SessionStore for DbSessionStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create(&self, record: &mut Record) -> SessionResult<()> {
        let data = encode(record)?;
        // Ids are 128 random bits, but a collision must never hand one person another's
        // session: insert-only, and draw a new id if the row already exists.
        loop {
            let result = sqlx::query(
                "INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(record.id.to_string())
            .bind(data.clone())
            .bind(record.expiry_date.unix_timestamp())
            .execute(self.db.pool())
            .await
            .map_err(backend)?;
            if result.rows_affected() == 1 {
                self.remember_owner(record.id.to_string(), &record.data);
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    /// Updates a session that still exists, and nothing else. Sessions are only ever born in
    /// `create` (at login, after the id is cycled): a request that loaded a session before
    /// logout (or expiry, or a password change elsewhere) deleted it must not write it back
    /// when it finishes, or the logged-out cookie would work again.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn save(&self, record: &Record) -> SessionResult<()> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.db.auth_changing();
        let result = sqlx::query(
            "UPDATE sessions SET data = $1, expires_at = $2 WHERE id = $3 AND expires_at > $4",
        )
        .bind(encode(record)?)
        .bind(record.expiry_date.unix_timestamp())
        .bind(record.id.to_string())
        .bind(now_unix())
        .execute(self.db.pool())
        .await
        .map_err(backend)?;
        self.drop_copy(&record.id.to_string());
        if result.rows_affected() == 0 {
            tracing::debug!("not saving a session that ended meanwhile");
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn load(&self, id: &Id) -> SessionResult<Option<Record>> {
        let key = id.to_string();
        // Read before the database: a change committed meanwhile moves it, so the copy made
        // below is stale from the start rather than wrongly fresh.
        let version = self.db.auth_version();
        if let Some(version) = version {
            if let Some(record) = self.copy_of(&key, version) {
                return Ok(Some(record));
            }
        }
        let record = self.load_from_database(id, key.clone()).await?;
        if let (Some(version), Some(record)) = (version, &record) {
            self.keep_copy(key, version, record);
        }
        Ok(record)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete(&self, id: &Id) -> SessionResult<()> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.db.auth_changing();
        let key = id.to_string();
        self.forget_owner(&key);
        self.drop_copy(&key);
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(key)
            .execute(self.db.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl DbSessionStore {
    /// The session with its user, in one query when the owner is known.
    async fn load_from_database(&self, id: &Id, key: String) -> SessionResult<Option<Record>> {
        if let Some(user_id) = self.owner(&key) {
            let row = sqlx::query(session_with_user_sql())
                .bind(&key)
                .bind(now_unix())
                .bind(user_id)
                .fetch_optional(self.db.pool())
                .await
                .map_err(backend)?;
            // No row: the session ended or its user is gone; the plain read below says which.
            if let Some(row) = row {
                let data: String = row.try_get("data").map_err(backend)?;
                let expires_at: i64 = row.try_get("expires_at").map_err(backend)?;
                let mut record = decode(id, &data, expires_at)?;
                let owned = record.data.get(USER_ID).and_then(|v| v.as_i64()) == Some(user_id);
                if owned {
                    if let Ok(user) = user_from_row(&row) {
                        if let Ok(snapshot) = serde_json::to_value(UserSnapshot::of(&user)) {
                            record.data.insert(USER_SNAPSHOT.to_owned(), snapshot);
                        }
                    }
                }
                return Ok(Some(record));
            }
        }
        let row =
            sqlx::query("SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2")
                .bind(&key)
                .bind(now_unix())
                .fetch_optional(self.db.pool())
                .await
                .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let data: String = row.try_get("data").map_err(backend)?;
        let expires_at: i64 = row.try_get("expires_at").map_err(backend)?;
        let record = decode(id, &data, expires_at)?;
        self.remember_owner(key, &record.data);
        Ok(Some(record))
    }
}
