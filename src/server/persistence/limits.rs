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
    async fn insert_rate_event(&self, kind: &str, subject: i64, at: i64) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO rate_events (kind, subject, at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(kind.to_owned())
        .bind(subject.to_string())
        .bind(at)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Counts a patient's booking or reschedule against their allowance for 24 hours, before
    /// it is made. Each costs the doctor one of Zoom's 100 meeting creates/updates a day.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_visit_change(&self, patient_id: i64, limit: u32) -> StoreResult<Counted> {
        let now = now_unix();
        let id = self
            .insert_rate_event(VISIT_CHANGE, patient_id, now)
            .await?;
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM rate_events \
             WHERE kind = $1 AND subject = $2 AND at > $3",
        )
        .bind(VISIT_CHANGE)
        .bind(patient_id.to_string())
        .bind(now - DAY_SECS)
        .fetch_one(&self.pool)
        .await?;
        let (count, oldest): (i64, Option<i64>) = (row.try_get("n")?, row.try_get("oldest")?);
        if count <= i64::from(limit) {
            return Ok(Counted::Within(id));
        }
        self.withdraw_rate_event(id).await?;
        Ok(Counted::Over {
            retry_after_secs: oldest.map_or(DAY_SECS, |t| t + DAY_SECS - now).max(1),
        })
    }

    /// Claims one of a patient's open-visit places for a booking about to be written. Counts
    /// their scheduled visits that have not ended plus the other bookings in flight (each
    /// holds a claim until it is written), so two parallel bookings cannot both take the last
    /// place. `None` when over the limit. Withdraw the claim once the booking is written (it
    /// then counts as a visit) or failed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_open_visit(&self, patient_id: i64, limit: u32) -> StoreResult<Option<i64>> {
        let now = now_unix();
        let id = self
            .insert_rate_event(BOOKING_CLAIM, patient_id, now)
            .await?;
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM appointments WHERE patient_id = $1 \
               AND status = 'scheduled' AND starts_at + duration_minutes * 60 > $2) \
             + (SELECT COUNT(*) FROM rate_events WHERE kind = $3 AND subject = $4 AND at > $5) \
             AS n",
        )
        .bind(patient_id)
        .bind(now)
        .bind(BOOKING_CLAIM)
        .bind(patient_id.to_string())
        .bind(now - CLAIM_SECS)
        .fetch_one(&self.pool)
        .await?;
        let count: i64 = row.try_get("n")?;
        if count <= i64::from(limit) {
            return Ok(Some(id));
        }
        self.withdraw_rate_event(id).await?;
        Ok(None)
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
