//! Zoom credentials, grants and tokens. Every secret crosses this boundary sealed (see
//! `server::crypto`); this module never sees plaintext.

use super::{now_unix, Db, StoreError, StoreResult};
use crate::domain::ZoomConnectionMode;
use crate::server::crypto::Purpose;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct ZoomSettingsRow {
    pub mode: ZoomConnectionMode,
    pub client_id: String,
    pub client_secret_enc: String,
    pub account_id: Option<String>,
    pub secret_set_at: i64,
}

#[derive(Debug, Clone)]
pub struct ConnectionRow {
    pub user_id: i64,
    pub zoom_user_id: String,
    pub zoom_email: String,
    pub access_token_enc: String,
    pub refresh_token_enc: String,
    pub access_expires_at: i64,
    pub scope: String,
    pub reconnect_needed: bool,
    pub status_reason: Option<String>,
    pub version: i64,
    pub refresh_lease_until: i64,
    pub connected_at: i64,
    /// The fingerprint of the Zoom app settings the tokens came from (`None`: stored before
    /// fingerprints existed).
    pub settings_fp: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AccountTokenRow {
    pub access_token_enc: Option<String>,
    pub scope: Option<String>,
    pub expires_at: i64,
    pub version: i64,
    pub lease_until: i64,
    /// The fingerprint of the Zoom app settings the token came from.
    pub settings_fp: Option<String>,
}

pub struct NewConnection<'a> {
    pub user_id: i64,
    pub zoom_user_id: &'a str,
    pub zoom_email: &'a str,
    pub access_token_enc: String,
    pub refresh_token_enc: String,
    pub access_expires_at: i64,
    pub scope: &'a str,
    /// See `ConnectionRow::settings_fp`.
    pub settings_fp: Option<&'a str>,
}

pub struct OAuthStateRow {
    pub user_id: i64,
    pub session_tag: String,
    pub verifier_enc: String,
    pub expires_at: i64,
}

/// Unused OAuth states kept per doctor; older ones are dropped when a new one is made.
pub const MAX_LIVE_OAUTH_STATES: i64 = 5;

const CONNECTION_COLUMNS: &str =
    "user_id, zoom_user_id, zoom_email, access_token_enc, refresh_token_enc, \
     access_expires_at, scope, status, status_reason, version, refresh_lease_until, connected_at, settings_fp";

fn connection_from_row(row: &sqlx::any::AnyRow) -> StoreResult<ConnectionRow> {
    let status: String = row.try_get("status")?;
    Ok(ConnectionRow {
        user_id: row.try_get("user_id")?,
        zoom_user_id: row.try_get("zoom_user_id")?,
        zoom_email: row.try_get("zoom_email")?,
        access_token_enc: row.try_get("access_token_enc")?,
        refresh_token_enc: row.try_get("refresh_token_enc")?,
        access_expires_at: row.try_get("access_expires_at")?,
        scope: row.try_get("scope")?,
        reconnect_needed: status == "reconnect_needed",
        status_reason: row.try_get("status_reason")?,
        version: row.try_get("version")?,
        refresh_lease_until: row.try_get("refresh_lease_until")?,
        connected_at: row.try_get("connected_at")?,
        settings_fp: row.try_get("settings_fp")?,
    })
}

