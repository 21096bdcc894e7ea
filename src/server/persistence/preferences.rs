//! The clinic's default preferences, each doctor's own, and the bookkeeping that carries a
//! change to Zoom: a revision per doctor, the revision each meeting was last sent, and the
//! meeting creates and updates sent per host and day (Zoom's daily limit).

use super::{now_unix, Db, StoreError, StoreResult};
use crate::types::preferences::{
    parse_field_list, PreferenceField, PreferenceValues, ReminderLeads,
};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A doctor's own choices; `None` follows the clinic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnPreferences {
    pub visit_minutes: Option<u32>,
    pub host_video: Option<bool>,
    pub participant_video: Option<bool>,
    pub mute_upon_entry: Option<bool>,
    pub reminder_leads: Option<ReminderLeads>,
}

/// Everything that decides a doctor's preferences, read in one query.
#[derive(Debug, Clone)]
pub struct PreferencesRow {
    pub clinic: PreferenceValues,
    pub doctor_may_change: Vec<PreferenceField>,
    pub own: OwnPreferences,
    /// Bumped by every change Zoom must hear about; meetings record the one they were sent.
    pub revision: i64,
    /// `field=value` pairs Zoom kept against what was sent, as last read back.
    pub zoom_forced: Vec<(PreferenceField, bool)>,
}

impl PreferencesRow {
    /// What the doctor's visits get: their own value where they may change it and set one,
    /// otherwise the clinic's.
    pub fn effective(&self) -> PreferenceValues {
        let may = |field: PreferenceField| self.doctor_may_change.contains(&field);
        let c = &self.clinic;
        let o = &self.own;
        PreferenceValues {
            visit_minutes: o
                .visit_minutes
                .filter(|_| may(PreferenceField::VisitMinutes))
                .unwrap_or(c.visit_minutes),
            host_video: o
                .host_video
                .filter(|_| may(PreferenceField::HostVideo))
                .unwrap_or(c.host_video),
            participant_video: o
                .participant_video
                .filter(|_| may(PreferenceField::ParticipantVideo))
                .unwrap_or(c.participant_video),
            mute_upon_entry: o
                .mute_upon_entry
                .filter(|_| may(PreferenceField::MuteUponEntry))
                .unwrap_or(c.mute_upon_entry),
            reminder_leads: o
                .reminder_leads
                .clone()
                .filter(|_| may(PreferenceField::ReminderLeads))
                .unwrap_or_else(|| c.reminder_leads.clone()),
        }
    }
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}

fn minutes(raw: i64, what: &str) -> StoreResult<u32> {
    u32::try_from(raw).map_err(|e| corrupt(what, e))
}

fn leads(raw: &str, what: &str) -> StoreResult<ReminderLeads> {
    let minutes: Result<Vec<u32>, _> = raw.split(',').map(|m| m.trim().parse::<u32>()).collect();
    ReminderLeads::from_minutes(minutes.map_err(|e| corrupt(what, e))?)
        .map_err(|e| corrupt(what, e))
}

fn flag(row: &AnyRow, column: &str) -> StoreResult<Option<bool>> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(|v| v != 0))
}

fn forced_from(raw: Option<String>) -> Vec<(PreferenceField, bool)> {
    raw.unwrap_or_default()
        .split(',')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((PreferenceField::parse(key)?, value == "true"))
        })
        .collect()
}

const PREFERENCES_SELECT: &str = "SELECT c.visit_minutes AS c_minutes, \
    c.host_video AS c_host_video, c.participant_video AS c_participant_video, \
    c.mute_upon_entry AS c_mute, c.reminder_leads AS c_leads, c.doctor_may_change, \
    d.visit_minutes AS d_minutes, d.host_video AS d_host_video, \
    d.participant_video AS d_participant_video, d.mute_upon_entry AS d_mute, \
    d.reminder_leads AS d_leads, d.revision, d.zoom_forced \
    FROM clinic_preferences c LEFT JOIN doctor_preferences d ON d.user_id = $1 \
    WHERE c.id = 1";

