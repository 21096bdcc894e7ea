//! The mail outbox, what each visit's attendees were last told, and the due reminders. A mail
//! is queued under a key naming what it is about, so queueing the same thing twice (a retry,
//! a restart, the sweep and the request both noticing a change) leaves one row.

use super::{now_unix, Db, StoreError, StoreResult};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A mail to queue, already rendered.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub dedupe_key: String,
    pub kind: &'static str,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub ics: Option<String>,
}

/// One row of the outbox, as the worker and the admin's page read it.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub ics: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// What a visit's attendees were last told: its version, and to which doctor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitNotice {
    pub version: i64,
    pub doctor_id: i64,
}

/// A scheduled visit that may owe a reminder: when it starts and when it last changed.
#[derive(Debug, Clone, Copy)]
pub struct ReminderCandidate {
    pub appointment_id: i64,
    pub doctor_id: i64,
    pub starts_at: i64,
    pub changed_at: i64,
}

const OUTBOX_COLUMNS: &str = "id, kind, recipient, subject, body_text, body_html, ics, state, \
    attempts, last_error, created_at, sent_at";

fn outbox_from_row(row: &AnyRow) -> StoreResult<OutboxRow> {
    Ok(OutboxRow {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        body_text: row.try_get("body_text")?,
        body_html: row.try_get("body_html")?,
        ics: row.try_get("ics")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
    })
}

const INSERT_MAIL: &str = "INSERT INTO mail_outbox (dedupe_key, kind, recipient, subject, \
    body_text, body_html, ics, state, attempts, due_at, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $8) \
    ON CONFLICT (dedupe_key) DO NOTHING";

fn insert_mail(
    mail: &NewMail,
    now: i64,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments<'static>> {
    sqlx::query(INSERT_MAIL)
        .bind(mail.dedupe_key.clone())
        .bind(mail.kind.to_owned())
        .bind(mail.recipient.clone())
        .bind(mail.subject.clone())
        .bind(mail.body_text.clone())
        .bind(mail.body_html.clone())
        .bind(mail.ics.clone())
        .bind(now)
}

impl Db {
    /// Queues a mail unless one with its key exists. `true` when this call queued it.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = mail.kind))]
    pub async fn queue_mail(&self, mail: &NewMail) -> StoreResult<bool> {
        let done = insert_mail(mail, now_unix())
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    /// What the visit's attendees were last told (None: nothing yet).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn visit_notice(&self, appointment_id: i64) -> StoreResult<Option<VisitNotice>> {
        let row =
            sqlx::query("SELECT version, doctor_id FROM visit_notices WHERE appointment_id = $1")
                .bind(appointment_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(VisitNotice {
                version: r.try_get("version")?,
                doctor_id: r.try_get("doctor_id")?,
            })
        })
        .transpose()
    }

    /// Queues the mails announcing a visit's `notice` and records it as told, in one
    /// transaction: either both happen or neither, so a crash between them cannot lose the
    /// announcement nor make it twice. An older notice never overwrites a newer one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn announce_visit(
        &self,
        appointment_id: i64,
        notice: VisitNotice,
        mails: &[NewMail],
    ) -> StoreResult<()> {
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        for mail in mails {
            insert_mail(mail, now)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        sqlx::query(
            "INSERT INTO visit_notices (appointment_id, version, doctor_id) VALUES ($1, $2, $3) \
             ON CONFLICT (appointment_id) DO UPDATE SET version = excluded.version, \
             doctor_id = excluded.doctor_id WHERE visit_notices.version < excluded.version",
        )
        .bind(appointment_id)
        .bind(notice.version)
        .bind(notice.doctor_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Visits changed since their attendees were last told (a process died in between).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn unannounced_visits(&self, limit: i64) -> StoreResult<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT a.id FROM appointments a \
             LEFT JOIN visit_notices n ON n.appointment_id = a.id \
             WHERE n.appointment_id IS NULL OR n.version < a.version ORDER BY a.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<i64, _>("id")?))
            .collect()
    }

    /// Scheduled visits starting after `after` and no later than `until`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reminder_candidates(
        &self,
        after: i64,
        until: i64,
    ) -> StoreResult<Vec<ReminderCandidate>> {
        let rows = sqlx::query(
            "SELECT id, doctor_id, starts_at, updated_at FROM appointments \
             WHERE status = 'scheduled' AND starts_at > $1 AND starts_at <= $2 ORDER BY starts_at",
        )
        .bind(after)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReminderCandidate {
                    appointment_id: r.try_get("id")?,
                    doctor_id: r.try_get("doctor_id")?,
                    starts_at: r.try_get("starts_at")?,
                    changed_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Queued mails due now that nobody holds, oldest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn due_mails(&self, now: i64, limit: i64) -> StoreResult<Vec<OutboxRow>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE state = 'queued' AND due_at <= $1 \
             AND lease_until < $1 ORDER BY due_at, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    /// Takes a mail for `owner` until `lease_until` unless another worker holds it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_mail(
        &self,
        id: i64,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> StoreResult<bool> {
        let claimed = sqlx::query(
            "UPDATE mail_outbox SET lease_owner = $1, lease_until = $2 \
             WHERE id = $3 AND state = 'queued' AND lease_until < $4 AND due_at <= $4",
        )
        .bind(owner.to_owned())
        .bind(lease_until)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    /// The server took the mail. A sign-in link's text is dropped then: it was the only copy
    /// of a usable token at rest (the links table keeps hashes only).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mail_sent(&self, id: i64, owner: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE mail_outbox SET state = 'sent', sent_at = $3, attempts = attempts + 1, \
             last_error = NULL, lease_owner = NULL, lease_until = 0, \
             body_text = CASE WHEN kind IN ('sign_in_link', 'invitation') THEN $4 \
             ELSE body_text END, \
             body_html = CASE WHEN kind IN ('sign_in_link', 'invitation') THEN $4 \
             ELSE body_html END \
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(id)
        .bind(owner.to_owned())
        .bind(now_unix())
        .bind("(removed once sent: it held a single-use link)".to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Not taken this time: tried again from `due_at`, or (`failed`) never again.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mail_not_sent(
        &self,
        id: i64,
        owner: &str,
        failed: bool,
        due_at: i64,
        reason: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE mail_outbox SET state = $3, due_at = $4, last_error = $5, \
             attempts = attempts + 1, lease_owner = NULL, lease_until = 0 \
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(id)
        .bind(owner.to_owned())
        .bind(if failed { "failed" } else { "queued" })
        .bind(due_at)
        .bind(reason.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest mails first, for the admin.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn outbox(&self, limit: i64) -> StoreResult<Vec<OutboxRow>> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM mail_outbox ORDER BY id DESC LIMIT $1");
        let rows = sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(outbox_from_row).collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn outbox_mail(&self, id: i64) -> StoreResult<Option<OutboxRow>> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(outbox_from_row).transpose()
    }
}
