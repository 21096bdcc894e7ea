//! Appointments, the meeting behind each, and the queue of Zoom work. Every change that Zoom
//! must hear about is written together with its job in one transaction, so a visit is never
//! saved without the work that gives it a meeting, whatever happens to the process next.

use super::{now_unix, Db, StoreError, StoreResult};
use crate::domain::{MeetingState, TimeZone, VisitId, VisitLength, VisitStart};
use crate::server::config::DatabaseBackend;
use chrono::DateTime;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// Which appointments a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Everything,
    DoctorOf(i64),
    PatientOf(i64),
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub name: Option<String>,
    pub email: String,
    pub time_zone: Option<TimeZone>,
}

impl Person {
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.email.clone())
    }
}

#[derive(Debug, Clone)]
pub struct MeetingRow {
    pub host_id: i64,
    pub marker: String,
    pub state: MeetingState,
    pub zoom_meeting_id: Option<i64>,
    pub zoom_uuid: Option<String>,
    pub join_url_enc: Option<String>,
    pub passcode_enc: Option<String>,
    pub create_attempted: bool,
    pub settings_warning: Option<String>,
    pub synced_version: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// What Zoom's webhooks reported about the meeting.
    pub live: super::LiveRow,
}

#[derive(Debug, Clone)]
pub struct AppointmentRow {
    pub id: i64,
    pub public_id: VisitId,
    pub doctor: Person,
    pub patient: Person,
    pub start: VisitStart,
    pub length: VisitLength,
    pub reason: Option<String>,
    pub cancelled: bool,
    pub version: i64,
    pub meeting: MeetingRow,
}

impl AppointmentRow {
    pub fn ends_at(&self) -> i64 {
        self.start.utc().timestamp() + i64::from(self.length.minutes()) * 60
    }
}

pub struct NewAppointment<'a> {
    pub public_id: &'a VisitId,
    pub doctor_id: i64,
    pub patient_id: i64,
    pub start: VisitStart,
    pub length: VisitLength,
    pub reason: Option<&'a str>,
    pub created_by: i64,
    pub marker: &'a str,
}

/// A claimed job: which appointment, and which generation of its work.
#[derive(Debug, Clone, Copy)]
pub struct JobTicket {
    pub appointment_id: i64,
    pub generation: i64,
    pub attempts: i64,
}

/// What a list shows of an appointment (see `APPOINTMENT_LIST_SELECT`), in the order of
/// `ListedColumns`' fields: a list arrives as JSON arrays of these, by position.
macro_rules! listed_columns {
    () => {
        "SELECT a.id, a.public_id, a.starts_at, a.booked_zone, \
         a.duration_minutes, a.reason, a.status, a.version, \
         d.id AS d_id, d.display_name AS d_name, d.email AS d_email, d.time_zone AS d_zone, \
         p.id AS p_id, p.display_name AS p_name, p.email AS p_email, p.time_zone AS p_zone, \
         m.state, m.settings_warning, m.attempts, \
         m.last_error, m.live_waiting_since, m.live_started_at, m.live_ended_at"
    };
}

/// The names `listed_columns!` gives its columns, in the same order.
macro_rules! listed_names {
    () => {
        "id, public_id, starts_at, booked_zone, duration_minutes, reason, status, version, \
         d_id, d_name, d_email, d_zone, p_id, p_name, p_email, p_zone, \
         state, settings_warning, attempts, last_error, \
         live_waiting_since, live_started_at, live_ended_at"
    };
}

macro_rules! appointment_joins {
    () => {
        " FROM appointments a \
         JOIN users d ON d.id = a.doctor_id \
         JOIN users p ON p.id = a.patient_id \
         JOIN meetings m ON m.appointment_id = a.id"
    };
}

/// An appointment with everything the meeting worker and the link grants need.
const APPOINTMENT_SELECT: &str = concat!(
    listed_columns!(),
    ", m.host_id, m.marker, m.zoom_meeting_id, m.zoom_uuid, m.join_url_enc, \
     m.passcode_enc, m.create_attempted, m.synced_version",
    appointment_joins!()
);

