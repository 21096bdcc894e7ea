//! The little the push streams need from the store: whom a changed visit concerns, and (on
//! PostgreSQL) the `NOTIFY` that tells the other app instances about it.

use super::{Db, StoreResult};
use sqlx::Row;

/// A visit's public id and the two people it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitParties {
    pub public_id: String,
    pub doctor_id: i64,
    pub patient_id: i64,
}

impl Db {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn visit_parties(&self, id: i64) -> StoreResult<Option<VisitParties>> {
        let row =
            sqlx::query("SELECT public_id, doctor_id, patient_id FROM appointments WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|row| VisitParties {
            public_id: row.get("public_id"),
            doctor_id: row.get("doctor_id"),
            patient_id: row.get("patient_id"),
        }))
    }

    /// PostgreSQL only: every instance `LISTEN`ing on `channel` receives `payload`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn notify_visit_changed(&self, channel: &str, payload: &str) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel.to_owned())
            .bind(payload.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
