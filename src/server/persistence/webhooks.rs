//! Zoom webhooks: the clinic's secret token (sealed), the durable inbox of events with its
//! leases, the counters of what arrived, the live state Zoom reports for each meeting, and the
//! purge of everything held from a Zoom user who removed the app.

use super::visits::enqueue;
use super::{now_unix, Db, StoreResult};
use sqlx::Row;

/// An event as stored: only the fields the app acts on.
#[derive(Debug, Clone)]
pub struct WebhookEventRow {
    pub id: i64,
    pub event: String,
    pub event_ts: i64,
    pub meeting_id: Option<i64>,
    pub meeting_uuid: Option<String>,
    pub zoom_user_id: Option<String>,
    pub happened_at: Option<i64>,
    pub attempts: i64,
}

pub struct NewWebhookEvent<'a> {
    pub dedup_key: &'a str,
    pub event: &'a str,
    pub event_ts: i64,
    pub meeting_id: Option<i64>,
    pub meeting_uuid: Option<&'a str>,
    pub zoom_user_id: Option<&'a str>,
    pub happened_at: Option<i64>,
}

/// What Zoom reported about one meeting (milliseconds since the epoch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveRow {
    pub waiting_since: Option<i64>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
}

/// A visit's meeting found by Zoom's id or uuid.
#[derive(Debug, Clone, Copy)]
pub struct MeetingMatch {
    pub appointment_id: i64,
    pub host_id: i64,
}

/// What deauthorization removed: whose connection, and which visits now need a reconnect.
#[derive(Debug, Clone, Default)]
pub struct Purged {
    pub doctor_id: Option<i64>,
    pub flagged: Vec<i64>,
    pub touched: Vec<i64>,
}

impl Db {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn webhook_secret(&self) -> StoreResult<Option<(String, i64)>> {
        let row = sqlx::query(
            "SELECT webhook_secret_enc, webhook_secret_set_at FROM zoom_settings WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: Option<String> = row.try_get("webhook_secret_enc")?;
        let at: Option<i64> = row.try_get("webhook_secret_set_at")?;
        Ok(sealed.map(|s| (s, at.unwrap_or_default())))
    }