/// The same without what only the meeting worker and the link grants use (Zoom's ids, the
/// sealed join URL and passcode): a list shows none of it, so it neither reads nor carries
/// it, and a busy list moves a third fewer columns.
const APPOINTMENT_LIST_SELECT: &str = concat!(listed_columns!(), appointment_joins!());

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}

fn zone(raw: Option<String>, what: &str) -> StoreResult<Option<TimeZone>> {
    raw.map(|z| TimeZone::parse(&z))
        .transpose()
        .map_err(|e| corrupt(what, e))
}

fn appointment_from_row(row: &AnyRow) -> StoreResult<AppointmentRow> {
    let mut appointment = listed_appointment_from_row(row)?;
    let create_attempted: i64 = row.try_get("create_attempted")?;
    let meeting = &mut appointment.meeting;
    meeting.host_id = row.try_get("host_id")?;
    meeting.marker = row.try_get("marker")?;
    meeting.zoom_meeting_id = row.try_get("zoom_meeting_id")?;
    meeting.zoom_uuid = row.try_get("zoom_uuid")?;
    meeting.join_url_enc = row.try_get("join_url_enc")?;
    meeting.passcode_enc = row.try_get("passcode_enc")?;
    meeting.create_attempted = create_attempted != 0;
    meeting.synced_version = row.try_get("synced_version")?;
    Ok(appointment)
}

/// A row of `APPOINTMENT_LIST_SELECT`: the meeting's Zoom ids and sealed values are empty.
fn listed_appointment_from_row(row: &AnyRow) -> StoreResult<AppointmentRow> {
    ListedColumns {
        id: row.try_get("id")?,
        public_id: row.try_get("public_id")?,
        starts_at: row.try_get("starts_at")?,
        booked_zone: row.try_get("booked_zone")?,
        duration_minutes: row.try_get("duration_minutes")?,
        reason: row.try_get("reason")?,
        status: row.try_get("status")?,
        version: row.try_get("version")?,
        d_id: row.try_get("d_id")?,
        d_name: row.try_get("d_name")?,
        d_email: row.try_get("d_email")?,
        d_zone: row.try_get("d_zone")?,
        p_id: row.try_get("p_id")?,
        p_name: row.try_get("p_name")?,
        p_email: row.try_get("p_email")?,
        p_zone: row.try_get("p_zone")?,
        state: row.try_get("state")?,
        settings_warning: row.try_get("settings_warning")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        live_waiting_since: row.try_get("live_waiting_since")?,
        live_started_at: row.try_get("live_started_at")?,
        live_ended_at: row.try_get("live_ended_at")?,
    }
    .into_appointment()
}

/// The columns of `listed_columns!`, read by name from a row or by position from the JSON
/// array the list query makes of each row (`listed_names!` order: serde reads a JSON array
/// into a struct field by field).
#[derive(serde::Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct ListedColumns {
    id: i64,
    public_id: String,
    starts_at: i64,
    booked_zone: String,
    duration_minutes: i64,
    reason: Option<String>,
    status: String,
    version: i64,
    d_id: i64,
    d_name: Option<String>,
    d_email: String,
    d_zone: Option<String>,
    p_id: i64,
    p_name: Option<String>,
    p_email: String,
    p_zone: Option<String>,
    state: String,
    settings_warning: Option<String>,
    attempts: i64,
    last_error: Option<String>,
    live_waiting_since: Option<i64>,
    live_started_at: Option<i64>,
    live_ended_at: Option<i64>,
}

