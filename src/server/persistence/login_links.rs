//! Single-use sign-in links: only a SHA-256 of each token is stored, and using one is one
//! conditional update, so two browsers presenting the same link cannot both get in.

use super::{now_unix, Db, StoreError, StoreResult};
use sqlx::Row;

impl Db {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_login_link(
        &self,
        token_hash: &str,
        user_id: i64,
        purpose: &str,
        next_path: Option<&str>,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO login_links (token_hash, user_id, purpose, next_path, expires_at, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash.to_owned())
        .bind(user_id)
        .bind(purpose.to_owned())
        .bind(next_path.map(str::to_owned))
        .bind(expires_at)
        .bind(now_unix())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// Marks the link used and answers its user and return path, if it was unused, of this
    /// purpose and not expired at `now`; otherwise None (whichever of those it was).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn use_login_link(
        &self,
        token_hash: &str,
        purpose: &str,
        now: i64,
    ) -> StoreResult<Option<(i64, Option<String>)>> {
        let row = sqlx::query(
            "UPDATE login_links SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 \
             AND used_at IS NULL AND expires_at > $3 RETURNING user_id, next_path",
        )
        .bind(token_hash.to_owned())
        .bind(purpose.to_owned())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("user_id")?, r.try_get("next_path")?)))
            .transpose()
    }
}
