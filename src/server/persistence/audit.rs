//! The audit trail's storage: append one entry, fold a counted entry into its bucket, and read
//! entries back filtered and newest first, a page at a time (keyset on the id, not OFFSET, so
//! a page costs the same however deep it is). `server::audit` is the only writer.

use super::{now_unix, Db, StoreError, StoreResult};
use crate::server::config::DatabaseBackend;
use sqlx::{AnyPool, Row};
use tokio::sync::{mpsc, oneshot};

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
        self.audit.write(entry, None).await
    }

    /// Adds one to the entry of `bucket`, creating it on first use.
    pub async fn count_audit(&self, entry: NewAuditEntry<'_>, bucket: &str) -> StoreResult<()> {
        self.audit.write(entry, Some(bucket)).await
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

/// Entries waiting for the writer, at most; a caller beyond that waits for room.
const QUEUE: usize = 4096;
/// Entries written in one statement or transaction, at most.
const BATCH: usize = 256;

/// Writes audit entries in batches: every entry queued while a transaction commits goes into
/// the next one. Reading a visit or a list is audited, so every such request writes; on SQLite
/// each commit waits for the disk (`synchronous=FULL`, ~2 ms here), which capped a busy clinic
/// at a few hundred reads a second when each entry had its own commit. A caller still waits
/// until its own entry is committed, so nothing is handed out unrecorded and nothing
/// acknowledged is lost.
#[derive(Clone, Debug)]
pub(super) struct AuditWriter {
    queue: mpsc::Sender<Pending>,
}

#[derive(Debug)]
struct Pending {
    at: i64,
    actor_kind: &'static str,
    actor_id: Option<i64>,
    action: &'static str,
    subject: String,
    outcome: &'static str,
    detail: Option<String>,
    bucket: Option<String>,
    done: oneshot::Sender<StoreResult<()>>,
}

impl AuditWriter {
    pub(super) fn start(pool: AnyPool, backend: DatabaseBackend) -> Self {
        let (queue, entries) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(pool, backend, entries));
        Self { queue }
    }

    async fn write(&self, entry: NewAuditEntry<'_>, bucket: Option<&str>) -> StoreResult<()> {
        let (done, written) = oneshot::channel();
        let pending = Pending {
            at: now_unix(),
            actor_kind: entry.actor_kind,
            actor_id: entry.actor_id,
            action: entry.action,
            subject: entry.subject.to_owned(),
            outcome: entry.outcome,
            detail: entry.detail.map(str::to_owned),
            bucket: bucket.map(str::to_owned),
            done,
        };
        let stopped = || StoreError::Database(sqlx::Error::PoolClosed);
        self.queue.send(pending).await.map_err(|_| stopped())?;
        written.await.map_err(|_| stopped())?
    }
}

async fn write_batches(
    pool: AnyPool,
    backend: DatabaseBackend,
    mut entries: mpsc::Receiver<Pending>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while entries.recv_many(&mut batch, BATCH).await > 0 {
        match write_batch(&pool, backend, &batch).await {
            Ok(()) => {
                tracing::debug!(entries = batch.len(), "audit batch written");
                batch.drain(..).for_each(|p| {
                    let _ = p.done.send(Ok(()));
                })
            }
            // One entry the database refuses must not cost the others theirs: each goes
            // again on its own and learns its own result.
            Err(error) => {
                tracing::error!(%error, entries = batch.len(), "an audit batch failed; writing its entries one by one");
                for pending in batch.drain(..) {
                    let result = write_one(&pool, &pending).await;
                    let _ = pending.done.send(result);
                }
            }
        }
    }
}

/// Ordinary entries in one insert, counted ones each folded into its bucket, in one
/// transaction; a batch of ordinary entries only is that one insert on its own.
#[tracing::instrument(level = "debug", skip_all, fields(entries = batch.len()))]
async fn write_batch(
    pool: &AnyPool,
    backend: DatabaseBackend,
    batch: &[Pending],
) -> StoreResult<()> {
    let plain: Vec<&Pending> = batch.iter().filter(|p| p.bucket.is_none()).collect();
    // Every statement is a round trip to SQLite's connection thread (two thread wake-ups);
    // under a reused join page's load those hand-offs, not SQLite's own work, were most of
    // that thread's time. One statement is atomic without BEGIN and COMMIT around it.
    if plain.len() == batch.len() {
        insert_plain(pool, backend, &plain).await?;
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    if !plain.is_empty() {
        insert_plain(&mut *tx, backend, &plain).await?;
    }
    for p in batch.iter().filter(|p| p.bucket.is_some()) {
        upsert(p).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Ordinary entries, in one statement.
async fn insert_plain<'c>(
    executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
    backend: DatabaseBackend,
    plain: &[&Pending],
) -> StoreResult<()> {
    // The entries go in as one JSON array bound to one parameter, so every batch is the
    // same prepared statement. A statement with seven numbered parameters per entry was
    // parsed again for every batch size, and binding it looked each parameter's name up
    // in a list as long as the batch: a tenth of a busy page's CPU.
    // Each entry a JSON array of the seven values, in the columns' order.
    let rows: Vec<_> = plain
        .iter()
        .map(|p| {
            (
                p.at,
                p.actor_kind,
                p.actor_id,
                p.action,
                &p.subject,
                p.outcome,
                &p.detail,
            )
        })
        .collect();
    let rows = serde_json::to_string(&rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let insert = match backend {
        DatabaseBackend::Sqlite => {
            "INSERT INTO audit_log (at, actor_kind, actor_id, action, subject, outcome, \
             detail, count, bucket) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, \
             value ->> 5, value ->> 6, 1, NULL FROM json_each($1) ORDER BY key"
        }
        DatabaseBackend::Postgres => {
            "INSERT INTO audit_log (at, actor_kind, actor_id, action, subject, outcome, \
             detail, count, bucket) \
             SELECT (e ->> 0)::bigint, e ->> 1, (e ->> 2)::bigint, e ->> 3, e ->> 4, \
             e ->> 5, e ->> 6, 1, NULL \
             FROM json_array_elements($1::json) WITH ORDINALITY AS rows(e, n) ORDER BY n"
        }
    };
    sqlx::query(insert).bind(rows).execute(executor).await?;
    Ok(())
}

async fn write_one(pool: &AnyPool, pending: &Pending) -> StoreResult<()> {
    upsert(pending).execute(pool).await?;
    Ok(())
}

/// One entry; a NULL bucket never conflicts (NULLs are distinct in a unique index on both
/// backends), so an ordinary entry is a plain insert.
fn upsert(p: &Pending) -> AnyQuery<'_> {
    let query = sqlx::query(
        "INSERT INTO audit_log (at, actor_kind, actor_id, action, subject, outcome, detail, \
         count, bucket) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) \
         ON CONFLICT (bucket) DO UPDATE SET count = audit_log.count + 1, at = $1",
    );
    bind_entry(query, p).bind(p.bucket.clone())
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// The seven values of an entry, in the columns' order.
fn bind_entry<'q>(query: AnyQuery<'q>, p: &Pending) -> AnyQuery<'q> {
    query
        .bind(p.at)
        .bind(p.actor_kind)
        .bind(p.actor_id)
        .bind(p.action)
        .bind(p.subject.clone())
        .bind(p.outcome)
        .bind(p.detail.clone())
}