fn preferences_from_row(row: &AnyRow) -> StoreResult<PreferencesRow> {
    let c_leads: String = row.try_get("c_leads")?;
    let may: String = row.try_get("doctor_may_change")?;
    let d_leads: Option<String> = row.try_get("d_leads")?;
    let d_minutes: Option<i64> = row.try_get("d_minutes")?;
    Ok(PreferencesRow {
        clinic: PreferenceValues {
            visit_minutes: minutes(
                row.try_get("c_minutes")?,
                "clinic_preferences.visit_minutes",
            )?,
            host_video: flag(row, "c_host_video")?.unwrap_or(true),
            participant_video: flag(row, "c_participant_video")?.unwrap_or(true),
            mute_upon_entry: flag(row, "c_mute")?.unwrap_or(false),
            reminder_leads: leads(&c_leads, "clinic_preferences.reminder_leads")?,
        },
        doctor_may_change: parse_field_list(&may)
            .map_err(|e| corrupt("clinic_preferences.doctor_may_change", e))?,
        own: OwnPreferences {
            visit_minutes: d_minutes
                .map(|m| minutes(m, "doctor_preferences.visit_minutes"))
                .transpose()?,
            host_video: flag(row, "d_host_video")?,
            participant_video: flag(row, "d_participant_video")?,
            mute_upon_entry: flag(row, "d_mute")?,
            reminder_leads: d_leads
                .map(|l| leads(&l, "doctor_preferences.reminder_leads"))
                .transpose()?,
        },
        revision: row.try_get::<Option<i64>, _>("revision")?.unwrap_or(0),
        zoom_forced: forced_from(row.try_get("zoom_forced")?),
    })
}

fn bit(value: bool) -> i64 {
    i64::from(value)
}

/// Queues an update of every upcoming meeting of `doctor_id` (visits still ahead, not
/// cancelled, hosted by that doctor), one second apart and soonest visit first. A job already
/// queued keeps the earlier of its own due time and this one, so a pending create is not
/// delayed. Past, cancelled, failed and closed meetings are left alone.
async fn queue_upcoming(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    doctor_id: i64,
    now: i64,
) -> StoreResult<u64> {
    let rows = sqlx::query(
        "SELECT a.id FROM appointments a JOIN meetings m ON m.appointment_id = a.id \
         WHERE a.doctor_id = $1 AND a.status = 'scheduled' AND a.starts_at > $2 \
         AND m.host_id = a.doctor_id AND m.state IN ('pending', 'ready', 'blocked') \
         ORDER BY a.starts_at, a.id",
    )
    .bind(doctor_id)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    let mut queued = 0;
    for (i, row) in rows.iter().enumerate() {
        let id: i64 = row.try_get("id")?;
        sqlx::query(
            "INSERT INTO meeting_jobs (appointment_id, generation, due_at, attempts, created_at) \
             VALUES ($1, 0, $2, 0, $3) \
             ON CONFLICT (appointment_id) DO UPDATE SET \
             generation = meeting_jobs.generation + 1, \
             due_at = CASE WHEN meeting_jobs.due_at < excluded.due_at \
             THEN meeting_jobs.due_at ELSE excluded.due_at END",
        )
        .bind(id)
        .bind(now + i as i64)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        queued += 1;
    }
    Ok(queued)
}

impl Db {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn preferences_of(&self, doctor_id: i64) -> StoreResult<PreferencesRow> {
        let row = sqlx::query(PREFERENCES_SELECT)
            .bind(doctor_id)
            .fetch_one(&self.pool)
            .await?;
        preferences_from_row(&row)
    }