impl ListedColumns {
    fn into_appointment(self) -> StoreResult<AppointmentRow> {
        let booked_zone = TimeZone::parse(&self.booked_zone)
            .map_err(|e| corrupt("appointments.booked_zone", e))?;
        let at = DateTime::from_timestamp(self.starts_at, 0)
            .ok_or_else(|| corrupt("appointments.starts_at", self.starts_at))?;
        Ok(AppointmentRow {
            id: self.id,
            public_id: VisitId::parse(&self.public_id)
                .map_err(|e| corrupt("appointments.public_id", e))?,
            doctor: Person {
                id: self.d_id,
                name: self.d_name,
                email: self.d_email,
                time_zone: zone(self.d_zone, "users.time_zone")?,
            },
            patient: Person {
                id: self.p_id,
                name: self.p_name,
                email: self.p_email,
                time_zone: zone(self.p_zone, "users.time_zone")?,
            },
            start: VisitStart::from_utc(at, booked_zone),
            length: VisitLength::from_minutes(u32::try_from(self.duration_minutes).unwrap_or(0))
                .map_err(|e| corrupt("appointments.duration_minutes", e))?,
            reason: self.reason,
            cancelled: self.status == "cancelled",
            version: self.version,
            meeting: MeetingRow {
                host_id: 0,
                marker: String::new(),
                state: MeetingState::parse(&self.state)
                    .map_err(|e| corrupt("meetings.state", e))?,
                zoom_meeting_id: None,
                zoom_uuid: None,
                join_url_enc: None,
                passcode_enc: None,
                create_attempted: false,
                settings_warning: self.settings_warning,
                synced_version: 0,
                attempts: self.attempts,
                last_error: self.last_error,
                live: super::LiveRow {
                    waiting_since: self.live_waiting_since,
                    started_at: self.live_started_at,
                    ended_at: self.live_ended_at,
                },
            },
        })
    }
}

