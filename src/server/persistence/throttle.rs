//! Failed logins, counted in the database so every app instance sees the same numbers and a
//! restart does not reset an attacker's budget.

use super::{now_unix, Db, StoreResult};
use sqlx::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleScope {
    Account,
    Address,
}

impl ThrottleScope {
    fn as_str(self) -> &'static str {
        match self {
            ThrottleScope::Account => "account",
            ThrottleScope::Address => "address",
        }
    }
}

/// An attempt counted before it is acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Within the limit; the row that counts it, to withdraw it if it turns out not to be a
    /// failure after all.
    Within(i64),
    /// Over the limit (nothing stays counted); the subject may try again after this long.
    Over { retry_after_secs: i64 },
}

impl Db {
    /// Counts one login attempt as a failure *before* the password is checked, then looks at
    /// its rank: parallel attempts each see every earlier attempt under way, so together they
    /// get exactly the limit's tries, never more (checking first and recording after the
    /// slow password check let a burst through). An attempt over the limit is taken back.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_login_attempt(
        &self,
        scope: ThrottleScope,
        subject: &str,
        window_secs: i64,
        limit: u32,
    ) -> StoreResult<Counted> {
        let now = now_unix();
        let id: i64 = sqlx::query(
            "INSERT INTO login_failures (scope, subject, at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(scope.as_str())
        .bind(subject.to_owned())
        .bind(now)
        .fetch_one(&self.pool)
        .await?
        .try_get("id")?;
        // This attempt's rank among those in the window, oldest first: the first `limit`
        // always get their check, however the inserts and counts of a burst interleave
        // (counting everything let a burst of 40 refuse all 40 on PostgreSQL).
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM login_failures \
             WHERE scope = $1 AND subject = $2 AND at > $3 AND id <= $4",
        )
        .bind(scope.as_str())
        .bind(subject.to_owned())
        .bind(now - window_secs)
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        let (failures, oldest): (i64, Option<i64>) = (row.try_get("n")?, row.try_get("oldest")?);
        if failures <= i64::from(limit) {
            return Ok(Counted::Within(id));
        }
        self.withdraw_login_attempt(id).await?;
        Ok(Counted::Over {
            retry_after_secs: oldest.map_or(window_secs, |t| t + window_secs - now).max(1),
        })
    }

    /// Takes back an attempt counted by `count_login_attempt` (it succeeded, or never ran).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn withdraw_login_attempt(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Failures within the window, and the time of the oldest of them (which decides when the
    /// subject may try again).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recent_login_failures(
        &self,
        scope: ThrottleScope,
        subject: &str,
        window_secs: i64,
    ) -> StoreResult<(i64, Option<i64>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM login_failures \
             WHERE scope = $1 AND subject = $2 AND at > $3",
        )
        .bind(scope.as_str())
        .bind(subject.to_owned())
        .bind(now_unix() - window_secs)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("oldest")?))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn clear_login_failures(
        &self,
        scope: ThrottleScope,
        subject: &str,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE scope = $1 AND subject = $2")
            .bind(scope.as_str())
            .bind(subject.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn prune_login_failures(&self, older_than_secs: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE at <= $1")
            .bind(now_unix() - older_than_secs)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
