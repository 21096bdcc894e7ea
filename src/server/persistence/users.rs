use super::{now_unix, Db, StoreError, StoreResult};
use crate::domain::{DisplayName, Email, Role, TimeZone};
use crate::server::auth::password::PasswordHash;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: i64,
    pub email: Email,
    pub role: Role,
    pub display_name: Option<DisplayName>,
    pub time_zone: Option<TimeZone>,
    pub active: bool,
    pub session_epoch: i64,
}

pub struct NewUser {
    pub email: Email,
    pub role: Role,
    pub display_name: Option<DisplayName>,
    pub time_zone: Option<TimeZone>,
    pub password_hash: PasswordHash,
}

pub struct UserUpdate {
    pub email: Email,
    pub role: Role,
    pub display_name: Option<DisplayName>,
    pub time_zone: Option<TimeZone>,
    pub active: bool,
}

/// The conflict `update_user` reports when a change would leave no active admin.
pub const LAST_ACTIVE_ADMIN: &str = "last_active_admin";
/// The PostgreSQL advisory lock that serialises changes of who is an admin.
const ADMIN_CHANGES_LOCK: i64 = 0x7465_6c65_6164_6d6e;

pub(super) const USER_COLUMNS: &str =
    "id, email, role, display_name, time_zone, active, session_epoch";

pub(super) fn user_from_row(row: &AnyRow) -> StoreResult<UserRecord> {
    let corrupt =
        |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("users.{what}: {e}"));
    let email: String = row.try_get("email")?;
    let role: String = row.try_get("role")?;
    let display_name: Option<String> = row.try_get("display_name")?;
    let time_zone: Option<String> = row.try_get("time_zone")?;
    let active: i64 = row.try_get("active")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        email: Email::parse(&email).map_err(|e| corrupt("email", &e))?,
        role: Role::parse(&role).map_err(|e| corrupt("role", &e))?,
        display_name: display_name
            .map(|n| DisplayName::parse(&n))
            .transpose()
            .map_err(|e| corrupt("display_name", &e))?,
        time_zone: time_zone
            .map(|z| TimeZone::parse(&z))
            .transpose()
            .map_err(|e| corrupt("time_zone", &e))?,
        active: active != 0,
        session_epoch: row.try_get("session_epoch")?,
    })
}

impl Db {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_user(&self, user: NewUser) -> StoreResult<UserRecord> {
        let now = now_unix();
        let sql = format!(
            "INSERT INTO users (email, role, display_name, time_zone, password_hash, active, \
             session_epoch, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, 0, $6, $6) \
             RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(user.email.as_str())
            .bind(user.role.as_str())
            .bind(user.display_name.as_ref().map(|n| n.as_str().to_owned()))
            .bind(user.time_zone.map(|z| z.name().to_owned()))
            .bind(user.password_hash.as_str().to_owned())
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        user_from_row(&row)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn user_by_id(&self, id: i64) -> StoreResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn user_by_email(&self, email: &Email) -> StoreResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = sqlx::query(&sql)
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The user and their password hash, for checking a login.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn credentials_by_email(
        &self,
        email: &Email,
    ) -> StoreResult<Option<(UserRecord, PasswordHash)>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1");
        let row = sqlx::query(&sql)
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let hash: String = row.try_get("password_hash")?;
                Ok(Some((
                    user_from_row(&row)?,
                    PasswordHash::from_stored(hash),
                )))
            }
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn password_hash_of(&self, id: i64) -> StoreResult<Option<PasswordHash>> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            r.try_get::<String, _>("password_hash")
                .map(PasswordHash::from_stored)
        })
        .transpose()
        .map_err(StoreError::from)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_users(&self) -> StoreResult<Vec<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY role, email");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Returns `None` when no such user exists, and `Conflict("last_active_admin")` when the
    /// change would leave no active admin (nobody could then manage accounts or Zoom).
    ///
    /// The check is part of the write, so two admins demoting each other at the same moment
    /// cannot both succeed: SQLite runs one write at a time, and on PostgreSQL a transaction
    /// lock serialises these updates so each sees the other's committed result.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_user(
        &self,
        id: i64,
        update: UserUpdate,
    ) -> StoreResult<Option<UserRecord>> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.auth_changing();
        let stays_admin = update.role == Role::Admin && update.active;
        let mut tx = self.pool.begin().await?;
        if self.backend == crate::server::config::DatabaseBackend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(ADMIN_CHANGES_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        let sql = format!(
            "UPDATE users SET email = $1, role = $2, display_name = $3, time_zone = $4, \
             active = $5, updated_at = $6 WHERE id = $7 AND ($8 = 1 OR EXISTS (SELECT 1 FROM \
             users AS other WHERE other.role = 'admin' AND other.active = 1 AND other.id <> $7)) \
             RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(update.email.as_str())
            .bind(update.role.as_str())
            .bind(update.display_name.as_ref().map(|n| n.as_str().to_owned()))
            .bind(update.time_zone.map(|z| z.name().to_owned()))
            .bind(i64::from(update.active))
            .bind(now_unix())
            .bind(id)
            .bind(i64::from(stays_admin))
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        let updated = row.as_ref().map(user_from_row).transpose()?;
        if updated.is_none() {
            let exists = sqlx::query("SELECT 1 AS one FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if exists {
                return Err(StoreError::Conflict(LAST_ACTIVE_ADMIN.into()));
            }
        }
        tx.commit().await?;
        Ok(updated)
    }

    /// Stores a new hash and bumps the session epoch so every other session of this user ends.
    /// Returns the new epoch.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_password(&self, id: i64, hash: &PasswordHash) -> StoreResult<Option<i64>> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.auth_changing();
        let row = sqlx::query(
            "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1, \
             updated_at = $2 WHERE id = $3 RETURNING session_epoch",
        )
        .bind(hash.as_str().to_owned())
        .bind(now_unix())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get::<i64, _>("session_epoch"))
            .transpose()
            .map_err(StoreError::from)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_active_admins(&self) -> StoreResult<i64> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND active = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get("n")?)
    }
}

impl From<&UserRecord> for crate::types::Me {
    fn from(user: &UserRecord) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            role: user.role,
            display_name: user.display_name.clone(),
            time_zone: user.time_zone,
        }
    }
}

impl From<UserRecord> for crate::types::UserView {
    fn from(user: UserRecord) -> Self {
        Self {
            id: user.id,
            email: user.email,
            role: user.role,
            display_name: user.display_name,
            time_zone: user.time_zone,
            active: user.active,
        }
    }
}