/// Queues "make Zoom match this appointment", due now. A job already queued gets a new
/// generation, so a worker busy with the old one does not delete the new work when it ends.
pub(super) async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    appointment_id: i64,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO meeting_jobs (appointment_id, generation, due_at, attempts, created_at) \
         VALUES ($1, 0, $2, 0, $2) \
         ON CONFLICT (appointment_id) DO UPDATE SET generation = meeting_jobs.generation + 1, \
         due_at = excluded.due_at, attempts = 0",
    )
    .bind(appointment_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Db {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_appointment(&self, new: NewAppointment<'_>) -> StoreResult<i64> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO appointments (public_id, doctor_id, patient_id, starts_at, booked_zone, \
             duration_minutes, reason, status, version, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'scheduled', 0, $8, $9, $9) RETURNING id",
        )
        .bind(new.public_id.as_str().to_owned())
        .bind(new.doctor_id)
        .bind(new.patient_id)
        .bind(new.start.utc().timestamp())
        .bind(new.start.booked_in().name().to_owned())
        .bind(i64::from(new.length.minutes()))
        .bind(new.reason.map(str::to_owned))
        .bind(new.created_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        let id: i64 = row.try_get("id")?;
        sqlx::query(
            "INSERT INTO meetings (appointment_id, host_id, marker, state, updated_at) \
             VALUES ($1, $2, $3, 'pending', $4)",
        )
        .bind(id)
        .bind(new.doctor_id)
        .bind(new.marker.to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        enqueue(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The appointments `visibility` allows from `since` on, soonest first, as a list shows
    /// them: without Zoom's ids or the sealed join URL and passcode.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn appointments(
        &self,
        visibility: Visibility,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<AppointmentRow>> {
        let (filter, subject) = match visibility {
            Visibility::Everything => ("$2 = $2", 0),
            Visibility::DoctorOf(id) => ("a.doctor_id = $2", id),
            Visibility::PatientOf(id) => ("a.patient_id = $2", id),
        };
        // The database hands the whole list over as one JSON text: row by row, the driver
        // copied every value twice and passed each row between threads, most of a long
        // list's cost (a receptionist's 500 took ~8 ms).
        let aggregate = match self.backend {
            DatabaseBackend::Sqlite => concat!(
                "json_group_array(json_array(",
                listed_names!(),
                ") ORDER BY starts_at, id)"
            ),
            DatabaseBackend::Postgres => concat!(
                "COALESCE(json_agg(json_build_array(",
                listed_names!(),
                ") ORDER BY starts_at, id)::text, '[]')"
            ),
        };
        let sql = format!(
            "SELECT {aggregate} AS visits FROM ({APPOINTMENT_LIST_SELECT} \
             WHERE a.starts_at >= $1 AND {filter} ORDER BY a.starts_at, a.id LIMIT $3) listed"
        );
        let row = sqlx::query(&sql)
            .bind(since)
            .bind(subject)
            .bind(limit)
            .fetch_one(&self.pool)
            .await?;
        let listed: String = row.try_get("visits")?;
        serde_json::from_str::<Vec<ListedColumns>>(&listed)
            .map_err(|e| corrupt("appointments (list)", e))?
            .into_iter()
            .map(ListedColumns::into_appointment)
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn appointment(&self, public_id: &VisitId) -> StoreResult<Option<AppointmentRow>> {
        let sql = format!("{APPOINTMENT_SELECT} WHERE a.public_id = $1");
        let row = sqlx::query(&sql)
            .bind(public_id.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(appointment_from_row).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn appointment_by_id(&self, id: i64) -> StoreResult<Option<AppointmentRow>> {
        let sql = format!("{APPOINTMENT_SELECT} WHERE a.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(appointment_from_row).transpose()
    }

    /// Whether the patient already sees this doctor: what lets a doctor book them again.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn is_patient_of(&self, doctor_id: i64, patient_id: i64) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM appointments WHERE doctor_id = $1 AND patient_id = $2",
        )
        .bind(doctor_id)
        .bind(patient_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Applies a change to a scheduled appointment and queues the Zoom work it needs, in one
    /// transaction. `false` when the appointment was cancelled (or is gone) meanwhile.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn change_appointment(
        &self,
        id: i64,
        set: &str,
        binds: &[i64],
        text: Option<&str>,
    ) -> StoreResult<bool> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        // `set` numbers its own values from $3, after the two every change binds.
        let sql = format!(
            "UPDATE appointments SET version = version + 1, updated_at = $1, {set} \
             WHERE id = $2 AND status = 'scheduled'"
        );
        let mut query = sqlx::query(&sql).bind(now).bind(id);
        for value in binds {
            query = query.bind(*value);
        }
        if let Some(text) = text {
            query = query.bind(text.to_owned());
        }
        let changed = query.execute(&mut *tx).await?.rows_affected() == 1;
        if changed {
            sqlx::query(
                "UPDATE meetings SET state = 'pending', last_error = NULL, updated_at = $2 \
                 WHERE appointment_id = $1",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            enqueue(&mut tx, id, now).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reschedule_appointment(
        &self,
        id: i64,
        start: VisitStart,
        length: VisitLength,
    ) -> StoreResult<bool> {
        self.change_appointment(
            id,
            "starts_at = $3, duration_minutes = $4, booked_zone = $5",
            &[start.utc().timestamp(), i64::from(length.minutes())],
            Some(start.booked_in().name()),
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn change_doctor(&self, id: i64, doctor_id: i64) -> StoreResult<bool> {
        self.change_appointment(id, "doctor_id = $3", &[doctor_id], None)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn cancel_appointment(&self, id: i64) -> StoreResult<bool> {
        self.change_appointment(id, "status = 'cancelled'", &[], None)
            .await
    }

    /// Queues the Zoom work again for a meeting that failed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn retry_meeting(&self, id: i64) -> StoreResult<bool> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE meetings SET state = 'pending', last_error = NULL, updated_at = $2 \
             WHERE appointment_id = $1 AND state = 'failed'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if changed {
            enqueue(&mut tx, id, now).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    // ---- the job queue ----

    /// Jobs due now that nobody holds, oldest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn due_jobs(&self, now: i64, limit: i64) -> StoreResult<Vec<JobTicket>> {
        let rows = sqlx::query(
            "SELECT appointment_id, generation, attempts FROM meeting_jobs \
             WHERE due_at <= $1 AND lease_until < $1 AND fence_until < $1 \
             ORDER BY due_at, appointment_id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JobTicket {
                    appointment_id: r.try_get("appointment_id")?,
                    generation: r.try_get("generation")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Takes a job for `owner` until `lease_until`, if no other worker holds it: the
    /// conditional update is the lock, across threads and app instances alike.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_job(
        &self,
        job: &JobTicket,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> StoreResult<bool> {
        let claimed = sqlx::query(
            "UPDATE meeting_jobs SET lease_owner = $1, lease_until = $2 \
             WHERE appointment_id = $3 AND generation = $4 AND lease_until < $5 AND due_at <= $5 \
             AND fence_until < $5",
        )
        .bind(owner.to_owned())
        .bind(lease_until)
        .bind(job.appointment_id)
        .bind(job.generation)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    /// Done: removes the job unless newer work arrived meanwhile, which then runs next.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn finish_job(&self, job: &JobTicket, owner: &str) -> StoreResult<()> {
        // Not ours any more (our lease ran out and another worker took over): leave it.
        let deleted = sqlx::query(
            "DELETE FROM meeting_jobs WHERE appointment_id = $1 AND generation = $2 \
             AND lease_owner = $3",
        )
        .bind(job.appointment_id)
        .bind(job.generation)
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if deleted == 0 {
            self.release_job(job.appointment_id, owner).await?;
        }
        Ok(())
    }

    /// Gives a job back, due at `due_at`, after a failure worth retrying. If newer work was
    /// queued meanwhile (another generation), that work keeps its own due time; either way
    /// the fence stays, so nobody takes the job before a request of ours can still land.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn postpone_job(
        &self,
        job: &JobTicket,
        owner: &str,
        due_at: i64,
        attempts: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE meeting_jobs SET due_at = $1, attempts = $2, lease_owner = NULL, lease_until = 0 \
             WHERE appointment_id = $3 AND generation = $4 AND lease_owner = $5",
        )
        .bind(due_at)
        .bind(attempts)
        .bind(job.appointment_id)
        .bind(job.generation)
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?;
        self.release_job(job.appointment_id, owner).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn release_job(&self, appointment_id: i64, owner: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE meeting_jobs SET lease_owner = NULL, lease_until = 0 \
             WHERE appointment_id = $1 AND lease_owner = $2",
        )
        .bind(appointment_id)
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn pending_job_count(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM meeting_jobs")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    // ---- the meeting mapping ----

    /// Before a change is sent to Zoom (an update or a delete): extends the lease and the
    /// fence to `held_until`, past the last moment the request can be in flight, while `owner`
    /// still holds the job. False when the lease was lost: the caller must not send.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn fence_call(
        &self,
        appointment_id: i64,
        owner: &str,
        held_until: i64,
    ) -> StoreResult<bool> {
        let fenced = sqlx::query(
            "UPDATE meeting_jobs SET \
             lease_until = CASE WHEN lease_until > $3 THEN lease_until ELSE $3 END, \
             fence_until = CASE WHEN fence_until > $3 THEN fence_until ELSE $3 END \
             WHERE appointment_id = $1 AND lease_owner = $2 AND lease_until >= $4",
        )
        .bind(appointment_id)
        .bind(owner.to_owned())
        .bind(held_until)
        .bind(now_unix())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(fenced == 1)
    }

    /// The answer to our last request came (or it failed for certain): nothing of ours is in
    /// flight any more, so the job may be taken as soon as it is due.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn clear_fence(&self, appointment_id: i64, owner: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE meeting_jobs SET fence_until = 0 WHERE appointment_id = $1 AND lease_owner = $2",
        )
        .bind(appointment_id)
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records, before calling Zoom, that a create may reach it, with the passcode it sends:
    /// the fence that keeps a meeting from being created twice. It succeeds only while
    /// `owner` still holds the job's lease, which it extends to `held_until` (past the last
    /// moment the create request can be in flight), so no other worker can act meanwhile.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mark_create_attempted(
        &self,
        appointment_id: i64,
        owner: &str,
        held_until: i64,
        passcode_enc: String,
    ) -> StoreResult<bool> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        let now = now_unix();
        let mut tx = self.pool.begin().await?;
        // Rows are locked in the order every transaction here uses (appointment, meeting,
        // job); the reverse order deadlocks against a concurrent cancel on PostgreSQL.
        let marked = sqlx::query(
            "UPDATE meetings SET create_attempted = 1, passcode_enc = $2, \
             attempts = attempts + 1, updated_at = $3 WHERE appointment_id = $1 \
             AND EXISTS (SELECT 1 FROM meeting_jobs j WHERE j.appointment_id = $1 \
             AND j.lease_owner = $4 AND j.lease_until >= $3)",
        )
        .bind(appointment_id)
        .bind(passcode_enc)
        .bind(now)
        .bind(owner.to_owned())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let extended = marked
            && sqlx::query(
                "UPDATE meeting_jobs SET \
                 lease_until = CASE WHEN lease_until > $3 THEN lease_until ELSE $3 END, \
                 fence_until = CASE WHEN fence_until > $3 THEN fence_until ELSE $3 END \
                 WHERE appointment_id = $1 AND lease_owner = $2 AND lease_until >= $4",
            )
            .bind(appointment_id)
            .bind(owner.to_owned())
            .bind(held_until)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
        if !extended {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(extended)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_meeting(
        &self,
        appointment_id: i64,
        zoom_meeting_id: i64,
        zoom_uuid: Option<&str>,
        join_url_enc: String,
        synced_version: i64,
    ) -> StoreResult<()> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        sqlx::query(
            "UPDATE meetings SET zoom_meeting_id = $2, zoom_uuid = $3, join_url_enc = $4, \
             synced_version = $5, updated_at = $6 WHERE appointment_id = $1",
        )
        .bind(appointment_id)
        .bind(zoom_meeting_id)
        .bind(zoom_uuid.map(str::to_owned))
        .bind(join_url_enc)
        .bind(synced_version)
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The meeting was read back: ready, with a warning if Zoom overrode our settings.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn meeting_ready(
        &self,
        appointment_id: i64,
        zoom_uuid: Option<&str>,
        settings_warning: Option<&str>,
    ) -> StoreResult<()> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        sqlx::query(
            "UPDATE meetings SET state = 'ready', zoom_uuid = COALESCE($2, zoom_uuid), \
             settings_warning = $3, last_error = NULL, updated_at = $4 \
             WHERE appointment_id = $1 AND synced_version = \
             (SELECT version FROM appointments a WHERE a.id = meetings.appointment_id)",
        )
        .bind(appointment_id)
        .bind(zoom_uuid.map(str::to_owned))
        .bind(settings_warning.map(str::to_owned))
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Zoom has the appointment's `version` (the meeting still gets read back before it is
    /// ready).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn meeting_synced(&self, appointment_id: i64, version: i64) -> StoreResult<()> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        sqlx::query(
            "UPDATE meetings SET synced_version = $2, updated_at = $3 WHERE appointment_id = $1",
        )
        .bind(appointment_id)
        .bind(version)
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets the Zoom meeting (deleted, or gone at Zoom) so the next step creates one on
    /// `host_id`'s Zoom user. `create_attempted` stays set: a meeting Zoom reported missing
    /// may still be a create in flight, so the next step looks for the marker first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn forget_meeting(&self, appointment_id: i64, host_id: i64) -> StoreResult<()> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        sqlx::query(
            "UPDATE meetings SET zoom_meeting_id = NULL, zoom_uuid = NULL, join_url_enc = NULL, \
             create_attempted = 1, settings_warning = NULL, synced_version = -1, host_id = $2, \
             updated_at = $3 WHERE appointment_id = $1",
        )
        .bind(appointment_id)
        .bind(host_id)
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The join link Zoom reports now (sealed), after a read-back.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_join_url(
        &self,
        appointment_id: i64,
        join_url_enc: String,
    ) -> StoreResult<()> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        sqlx::query(
            "UPDATE meetings SET join_url_enc = $2, updated_at = $3 \
             WHERE appointment_id = $1 AND zoom_meeting_id IS NOT NULL",
        )
        .bind(appointment_id)
        .bind(join_url_enc)
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// After the visit: the meeting was removed at Zoom (or never existed there).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn meeting_closed(&self, appointment_id: i64) -> StoreResult<()> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        sqlx::query(
            "UPDATE meetings SET state = 'closed', join_url_enc = NULL, last_error = NULL, \
             settings_warning = NULL, updated_at = $2 WHERE appointment_id = $1",
        )
        .bind(appointment_id)
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Queues the Zoom work of every visit that ended more than `grace_secs` ago and still
    /// has (or may have) a meeting at Zoom, so the worker removes it. Returns how many.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn queue_finished_visits(&self, now: i64, grace_secs: i64) -> StoreResult<u64> {
        let rows = sqlx::query(
            "SELECT a.id FROM appointments a JOIN meetings m ON m.appointment_id = a.id \
             WHERE a.status = 'scheduled' AND a.starts_at + a.duration_minutes * 60 + $1 < $2 \
             AND m.state NOT IN ('closed', 'cancelled') \
             AND NOT EXISTS (SELECT 1 FROM meeting_jobs j WHERE j.appointment_id = a.id) \
             LIMIT 200",
        )
        .bind(grace_secs)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        self.enqueue_rows(&rows, "id", now).await
    }

    /// The clinic's Zoom admin says a lock is fixed: every blocked meeting is checked again
    /// now. Returns how many.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recheck_blocked(&self) -> StoreResult<u64> {
        let now = now_unix();
        let rows = sqlx::query("SELECT appointment_id FROM meetings WHERE state = 'blocked'")
            .fetch_all(&self.pool)
            .await?;
        self.enqueue_rows(&rows, "appointment_id", now).await
    }

    /// Queues the work of every appointment whose id is in `column` of `rows`, in one
    /// transaction. Returns how many.
    async fn enqueue_rows(&self, rows: &[AnyRow], column: &str, now: i64) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        for row in rows {
            enqueue(&mut tx, row.try_get(column)?, now).await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn meeting_cancelled(&self, appointment_id: i64) -> StoreResult<()> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        sqlx::query(
            "UPDATE meetings SET state = 'cancelled', zoom_meeting_id = NULL, zoom_uuid = NULL, \
             join_url_enc = NULL, last_error = NULL, updated_at = $2 WHERE appointment_id = $1",
        )
        .bind(appointment_id)
        .bind(now_unix())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a failed attempt: still `pending` while it will be retried, `failed` when a
    /// person must act. The reason is shown to the doctor and admins.
    ///
    /// Only the worker holding the job writes: one whose lease ran out must not overwrite
    /// what the new holder found.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn meeting_attempt_failed(
        &self,
        appointment_id: i64,
        owner: &str,
        state: MeetingState,
        reason: &str,
    ) -> StoreResult<()> {
        // Announced when this ends, also if it is cut off after its commit.
        let _announce = self.visits_changing();
        sqlx::query(
            "UPDATE meetings SET state = $2, last_error = $3, updated_at = $4 \
             WHERE appointment_id = $1 AND EXISTS (SELECT 1 FROM meeting_jobs j \
             WHERE j.appointment_id = $1 AND j.lease_owner = $5)",
        )
        .bind(appointment_id)
        .bind(state.as_str().to_owned())
        .bind(reason.to_owned())
        .bind(now_unix())
        .bind(owner.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ListedColumns;
    use serde_json::{Map, Value};

    /// The list reads each row's JSON array by position: `listed_names!` must name the
    /// columns in the order of `ListedColumns`' fields. The same distinct values read once by
    /// name (a JSON object) and once by position (an array in `listed_names!` order) must
    /// give the same struct; a column moved in either list gives another.
    #[test]
    fn the_listed_names_are_in_the_order_of_the_columns_struct() {
        let names: Vec<&str> = listed_names!().split(',').map(str::trim).collect();
        let numbers = [
            "id",
            "starts_at",
            "duration_minutes",
            "version",
            "d_id",
            "p_id",
            "attempts",
            "live_waiting_since",
            "live_started_at",
            "live_ended_at",
        ];
        let value = |i: usize, name: &str| {
            if numbers.contains(&name) {
                Value::from(1000 + i as i64)
            } else {
                Value::from(format!("{name}-{i}"))
            }
        };
        let by_name: Map<String, Value> = names
            .iter()
            .enumerate()
            .map(|(i, name)| ((*name).to_owned(), value(i, name)))
            .collect();
        let by_position: Vec<Value> = names.iter().enumerate().map(|(i, n)| value(i, n)).collect();
        let from_object: ListedColumns = serde_json::from_value(Value::Object(by_name)).unwrap();
        let from_array: ListedColumns = serde_json::from_value(Value::Array(by_position)).unwrap();
        assert_eq!(from_object, from_array);
    }
}
