//! Per-person limits on visits (a patient's bookings in flight and changes per day), counted
//! in the database before the action, like login failures: every app instance sees the same
//! numbers, and parallel requests each see the others, so together they cannot exceed a limit.

use super::{now_unix, Counted, Db, StoreResult};
use sqlx::Row;

const DAY_SECS: i64 = 24 * 3600;
/// A booking holds its claim for at most this long; a claim left by a crashed request expires.
const CLAIM_SECS: i64 = 60;
const VISIT_CHANGE: &str = "visit_change";
const BOOKING_CLAIM: &str = "booking_claim";

impl Db {
    /// Adds one event of `kind` for `subject`, then counts what `count_sql` counts (given the
    /// subject as $1, now as $2) and keeps the event only if that count is within `limit`.
    /// The person's row is locked first, so parallel requests for one person take turns:
    /// each sees the others' committed events, and the first ones in always get through
    /// (counting first and inserting after could let all of them fail, or all pass).
    async fn claim_within(
        &self,
        kind: &str,
        subject: i64,
        limit: u32,
        count_sql: &str,
    ) -> StoreResult<Result<i64, Option<i64>>> {
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        if self.backend == crate::server::config::DatabaseBackend::Postgres {
            sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(subject)
                .fetch_optional(&mut *tx)
                .await?;
        }
        // On SQLite this write is the transaction's first statement: it takes the database's
        // one write lock, which serialises these claims the same way.
        let id: i64 = sqlx::query(
            "INSERT INTO rate_events (kind, subject, at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(kind.to_owned())
        .bind(subject.to_string())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        let row = sqlx::query(count_sql)
            .bind(subject)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let (count, oldest): (i64, Option<i64>) = (row.try_get("n")?, row.try_get("oldest")?);
        if count <= i64::from(limit) {
            tx.commit().await?;
            Ok(Ok(id))
        } else {
            tx.rollback().await?;
            Ok(Err(oldest))
        }
    }

    /// Counts a patient's booking or reschedule against their allowance for 24 hours, before
    /// it is made. Each costs the doctor one of Zoom's 100 meeting creates/updates a day.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_visit_change(&self, patient_id: i64, limit: u32) -> StoreResult<Counted> {
        let sql = format!(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM rate_events \
             WHERE kind = '{VISIT_CHANGE}' AND subject = CAST($1 AS TEXT) AND at > $2 - {DAY_SECS}"
        );
        Ok(
            match self
                .claim_within(VISIT_CHANGE, patient_id, limit, &sql)
                .await?
            {
                Ok(id) => Counted::Within(id),
                Err(oldest) => {
                    let now = now_unix();
                    Counted::Over {
                        retry_after_secs: oldest.map_or(DAY_SECS, |t| t + DAY_SECS - now).max(1),
                    }
                }
            },
        )
    }

    /// Claims one of a patient's open-visit places for a booking about to be written. Counts
    /// their scheduled visits that have not ended plus the other bookings in flight (each
    /// holds a claim until it is written), so two parallel bookings cannot both take the last
    /// place. `None` when over the limit. Withdraw the claim once the booking is written (it
    /// then counts as a visit) or failed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_open_visit(&self, patient_id: i64, limit: u32) -> StoreResult<Option<i64>> {
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM appointments WHERE patient_id = $1 \
               AND status = 'scheduled' AND starts_at + duration_minutes * 60 > $2) \
             + (SELECT COUNT(*) FROM rate_events WHERE kind = '{BOOKING_CLAIM}' \
               AND subject = CAST($1 AS TEXT) AND at > $2 - {CLAIM_SECS}) AS n, \
             CAST(NULL AS BIGINT) AS oldest"
        );
        Ok(self
            .claim_within(BOOKING_CLAIM, patient_id, limit, &sql)
            .await?
            .ok())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn withdraw_rate_event(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM rate_events WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets events too old to count against anything.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn prune_rate_events(&self) -> StoreResult<()> {
        sqlx::query("DELETE FROM rate_events WHERE at <= $1")
            .bind(now_unix() - DAY_SECS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
