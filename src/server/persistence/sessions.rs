//! tower-sessions' store, kept in our own database so sessions survive restarts and are shared
//! by every app instance. Expired rows are never loaded and are pruned periodically.

use super::{now_unix, Db};
use async_trait::async_trait;
use sqlx::Row;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error as SessionError, Result as SessionResult};
use tower_sessions::SessionStore;

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
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
    serde_json::to_string(&record.data).map_err(|e| SessionError::Encode(e.to_string()))
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
        if result.rows_affected() == 0 {
            tracing::debug!("not saving a session that ended meanwhile");
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn load(&self, id: &Id) -> SessionResult<Option<Record>> {
        let row =
            sqlx::query("SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2")
                .bind(id.to_string())
                .bind(now_unix())
                .fetch_optional(self.db.pool())
                .await
                .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let data: String = row.try_get("data").map_err(backend)?;
        let expires_at: i64 = row.try_get("expires_at").map_err(backend)?;
        let data = serde_json::from_str(&data).map_err(|e| SessionError::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires_at)
            .map_err(|e| SessionError::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete(&self, id: &Id) -> SessionResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(self.db.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }
}