    /// The reminder lead times (minutes before the visit, largest first) that apply to
    /// `doctor_id`'s visits: for the notifications.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reminder_leads(&self, doctor_id: i64) -> StoreResult<Vec<u32>> {
        Ok(self
            .preferences_of(doctor_id)
            .await?
            .effective()
            .reminder_leads
            .minutes()
            .to_vec())
    }

    /// Each doctor's own default visit length, where set (whether the clinic lets them is
    /// decided by the caller with the clinic's row).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn own_visit_minutes(&self) -> StoreResult<Vec<(i64, u32)>> {
        let rows = sqlx::query(
            "SELECT user_id, visit_minutes FROM doctor_preferences WHERE visit_minutes IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("user_id")?,
                    minutes(
                        r.try_get("visit_minutes")?,
                        "doctor_preferences.visit_minutes",
                    )?,
                ))
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn save_clinic_preferences(
        &self,
        values: &PreferenceValues,
        doctor_may_change: &[PreferenceField],
    ) -> StoreResult<()> {
        let may: Vec<&str> = doctor_may_change.iter().map(|f| f.key()).collect();
        sqlx::query(
            "UPDATE clinic_preferences SET visit_minutes = $1, host_video = $2, \
             participant_video = $3, mute_upon_entry = $4, reminder_leads = $5, \
             doctor_may_change = $6, updated_at = $7 WHERE id = 1",
        )
        .bind(i64::from(values.visit_minutes))
        .bind(bit(values.host_video))
        .bind(bit(values.participant_video))
        .bind(bit(values.mute_upon_entry))
        .bind(values.reminder_leads.to_stored())
        .bind(may.join(","))
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores a doctor's own choices. With `resend`, bumps their revision and queues an
    /// update of each upcoming meeting, in the same transaction; answers how many.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn save_doctor_preferences(
        &self,
        doctor_id: i64,
        own: &OwnPreferences,
        resend: bool,
    ) -> StoreResult<u64> {
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO doctor_preferences (user_id, visit_minutes, host_video, \
             participant_video, mute_upon_entry, reminder_leads, revision, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (user_id) DO UPDATE SET visit_minutes = excluded.visit_minutes, \
             host_video = excluded.host_video, participant_video = excluded.participant_video, \
             mute_upon_entry = excluded.mute_upon_entry, \
             reminder_leads = excluded.reminder_leads, \
             revision = doctor_preferences.revision + excluded.revision, \
             updated_at = excluded.updated_at",
        )
        .bind(doctor_id)
        .bind(own.visit_minutes.map(i64::from))
        .bind(own.host_video.map(bit))
        .bind(own.participant_video.map(bit))
        .bind(own.mute_upon_entry.map(bit))
        .bind(own.reminder_leads.as_ref().map(ReminderLeads::to_stored))
        .bind(i64::from(resend))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let queued = if resend {
            queue_upcoming(&mut tx, doctor_id, now).await?
        } else {
            0
        };
        tx.commit().await?;
        Ok(queued)
    }

    /// The clinic's values changed what `doctor_id`'s meetings get: bumps their revision and
    /// queues an update of each upcoming meeting; answers how many.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn resend_preferences(&self, doctor_id: i64) -> StoreResult<u64> {
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO doctor_preferences (user_id, revision, updated_at) VALUES ($1, 1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET revision = doctor_preferences.revision + 1",
        )
        .bind(doctor_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let queued = queue_upcoming(&mut tx, doctor_id, now).await?;
        tx.commit().await?;
        Ok(queued)
    }

    /// What Zoom kept against a doctor's preferences, as the last read-back showed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_zoom_forced(
        &self,
        doctor_id: i64,
        forced: &[(PreferenceField, bool)],
    ) -> StoreResult<()> {
        let text: Vec<String> = forced
            .iter()
            .map(|(f, v)| format!("{}={v}", f.key()))
            .collect();
        let text = (!text.is_empty()).then(|| text.join(","));
        sqlx::query(
            "INSERT INTO doctor_preferences (user_id, zoom_forced, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET zoom_forced = excluded.zoom_forced",
        )
        .bind(doctor_id)
        .bind(text)
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The preference revision a meeting was last sent with.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn meeting_prefs_revision(&self, appointment_id: i64) -> StoreResult<i64> {
        let row = sqlx::query("SELECT prefs_revision FROM meetings WHERE appointment_id = $1")
            .bind(appointment_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get("prefs_revision")?,
            None => 0,
        })
    }

    /// Zoom has the preferences of `revision` of the meeting's host. Set as it is, not only
    /// upwards: after a change of doctor the new host's revisions count from their own start.
    /// (Only the job's lease holder writes it, so an older run cannot land after a newer one.)
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn meeting_prefs_sent(&self, appointment_id: i64, revision: i64) -> StoreResult<()> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        sqlx::query("UPDATE meetings SET prefs_revision = $2 WHERE appointment_id = $1")
            .bind(appointment_id)
            .bind(revision)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Counts one meeting create or update sent for `host_id` on UTC day `day`; answers the
    /// day's count so far.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_zoom_call(&self, host_id: i64, day: i64) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO zoom_daily_calls (host_id, day, calls) VALUES ($1, $2, 1) \
             ON CONFLICT (host_id, day) DO UPDATE SET calls = zoom_daily_calls.calls + 1 \
             RETURNING calls",
        )
        .bind(host_id)
        .bind(day)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("calls")?)
    }

    /// Meeting creates and updates sent for `host_id` on UTC day `day`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn zoom_calls_on(&self, host_id: i64, day: i64) -> StoreResult<i64> {
        let row = sqlx::query("SELECT calls FROM zoom_daily_calls WHERE host_id = $1 AND day = $2")
            .bind(host_id)
            .bind(day)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get("calls")?,
            None => 0,
        })
    }
}
