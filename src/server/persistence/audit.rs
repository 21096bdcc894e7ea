//! The audit trail's storage: append one entry, fold a counted entry into its bucket, and read
//! entries back filtered and newest first, a page at a time (keyset on the id, not OFFSET, so
//! a page costs the same however deep it is). `server::audit` is the only writer.

use super::{now_unix, Db, StoreResult};
use sqlx::Row;

pub struct NewAuditEntry<'a> {
    pub actor_kind: &'static str,
    pub actor_id: Option<i64>,
    pub action: &'static str,
    pub subject: &'a str,
    pub outcome: &'static str,
    pub detail: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_email: Option<String>,
    pub action: String,
    pub subject: String,
    pub outcome: String,
    pub detail: Option<String>,
    pub count: i64,
}

/// Which entries to read. Every field narrows; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor_id: Option<i64>,
    /// "user", "system" or "anonymous".
    pub actor_kind: Option<&'static str>,
    pub action: Option<String>,
    pub subject: Option<String>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
    /// Only entries older than this id (the previous page's last one).
    pub before_id: Option<i64>,
    pub limit: i64,
}

impl Db {
    pub async fn append_audit(&self, entry: NewAuditEntry<'_>) -> StoreResult<()> {
        self.write_audit(entry, None).await
    }

    /// Adds one to the entry of `bucket`, creating it on first use.
    pub async fn count_audit(&self, entry: NewAuditEntry<'_>, bucket: &str) -> StoreResult<()> {
        self.write_audit(entry, Some(bucket)).await
    }

    /// One statement for both: a NULL bucket never conflicts (NULLs are distinct in a unique
    /// index on both backends), so an ordinary entry is a plain insert.
    #[tracing::instrument(level = "debug", skip_all, fields(action = entry.action))]
    async fn write_audit(&self, entry: NewAuditEntry<'_>, bucket: Option<&str>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor_kind, actor_id, action, subject, outcome, detail, \
             count, bucket) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) \
             ON CONFLICT (bucket) DO UPDATE SET count = audit_log.count + 1, at = $1",
        )
        .bind(now_unix())
        .bind(entry.actor_kind)
        .bind(entry.actor_id)
        .bind(entry.action)
        .bind(entry.subject.to_owned())
        .bind(entry.outcome)
        .bind(entry.detail.map(str::to_owned))
        .bind(bucket.map(str::to_owned))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit_entries(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEntry>> {
        // Each filter is a fixed clause that is true when its parameter is NULL, so the SQL is
        // one prepared statement whatever is filtered.
        let rows = sqlx::query(
            "SELECT a.id, a.at, a.actor_kind, a.actor_id, u.email AS actor_email, a.action, \
             a.subject, a.outcome, a.detail, a.count FROM audit_log a \
             LEFT JOIN users u ON u.id = a.actor_id \
             WHERE ($1 IS NULL OR a.actor_id = $1) \
             AND ($2 IS NULL OR a.action = $2) \
             AND ($3 IS NULL OR a.subject = $3) \
             AND ($4 IS NULL OR a.at >= $4) \
             AND ($5 IS NULL OR a.at < $5) \
             AND ($6 IS NULL OR a.id < $6) \
             AND ($8 IS NULL OR a.actor_kind = $8) \
             ORDER BY a.id DESC LIMIT $7",
        )
        .bind(query.actor_id)
        .bind(query.action.clone())
        .bind(query.subject.clone())
        .bind(query.from)
        .bind(query.until)
        .bind(query.before_id)
        .bind(query.limit)
        .bind(query.actor_kind)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor_kind: row.try_get("actor_kind")?,
                    actor_id: row.try_get("actor_id")?,
                    actor_email: row.try_get("actor_email")?,
                    action: row.try_get("action")?,
                    subject: row.try_get("subject")?,
                    outcome: row.try_get("outcome")?,
                    detail: row.try_get("detail")?,
                    count: row.try_get("count")?,
                })
            })
            .collect()
    }
}
