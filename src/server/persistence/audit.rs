//! An append-only record of security-relevant actions: who did what to which subject, and
//! whether it worked. Details never contain secrets.

use super::{now_unix, Db, StoreResult};
use sqlx::Row;

pub struct NewAuditEntry<'a> {
    pub actor_id: Option<i64>,
    pub action: &'a str,
    pub subject: &'a str,
    pub outcome: &'a str,
    pub detail: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_email: Option<String>,
    pub action: String,
    pub subject: String,
    pub outcome: String,
    pub detail: Option<String>,
}

impl Db {
    pub async fn append_audit(&self, entry: NewAuditEntry<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor_id, action, subject, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(now_unix())
        .bind(entry.actor_id)
        .bind(entry.action.to_owned())
        .bind(entry.subject.to_owned())
        .bind(entry.outcome.to_owned())
        .bind(entry.detail.map(str::to_owned))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn recent_audit(&self, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT a.id, a.at, a.actor_id, u.email AS actor_email, a.action, a.subject, \
             a.outcome, a.detail FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id \
             ORDER BY a.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor_id: row.try_get("actor_id")?,
                    actor_email: row.try_get("actor_email")?,
                    action: row.try_get("action")?,
                    subject: row.try_get("subject")?,
                    outcome: row.try_get("outcome")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }
}
