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

impl Db {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_login_failure(
        &self,
        scope: ThrottleScope,
        subject: &str,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO login_failures (scope, subject, at) VALUES ($1, $2, $3)")
            .bind(scope.as_str())
            .bind(subject.to_owned())
            .bind(now_unix())
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