    /// False when the Zoom settings were never saved (the secret belongs to them).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn save_webhook_secret(&self, sealed: String) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE zoom_settings SET webhook_secret_enc = $1, webhook_secret_set_at = $2 \
             WHERE id = 1",
        )
        .bind(sealed)
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_webhook(&self, name: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhook_counters (name, count) VALUES ($1, 1) \
             ON CONFLICT (name) DO UPDATE SET count = webhook_counters.count + 1",
        )
        .bind(name.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn webhook_counters(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT name, count FROM webhook_counters ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("count")?)))
            .collect()
    }

    /// Stores a received event, due now. False when it was delivered before (same key).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_webhook_event(&self, new: NewWebhookEvent<'_>) -> StoreResult<bool> {
        let now = now_unix();
        let inserted = sqlx::query(
            "INSERT INTO webhook_events (dedup_key, event, event_ts, meeting_id, meeting_uuid, \
             zoom_user_id, happened_at, received_at, due_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(new.dedup_key.to_owned())
        .bind(new.event.to_owned())
        .bind(new.event_ts)
        .bind(new.meeting_id)
        .bind(new.meeting_uuid.map(str::to_owned))
        .bind(new.zoom_user_id.map(str::to_owned))
        .bind(new.happened_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Unprocessed events due now that nobody holds, in Zoom's order.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn due_webhook_events(
        &self,
        now: i64,
        limit: i64,
    ) -> StoreResult<Vec<WebhookEventRow>> {
        let rows = sqlx::query(
            "SELECT id, event, event_ts, meeting_id, meeting_uuid, zoom_user_id, happened_at, \
             attempts FROM webhook_events WHERE processed_at IS NULL AND due_at <= $1 \
             AND lease_until < $1 ORDER BY event_ts, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WebhookEventRow {
                    id: r.try_get("id")?,
                    event: r.try_get("event")?,
                    event_ts: r.try_get("event_ts")?,
                    meeting_id: r.try_get("meeting_id")?,
                    meeting_uuid: r.try_get("meeting_uuid")?,
                    zoom_user_id: r.try_get("zoom_user_id")?,
                    happened_at: r.try_get("happened_at")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Takes an event for `owner` until `lease_until`, as `claim_job` takes a meeting job.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_webhook_event(
        &self,
        id: i64,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> StoreResult<bool> {
        let claimed = sqlx::query(
            "UPDATE webhook_events SET lease_owner = $1, lease_until = $2 \
             WHERE id = $3 AND processed_at IS NULL AND lease_until < $4",
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

    /// Done: the outcome is kept with the key (a redelivery still finds it); the Zoom
    /// identifiers are cleared, being needed no more.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn finish_webhook_event(
        &self,
        id: i64,
        owner: &str,
        outcome: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE webhook_events SET processed_at = $1, outcome = $2, meeting_id = NULL, \
             meeting_uuid = NULL, zoom_user_id = NULL, happened_at = NULL, lease_owner = NULL, \
             lease_until = 0 WHERE id = $3 AND lease_owner = $4",
        )
        .bind(now_unix())
        .bind(outcome.to_owned())
        .bind(id)
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn postpone_webhook_event(
        &self,
        id: i64,
        owner: &str,
        due_at: i64,
        attempts: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE webhook_events SET due_at = $1, attempts = $2, lease_owner = NULL, \
             lease_until = 0 WHERE id = $3 AND lease_owner = $4",
        )
        .bind(due_at)
        .bind(attempts)
        .bind(id)
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The visit whose meeting Zoom names, by id (or, lacking one, by uuid); the newest if a
    /// meeting id was ever reused.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn meeting_by_zoom(
        &self,
        meeting_id: Option<i64>,
        uuid: Option<&str>,
    ) -> StoreResult<Option<MeetingMatch>> {
        let row = sqlx::query(
            "SELECT appointment_id, host_id FROM meetings \
             WHERE zoom_meeting_id = $1 OR ($1 IS NULL AND zoom_uuid = $2) \
             ORDER BY appointment_id DESC LIMIT 1",
        )
        .bind(meeting_id)
        .bind(uuid.map(str::to_owned))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(MeetingMatch {
                appointment_id: r.try_get("appointment_id")?,
                host_id: r.try_get("host_id")?,
            })
        })
        .transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn live_of(&self, appointment_id: i64) -> StoreResult<LiveRow> {
        let row = sqlx::query(
            "SELECT live_waiting_since, live_started_at, live_ended_at FROM meetings \
             WHERE appointment_id = $1",
        )
        .bind(appointment_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(LiveRow::default());
        };
        Ok(LiveRow {
            waiting_since: row.try_get("live_waiting_since")?,
            started_at: row.try_get("live_started_at")?,
            ended_at: row.try_get("live_ended_at")?,
        })
    }

    /// Applies a waiting-room event at `at` (ms) unless a later one was applied already:
    /// `since` Some = the patient waits since then, None = admitted or left. Whether it
    /// changed anything.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn live_waiting(
        &self,
        appointment_id: i64,
        since: Option<i64>,
        at: i64,
    ) -> StoreResult<bool> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        // At the same millisecond, leaving or being admitted wins over joining: Zoom sends
        // both when the host admits someone at once.
        let sql = if since.is_some() {
            "UPDATE meetings SET live_waiting_since = $2, live_waiting_ts = $3 \
             WHERE appointment_id = $1 AND (live_waiting_ts IS NULL OR live_waiting_ts < $3)"
        } else {
            "UPDATE meetings SET live_waiting_since = $2, live_waiting_ts = $3 \
             WHERE appointment_id = $1 AND (live_waiting_ts IS NULL OR live_waiting_ts <= $3)"
        };
        let changed = sqlx::query(sql)
            .bind(appointment_id)
            .bind(since)
            .bind(at)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(changed == 1)
    }

    /// The meeting started (`ended` false) or ended at `at` (ms). Times only move forward, so
    /// a late delivery of an earlier event changes nothing.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn live_started_or_ended(
        &self,
        appointment_id: i64,
        ended: bool,
        at: i64,
    ) -> StoreResult<bool> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        let sql = if ended {
            // Nobody waits in a meeting that is over.
            "UPDATE meetings SET live_ended_at = $2, \
             live_waiting_since = CASE WHEN live_waiting_ts IS NULL OR live_waiting_ts < $2 \
             THEN NULL ELSE live_waiting_since END, \
             live_waiting_ts = CASE WHEN live_waiting_ts IS NULL OR live_waiting_ts < $2 \
             THEN $2 ELSE live_waiting_ts END \
             WHERE appointment_id = $1 AND (live_ended_at IS NULL OR live_ended_at < $2)"
        } else {
            "UPDATE meetings SET live_started_at = $2 \
             WHERE appointment_id = $1 AND (live_started_at IS NULL OR live_started_at < $2)"
        };
        let changed = sqlx::query(sql)
            .bind(appointment_id)
            .bind(at)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(changed == 1)
    }

    /// Queues the meeting worker for a visit (re-create a deleted meeting, re-verify an
    /// updated one), unless the visit is over or cancelled. `pending`: the meeting is gone,
    /// so the visit shows as being prepared (no join link) until it is made again.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn queue_meeting_check(
        &self,
        appointment_id: i64,
        pending: bool,
    ) -> StoreResult<bool> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        let state = if pending { "'pending'" } else { "state" };
        let sql = format!(
            "UPDATE meetings SET state = {state}, updated_at = $2 \
             WHERE appointment_id = $1 AND state IN ('ready', 'blocked', 'pending') \
             AND EXISTS (SELECT 1 FROM appointments a WHERE a.id = $1 \
             AND a.status = 'scheduled' AND a.starts_at + a.duration_minutes * 60 > $2)"
        );
        let queued = sqlx::query(&sql)
            .bind(appointment_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if queued {
            enqueue(&mut tx, appointment_id, now).await?;
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// A meeting failed because its doctor's Zoom connection is gone: failed (a person must
    /// reconnect), and marked so that the reconnect retries it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn meeting_needs_reconnect(
        &self,
        appointment_id: i64,
        owner: &str,
        reason: &str,
    ) -> StoreResult<()> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        sqlx::query(
            "UPDATE meetings SET state = 'failed', needs_reconnect = 1, last_error = $2, \
             updated_at = $3 WHERE appointment_id = $1 AND EXISTS (SELECT 1 FROM meeting_jobs j \
             WHERE j.appointment_id = $1 AND j.lease_owner = $4)",
        )
        .bind(appointment_id)
        .bind(reason.to_owned())
        .bind(now_unix())
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// After a doctor reconnects Zoom: every meeting of theirs that failed for want of a
    /// connection is queued again. Returns the appointments queued.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn retry_after_reconnect(&self, host_id: i64) -> StoreResult<Vec<i64>> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "UPDATE meetings SET state = 'pending', needs_reconnect = 0, last_error = NULL, \
             updated_at = $2 WHERE host_id = $1 AND state = 'failed' AND needs_reconnect = 1 \
             RETURNING appointment_id",
        )
        .bind(host_id)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let mut ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("appointment_id")?;
            enqueue(&mut tx, id, now).await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// `app_deauthorized`: the doctor connected as `zoom_user_id` removed the app. In one
    /// transaction: their tokens and Zoom identity are wiped (the row stays, marked
    /// "reconnect needed" with `reason`, so doctor and admin see why); their upcoming visits
    /// fail with `reason` until they reconnect; every Zoom meeting id, uuid and link of
    /// theirs is forgotten (visits keep their own record, and the meeting's marker lets a
    /// reconnect find a meeting still at Zoom); stored events and audit details naming the
    /// Zoom user are cleared.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn purge_zoom_user(&self, zoom_user_id: &str, reason: &str) -> StoreResult<Purged> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        let row =
            sqlx::query("SELECT user_id, zoom_email FROM zoom_connections WHERE zoom_user_id = $1")
                .bind(zoom_user_id.to_owned())
                .fetch_optional(&mut *tx)
                .await?;
        let mut purged = Purged::default();
        // Events that name the user: whatever else happens, they go.
        sqlx::query(
            "UPDATE webhook_events SET zoom_user_id = NULL, meeting_id = NULL, \
             meeting_uuid = NULL WHERE zoom_user_id = $1",
        )
        .bind(zoom_user_id.to_owned())
        .execute(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(purged);
        };
        let doctor: i64 = row.try_get("user_id")?;
        let email: String = row.try_get("zoom_email")?;
        purged.doctor_id = Some(doctor);
        sqlx::query(
            "UPDATE zoom_connections SET zoom_user_id = '', zoom_email = '', \
             access_token_enc = '', refresh_token_enc = '', access_expires_at = 0, scope = '', \
             status = 'reconnect_needed', status_reason = $2, version = version + 1, \
             refresh_lease_until = 0, settings_fp = NULL, updated_at = $3 WHERE user_id = $1",
        )
        .bind(doctor)
        .bind(reason.to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM zoom_user_mappings WHERE user_id = $1 \
             AND (zoom_user = $2 OR lower(zoom_user) = lower($3))",
        )
        .bind(doctor)
        .bind(zoom_user_id.to_owned())
        .bind(email.clone())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_events SET zoom_user_id = NULL, meeting_id = NULL, meeting_uuid = NULL \
             WHERE meeting_id IN (SELECT zoom_meeting_id FROM meetings WHERE host_id = $1)",
        )
        .bind(doctor)
        .execute(&mut *tx)
        .await?;
        let flagged = sqlx::query(
            "UPDATE meetings SET state = 'failed', needs_reconnect = 1, last_error = $2, \
             updated_at = $3 WHERE host_id = $1 \
             AND state IN ('pending', 'ready', 'blocked', 'failed') \
             AND appointment_id IN (SELECT a.id FROM appointments a WHERE a.status = 'scheduled' \
             AND a.starts_at + a.duration_minutes * 60 > $3) RETURNING appointment_id",
        )
        .bind(doctor)
        .bind(reason.to_owned())
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for row in &flagged {
            let id: i64 = row.try_get("appointment_id")?;
            // The worker would only fail it again, with a vaguer reason.
            sqlx::query(
                "DELETE FROM meeting_jobs WHERE appointment_id = $1 AND lease_owner IS NULL",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            purged.flagged.push(id);
        }
        let touched = sqlx::query(
            "UPDATE meetings SET zoom_meeting_id = NULL, zoom_uuid = NULL, join_url_enc = NULL, \
             create_attempted = \
             CASE WHEN zoom_meeting_id IS NULL THEN create_attempted ELSE 1 END, \
             synced_version = -1, updated_at = $2 WHERE host_id = $1 RETURNING appointment_id",
        )
        .bind(doctor)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for row in &touched {
            purged.touched.push(row.try_get("appointment_id")?);
        }
        for needle in [zoom_user_id, email.as_str()] {
            if needle.is_empty() {
                continue;
            }
            sqlx::query(
                "UPDATE audit_log \
                 SET detail = '(Zoom user data deleted after the app was removed)' \
                 WHERE detail LIKE $1",
            )
            .bind(format!("%{needle}%"))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(purged)
    }
}
