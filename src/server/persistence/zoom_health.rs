//! The last known health of each doctor's Zoom connection, for the checker that warns once
//! per problem.

use super::{Db, StoreResult};
use sqlx::Row;

/// What the last check found: a problem (None: healthy), since when, checked when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoomHealth {
    pub problem: Option<String>,
    pub since: i64,
    pub checked_at: i64,
}

impl Db {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn zoom_health(&self, doctor_id: i64) -> StoreResult<Option<ZoomHealth>> {
        let row =
            sqlx::query("SELECT problem, since, checked_at FROM zoom_health WHERE doctor_id = $1")
                .bind(doctor_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(ZoomHealth {
                problem: r.try_get("problem")?,
                since: r.try_get("since")?,
                checked_at: r.try_get("checked_at")?,
            })
        })
        .transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_zoom_health(&self, doctor_id: i64, health: &ZoomHealth) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO zoom_health (doctor_id, problem, since, checked_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (doctor_id) DO UPDATE SET \
             problem = excluded.problem, since = excluded.since, checked_at = excluded.checked_at",
        )
        .bind(doctor_id)
        .bind(health.problem.clone())
        .bind(health.since)
        .bind(health.checked_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The start of the doctor's next scheduled visit after `now`, if any.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn next_visit_start(&self, doctor_id: i64, now: i64) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(starts_at) AS next FROM appointments \
             WHERE doctor_id = $1 AND status = 'scheduled' AND starts_at > $2",
        )
        .bind(doctor_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<Option<i64>, _>("next")?)
    }
}