impl Db {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn zoom_settings(&self) -> StoreResult<Option<ZoomSettingsRow>> {
        let row = sqlx::query(
            "SELECT mode, client_id, client_secret_enc, account_id, secret_set_at FROM zoom_settings WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let mode: String = row.try_get("mode")?;
            Ok(ZoomSettingsRow {
                mode: ZoomConnectionMode::parse(&mode)
                    .ok()
                    .ok_or_else(|| StoreError::Corrupt(format!("zoom_settings.mode {mode}")))?,
                client_id: row.try_get("client_id")?,
                client_secret_enc: row.try_get("client_secret_enc")?,
                account_id: row.try_get("account_id")?,
                secret_set_at: row.try_get("secret_set_at")?,
            })
        })
        .transpose()
    }

    /// Saves the settings; `secret_enc: None` keeps the stored secret. Any change also drops
    /// the cached account token, which belonged to the old credentials.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn save_zoom_settings(
        &self,
        mode: ZoomConnectionMode,
        client_id: &str,
        secret_enc: Option<String>,
        account_id: Option<&str>,
        by: Option<i64>,
    ) -> StoreResult<()> {
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        match secret_enc {
            Some(secret) => {
                sqlx::query(
                    "INSERT INTO zoom_settings (id, mode, client_id, client_secret_enc, account_id, secret_set_at, updated_at, updated_by) \
                     VALUES (1, $1, $2, $3, $4, $5, $5, $6) ON CONFLICT (id) DO UPDATE SET mode = excluded.mode, \
                     client_id = excluded.client_id, client_secret_enc = excluded.client_secret_enc, \
                     account_id = excluded.account_id, secret_set_at = excluded.secret_set_at, \
                     updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                )
                .bind(mode.as_str())
                .bind(client_id.to_owned())
                .bind(secret)
                .bind(account_id.map(str::to_owned))
                .bind(now)
                .bind(by)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                let updated = sqlx::query(
                    "UPDATE zoom_settings SET mode = $1, client_id = $2, account_id = $3, updated_at = $4, updated_by = $5 WHERE id = 1",
                )
                .bind(mode.as_str())
                .bind(client_id.to_owned())
                .bind(account_id.map(str::to_owned))
                .bind(now)
                .bind(by)
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() == 0 {
                    return Err(StoreError::Conflict("zoom_settings_secret_required".into()));
                }
            }
        }
        sqlx::query("DELETE FROM zoom_account_token")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn zoom_connection(&self, user_id: i64) -> StoreResult<Option<ConnectionRow>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM zoom_connections WHERE user_id = $1");
        let row = sqlx::query(&sql)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn zoom_connections(&self) -> StoreResult<Vec<ConnectionRow>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM zoom_connections");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(connection_from_row).collect()
    }

    /// A new grant (connect or reconnect) replaces the old one and moves the version on, so a
    /// refresh still running for the old grant cannot overwrite it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn upsert_zoom_connection(&self, new: NewConnection<'_>) -> StoreResult<()> {
        let now = now_unix();
        sqlx::query(
            "INSERT INTO zoom_connections (user_id, zoom_user_id, zoom_email, access_token_enc, refresh_token_enc, \
             access_expires_at, scope, status, status_reason, version, refresh_lease_until, connected_at, updated_at, settings_fp) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'connected', NULL, 1, 0, $8, $8, $9) \
             ON CONFLICT (user_id) DO UPDATE SET zoom_user_id = excluded.zoom_user_id, zoom_email = excluded.zoom_email, \
             access_token_enc = excluded.access_token_enc, refresh_token_enc = excluded.refresh_token_enc, \
             access_expires_at = excluded.access_expires_at, scope = excluded.scope, status = 'connected', \
             status_reason = NULL, version = zoom_connections.version + 1, refresh_lease_until = 0, \
             connected_at = excluded.connected_at, updated_at = excluded.updated_at, \
             settings_fp = excluded.settings_fp",
        )
        .bind(new.user_id)
        .bind(new.zoom_user_id.to_owned())
        .bind(new.zoom_email.to_owned())
        .bind(new.access_token_enc)
        .bind(new.refresh_token_enc)
        .bind(new.access_expires_at)
        .bind(new.scope.to_owned())
        .bind(now)
        .bind(new.settings_fp.map(str::to_owned))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claims the right to refresh the grant at `version`. Only one caller, in any instance,
    /// gets `true` until the lease ends or the refresh is committed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_refresh_lease(
        &self,
        user_id: i64,
        version: i64,
        lease_secs: i64,
    ) -> StoreResult<bool> {
        let now = now_unix();
        let result = sqlx::query(
            "UPDATE zoom_connections SET refresh_lease_until = $1 \
             WHERE user_id = $2 AND version = $3 AND status = 'connected' AND refresh_lease_until < $4",
        )
        .bind(now + lease_secs)
        .bind(user_id)
        .bind(version)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Stores rotated tokens if the grant is still at `version`. Returns whether it was.
    /// Zoom just renewed the grant, so it is connected: a `reconnect_needed` set at this
    /// version meanwhile (a refresher that lost the race and was refused the old refresh
    /// token) was wrong and is cleared.
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn commit_refresh(
        &self,
        user_id: i64,
        version: i64,
        access_token_enc: String,
        refresh_token_enc: String,
        access_expires_at: i64,
        scope: &str,
        settings_fp: &str,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE zoom_connections SET access_token_enc = $1, refresh_token_enc = $2, access_expires_at = $3, \
             scope = $4, version = version + 1, refresh_lease_until = 0, updated_at = $5, \
             status = 'connected', status_reason = NULL, settings_fp = $8 \
             WHERE user_id = $6 AND version = $7",
        )
        .bind(access_token_enc)
        .bind(refresh_token_enc)
        .bind(access_expires_at)
        .bind(scope.to_owned())
        .bind(now_unix())
        .bind(user_id)
        .bind(version)
        .bind(settings_fp.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn release_refresh_lease(&self, user_id: i64, version: i64) -> StoreResult<()> {
        sqlx::query("UPDATE zoom_connections SET refresh_lease_until = 0 WHERE user_id = $1 AND version = $2")
            .bind(user_id)
            .bind(version)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mark_reconnect_needed(
        &self,
        user_id: i64,
        version: i64,
        reason: &str,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE zoom_connections SET status = 'reconnect_needed', status_reason = $1, refresh_lease_until = 0, \
             updated_at = $2 WHERE user_id = $3 AND version = $4",
        )
        .bind(reason.to_owned())
        .bind(now_unix())
        .bind(user_id)
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_zoom_connection(&self, user_id: i64) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM zoom_connections WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn account_token(&self) -> StoreResult<AccountTokenRow> {
        sqlx::query("INSERT INTO zoom_account_token (id) VALUES (1) ON CONFLICT (id) DO NOTHING")
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT access_token_enc, scope, expires_at, version, lease_until, settings_fp FROM zoom_account_token WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(AccountTokenRow {
            access_token_enc: row.try_get("access_token_enc")?,
            scope: row.try_get("scope")?,
            expires_at: row.try_get("expires_at")?,
            version: row.try_get("version")?,
            lease_until: row.try_get("lease_until")?,
            settings_fp: row.try_get("settings_fp")?,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_account_token_lease(
        &self,
        version: i64,
        lease_secs: i64,
    ) -> StoreResult<bool> {
        let now = now_unix();
        let result = sqlx::query(
            "UPDATE zoom_account_token SET lease_until = $1 WHERE id = 1 AND version = $2 AND lease_until < $3",
        )
        .bind(now + lease_secs)
        .bind(version)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn commit_account_token(
        &self,
        version: i64,
        token_enc: String,
        expires_at: i64,
        scope: &str,
        settings_fp: &str,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE zoom_account_token SET access_token_enc = $1, expires_at = $2, scope = $3, version = version + 1, \
             lease_until = 0, settings_fp = $5 WHERE id = 1 AND version = $4",
        )
        .bind(token_enc)
        .bind(expires_at)
        .bind(scope.to_owned())
        .bind(version)
        .bind(settings_fp.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn release_account_token_lease(&self, version: i64) -> StoreResult<()> {
        sqlx::query("UPDATE zoom_account_token SET lease_until = 0 WHERE id = 1 AND version = $1")
            .bind(version)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// `Conflict("…zoom_user_mappings_zoom_user_key…")` when another doctor is mapped to that
    /// Zoom user (compared without case).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_zoom_mapping(&self, user_id: i64, zoom_user: Option<&str>) -> StoreResult<()> {
        match zoom_user {
            Some(zoom_user) => {
                sqlx::query(
                    "INSERT INTO zoom_user_mappings (user_id, zoom_user, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id) DO UPDATE SET zoom_user = excluded.zoom_user, updated_at = excluded.updated_at",
                )
                .bind(user_id)
                .bind(zoom_user.to_owned())
                .bind(now_unix())
                .execute(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
            }
            None => {
                sqlx::query("DELETE FROM zoom_user_mappings WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn zoom_mapping(&self, user_id: i64) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT zoom_user FROM zoom_user_mappings WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("zoom_user")).transpose()?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn zoom_mappings(&self) -> StoreResult<Vec<(i64, String)>> {
        let rows = sqlx::query("SELECT user_id, zoom_user FROM zoom_user_mappings")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("user_id")?, r.try_get("zoom_user")?)))
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_oauth_state(
        &self,
        state_hash: &str,
        user_id: i64,
        session_tag: &str,
        verifier_enc: String,
        ttl_secs: i64,
    ) -> StoreResult<()> {
        let now = now_unix();
        // Unused states older than a day are only clutter.
        sqlx::query("DELETE FROM oauth_states WHERE expires_at < $1")
            .bind(now - 86_400)
            .execute(&self.pool)
            .await?;
        let created_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        sqlx::query(
            "INSERT INTO oauth_states (state_hash, user_id, session_tag, verifier_enc, expires_at, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(state_hash.to_owned())
        .bind(user_id)
        .bind(session_tag.to_owned())
        .bind(verifier_enc)
        .bind(now + ttl_secs)
        .bind(created_ms)
        .execute(&self.pool)
        .await?;
        // A doctor needs one live state per consent page open; keeping the newest few bounds
        // what repeated clicks (or a script with the doctor's session) can pile up.
        sqlx::query(
            "DELETE FROM oauth_states WHERE user_id = $1 AND used_at IS NULL AND state_hash <> $2 \
             AND state_hash NOT IN (SELECT state_hash FROM oauth_states WHERE user_id = $1 \
             AND used_at IS NULL AND state_hash <> $2 ORDER BY created_ms DESC, state_hash \
             LIMIT $3)",
        )
        .bind(user_id)
        .bind(state_hash.to_owned())
        .bind(MAX_LIVE_OAUTH_STATES - 1)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks the state used and returns it, atomically: a replayed state finds nothing.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn consume_oauth_state(
        &self,
        state_hash: &str,
    ) -> StoreResult<Option<OAuthStateRow>> {
        let row = sqlx::query(
            "UPDATE oauth_states SET used_at = $1 WHERE state_hash = $2 AND used_at IS NULL \
             RETURNING user_id, session_tag, verifier_enc, expires_at",
        )
        .bind(now_unix())
        .bind(state_hash.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(OAuthStateRow {
                user_id: row.try_get("user_id")?,
                session_tag: row.try_get("session_tag")?,
                verifier_enc: row.try_get("verifier_enc")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Remembers a doctor's Zoom licence (`basic` or `licensed`), as Zoom last reported it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_host_licence(&self, user_id: i64, licence: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO zoom_hosts (user_id, licence, checked_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET licence = excluded.licence, \
             checked_at = excluded.checked_at",
        )
        .bind(user_id)
        .bind(licence.to_owned())
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every doctor's last known licence, as (user id, licence).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn host_licences(&self) -> StoreResult<Vec<(i64, String)>> {
        let rows = sqlx::query("SELECT user_id, licence FROM zoom_hosts")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("user_id")?, r.try_get("licence")?)))
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn host_licence(&self, user_id: i64) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT licence FROM zoom_hosts WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("licence")).transpose()?)
    }

    /// Every sealed value with where it lives, for key rotation: one query per purpose, so a
    /// purpose added to `crypto::Purpose` is rotated without a change here.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sealed_values(&self) -> StoreResult<Vec<SealedValue>> {
        let mut out = Vec::new();
        for purpose in Purpose::ALL {
            let at = purpose.stored_in();
            let sql = format!(
                "SELECT CAST({key} AS TEXT) AS k, {column} AS v FROM {table} WHERE {column} IS NOT NULL",
                key = at.key_column,
                column = at.column,
                table = at.table
            );
            for row in sqlx::query(&sql).fetch_all(&self.pool).await? {
                out.push(SealedValue {
                    purpose,
                    key: row.try_get("k")?,
                    value: row.try_get("v")?,
                });
            }
        }
        Ok(out)
    }

    /// Replaces one sealed value if it is still `old` (a concurrent refresh may have replaced it).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn replace_sealed(&self, item: &SealedValue, new_value: String) -> StoreResult<bool> {
        let at = item.purpose.stored_in();
        let sql = format!(
            "UPDATE {} SET {} = $1 WHERE CAST({} AS TEXT) = $2 AND {} = $3",
            at.table, at.column, at.key_column, at.column
        );
        let result = sqlx::query(&sql)
            .bind(new_value)
            .bind(item.key.clone())
            .bind(item.value.clone())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }
}

pub struct SealedValue {
    pub purpose: Purpose,
    pub key: String,
    pub value: String,
}
