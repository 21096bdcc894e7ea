//! Appointments and their meetings. Every function first finds out who calls and what they
//! may see: an appointment outside the caller's view is "not found" (its existence is not
//! confirmed), one they see but may not act on is "forbidden". Start and join links are
//! fetched or decrypted only after those checks, and never appear in a refusal.

use crate::domain::{MeetingState, TimeZone, VisitLength, VisitStart};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How early before the start a patient may join.
pub const JOIN_OPENS_BEFORE_SECS: i64 = 15 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingView {
    pub state: MeetingState,
    /// Why it is pending or failed, for staff; patients get a plain-language state only.
    pub reason: Option<String>,
    /// Zoom overrode a setting we asked for (waiting room, passcode).
    pub warning: Option<String>,
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitView {
    pub id: String,
    pub doctor_id: i64,
    pub doctor: String,
    pub patient_id: i64,
    pub patient: String,
    /// Unix seconds; the browser counts down to it.
    pub starts_at: i64,
    pub ends_at: i64,
    /// The start in the viewer's own zone, e.g. "Tue 24 Nov 2026, 09:30 CET".
    pub local_start: String,
    pub viewer_zone: String,
    /// The zone the visit was booked in, and the start as it reads there.
    pub booked_zone: String,
    pub booked_start: String,
    pub duration_minutes: u32,
    pub reason: Option<String>,
    pub cancelled: bool,
    pub meeting: MeetingView,
    pub can_start: bool,
    pub can_join: bool,
    pub can_retry: bool,
    pub can_change: bool,
    pub can_change_doctor: bool,
}

impl VisitView {
    pub fn join_opens_at(&self) -> i64 {
        self.starts_at - JOIN_OPENS_BEFORE_SECS
    }
}

/// Where a visit's join window stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinWindow {
    NotOpenYet,
    Open,
    Ended,
}

pub fn join_window(starts_at: i64, ends_at: i64, now: i64) -> JoinWindow {
    if now < starts_at - JOIN_OPENS_BEFORE_SECS {
        JoinWindow::NotOpenYet
    } else if now < ends_at {
        JoinWindow::Open
    } else {
        JoinWindow::Ended
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: i64,
    pub label: String,
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingChoices {
    pub doctors: Vec<Choice>,
    /// Empty for a patient, who books for themself.
    pub patients: Vec<Choice>,
    pub default_zone: String,
}

/// A link handed out at the moment of the click and not kept anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingLink {
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub id: i64,
    pub at: i64,
    pub at_display: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub outcome: String,
    pub detail: Option<String>,
}

/// The time fields of a booking or reschedule form, parsed the same way as you type and on
/// the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitTimeFields {
    pub start: VisitStart,
    pub length: VisitLength,
}

impl VisitTimeFields {
    pub fn parse(start: &str, zone: &str, length: &str) -> Result<Self, super::FieldErrors> {
        let mut errors = super::FieldErrors::new();
        let zone = TimeZone::parse(zone)
            .map_err(|e| errors.push(("zone", e.0)))
            .ok();
        let start = zone.and_then(|zone| {
            VisitStart::parse_local(start, zone)
                .map_err(|e| errors.push(("start", e.0)))
                .ok()
        });
        let length = VisitLength::parse(length)
            .map_err(|e| errors.push(("duration", e.0)))
            .ok();
        match (start, length) {
            (Some(start), Some(length)) if errors.is_empty() => Ok(Self { start, length }),
            _ => Err(errors),
        }
    }
}

#[cfg(feature = "ssr")]
pub(crate) fn sees_visit(
    user: &crate::server::persistence::UserRecord,
    visit: &crate::server::persistence::AppointmentRow,
) -> bool {
    server::sees(user, visit)
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::domain::{Role, VisitId};
    use crate::server::auth::CallContext;
    use crate::server::persistence::{AppointmentRow, NewAuditEntry, UserRecord, Visibility};
    use crate::server::{internal, AppState};

    pub fn visibility(user: &UserRecord) -> Visibility {
        match user.role {
            Role::Admin | Role::Receptionist => Visibility::Everything,
            Role::Doctor => Visibility::DoctorOf(user.id),
            Role::Patient => Visibility::PatientOf(user.id),
        }
    }

    pub fn sees(user: &UserRecord, visit: &AppointmentRow) -> bool {
        match visibility(user) {
            Visibility::Everything => true,
            Visibility::DoctorOf(id) => visit.doctor.id == id,
            Visibility::PatientOf(id) => visit.patient.id == id,
        }
    }

    /// The assigned doctor and admins: who may start the meeting or retry it.
    pub fn hosts(user: &UserRecord, visit: &AppointmentRow) -> bool {
        user.role == Role::Admin || (user.role == Role::Doctor && visit.doctor.id == user.id)
    }

    /// The patient, the assigned doctor and admins: who may hold the join link.
    pub fn attends(user: &UserRecord, visit: &AppointmentRow) -> bool {
        hosts(user, visit) || (user.role == Role::Patient && visit.patient.id == user.id)
    }

    pub fn view(user: &UserRecord, visit: &AppointmentRow) -> VisitView {
        let viewer_zone = user.time_zone.unwrap_or(visit.start.booked_in());
        let staff = user.role != Role::Patient;
        let ready = visit.meeting.state == MeetingState::Ready && !visit.cancelled;
        VisitView {
            id: visit.public_id.to_string(),
            doctor_id: visit.doctor.id,
            doctor: visit.doctor.label(),
            patient_id: visit.patient.id,
            patient: visit.patient.label(),
            starts_at: visit.start.utc().timestamp(),
            ends_at: visit.ends_at(),
            local_start: visit.start.display_in(viewer_zone),
            viewer_zone: viewer_zone.name().to_owned(),
            booked_zone: visit.start.booked_in().name().to_owned(),
            booked_start: visit.start.display_in(visit.start.booked_in()),
            duration_minutes: visit.length.minutes(),
            reason: visit.reason.clone(),
            cancelled: visit.cancelled,
            meeting: MeetingView {
                state: visit.meeting.state,
                reason: if staff {
                    visit.meeting.last_error.clone()
                } else {
                    None
                },
                warning: if staff {
                    visit.meeting.settings_warning.clone()
                } else {
                    None
                },
                attempts: visit.meeting.attempts,
            },
            can_start: ready && hosts(user, visit),
            can_join: ready && attends(user, visit),
            // A cancelled visit's meeting can fail too (its deletion at Zoom): retrying
            // finishes the cancellation.
            can_retry: visit.meeting.state == MeetingState::Failed && hosts(user, visit),
            can_change: !visit.cancelled,
            can_change_doctor: !visit.cancelled
                && matches!(user.role, Role::Admin | Role::Receptionist),
        }
    }

    /// The appointment `id` names, if the caller may see it; otherwise "not found", the same
    /// answer as for an id that does not exist.
    pub async fn visible(
        ctx: &CallContext,
        user: &UserRecord,
        id: &str,
    ) -> Result<AppointmentRow, AppError> {
        let not_found = || AppError::not_found("appointment");
        let id = VisitId::parse(id).map_err(|_| not_found())?;
        let visit = ctx
            .state
            .db
            .appointment(&id)
            .await
            .map_err(internal("loading an appointment"))?
            .ok_or_else(not_found)?;
        if sees(user, &visit) {
            Ok(visit)
        } else {
            tracing::warn!(
                user_id = user.id,
                "refused an appointment outside the caller's view"
            );
            Err(not_found())
        }
    }

    pub async fn audit(
        state: &AppState,
        actor: Option<i64>,
        action: &str,
        subject: &str,
        outcome: &str,
        detail: Option<&str>,
    ) {
        let entry = NewAuditEntry {
            actor_id: actor,
            action,
            subject,
            outcome,
            detail,
        };
        if let Err(error) = state.db.append_audit(entry).await {
            internal("writing the audit log")(error);
        }
    }

    pub fn fields_error(errors: crate::api::FieldErrors) -> AppError {
        let (field, message) = errors
            .into_iter()
            .next()
            .unwrap_or(("form", "Invalid input.".into()));
        AppError::validation(field, message)
    }

    /// An active user of `role`, or a validation error on `field`.
    pub async fn active_user(
        state: &AppState,
        id: i64,
        role: Role,
        field: &str,
    ) -> Result<UserRecord, AppError> {
        let user = state
            .db
            .user_by_id(id)
            .await
            .map_err(internal("loading a user"))?;
        match user {
            Some(user) if user.active && user.role == role => Ok(user),
            _ => Err(AppError::validation(
                field,
                format!("Choose an active {role} from the list."),
            )),
        }
    }

    pub fn changed(changed: bool) -> Result<(), AppError> {
        if changed {
            Ok(())
        } else {
            Err(AppError::conflict("This appointment is cancelled."))
        }
    }
}

/// The appointments the caller may see, from a week ago on, soonest first.
#[server(prefix = "/api", endpoint = "visits/list")]
pub async fn list_visits() -> Result<Vec<VisitView>, AppError> {
    use crate::server::auth::CallContext;
    use crate::server::internal;
    use crate::server::persistence::now_unix;

    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let visits = ctx
        .state
        .db
        .appointments(server::visibility(&user), now_unix() - 7 * 24 * 3600, 500)
        .await
        .map_err(internal("listing appointments"))?;
    Ok(visits.iter().map(|v| server::view(&user, v)).collect())
}

#[server(prefix = "/api", endpoint = "visits/get")]
pub async fn get_visit(id: String) -> Result<VisitView, AppError> {
    use crate::server::auth::CallContext;
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let visit = server::visible(&ctx, &user, &id).await?;
    Ok(server::view(&user, &visit))
}

/// Whom the caller may book for, and with whom.
#[server(prefix = "/api", endpoint = "visits/options")]
pub async fn booking_options() -> Result<BookingChoices, AppError> {
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    use crate::server::internal;

    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let users = ctx
        .state
        .db
        .list_users()
        .await
        .map_err(internal("listing users"))?;
    let choice = |u: &crate::server::persistence::UserRecord| Choice {
        id: u.id,
        label: u
            .display_name
            .as_ref()
            .map(|n| format!("{n} ({})", u.email))
            .unwrap_or_else(|| u.email.to_string()),
        time_zone: u.time_zone.map(|z| z.name().to_owned()),
    };
    let active = |role: Role| users.iter().filter(move |u| u.active && u.role == role);
    let (doctors, patients) = match user.role {
        Role::Admin | Role::Receptionist => (
            active(Role::Doctor).map(choice).collect(),
            active(Role::Patient).map(choice).collect(),
        ),
        Role::Patient => (active(Role::Doctor).map(choice).collect(), Vec::new()),
        Role::Doctor => {
            let mut own = Vec::new();
            for patient in active(Role::Patient) {
                if ctx
                    .state
                    .db
                    .is_patient_of(user.id, patient.id)
                    .await
                    .map_err(internal("checking a doctor's patients"))?
                {
                    own.push(choice(patient));
                }
            }
            (vec![choice(&user)], own)
        }
    };
    Ok(BookingChoices {
        doctors,
        patients,
        default_zone: user
            .time_zone
            .map(|z| z.name().to_owned())
            .unwrap_or_else(|| "UTC".into()),
    })
}

/// Books a video visit. Admins and receptionists book for anyone; a patient for themself
/// (`patient_id` omitted or their own); a doctor with themself for a patient they already see.
/// The appointment is saved at once; its Zoom meeting follows in the background.
#[server(prefix = "/api", endpoint = "visits/book")]
pub async fn book_visit(
    doctor_id: i64,
    patient_id: Option<i64>,
    start: String,
    zone: String,
    duration: String,
    reason: Option<String>,
) -> Result<VisitView, AppError> {
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    use crate::server::internal;
    use crate::server::persistence::NewAppointment;
    use crate::server::visits::{new_marker, new_visit_id};

    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let patient_id = match user.role {
        Role::Patient => match patient_id {
            None => user.id,
            Some(id) if id == user.id => id,
            Some(_) => return Err(AppError::Forbidden),
        },
        _ => patient_id.ok_or_else(|| AppError::validation("patient", "Choose a patient."))?,
    };
    if user.role == Role::Doctor && doctor_id != user.id {
        return Err(AppError::Forbidden);
    }
    let times = VisitTimeFields::parse(&start, &zone, &duration).map_err(server::fields_error)?;
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(AppError::validation(
            "reason",
            "Keep the reason under 500 characters.",
        ));
    }
    let doctor = server::active_user(&ctx.state, doctor_id, Role::Doctor, "doctor").await?;
    let patient = server::active_user(&ctx.state, patient_id, Role::Patient, "patient").await?;
    if user.role == Role::Doctor
        && !ctx
            .state
            .db
            .is_patient_of(doctor.id, patient.id)
            .await
            .map_err(internal("checking a doctor's patients"))?
    {
        return Err(AppError::Forbidden);
    }
    let public_id = new_visit_id();
    let marker = new_marker();
    ctx.state
        .db
        .create_appointment(NewAppointment {
            public_id: &public_id,
            doctor_id: doctor.id,
            patient_id: patient.id,
            start: times.start,
            length: times.length,
            reason: reason.as_deref(),
            created_by: user.id,
            marker: &marker,
        })
        .await
        .map_err(internal("saving an appointment"))?;
    ctx.state.jobs_wake.notify_one();
    server::audit(
        &ctx.state,
        Some(user.id),
        "visit.book",
        public_id.as_str(),
        "ok",
        None,
    )
    .await;
    let visit = ctx
        .state
        .db
        .appointment(&public_id)
        .await
        .map_err(internal("loading an appointment"))?
        .ok_or(AppError::Internal)?;
    Ok(server::view(&user, &visit))
}

/// Moves a visit; Zoom's meeting follows (PATCH). Anyone who sees the visit may move it.
#[server(prefix = "/api", endpoint = "visits/reschedule")]
pub async fn reschedule_visit(
    id: String,
    start: String,
    zone: String,
    duration: String,
) -> Result<VisitView, AppError> {
    use crate::server::auth::CallContext;
    use crate::server::internal;

    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let visit = server::visible(&ctx, &user, &id).await?;
    let times = VisitTimeFields::parse(&start, &zone, &duration).map_err(server::fields_error)?;
    let changed = ctx
        .state
        .db
        .reschedule_appointment(visit.id, times.start, times.length)
        .await
        .map_err(internal("rescheduling an appointment"))?;
    server::changed(changed)?;
    ctx.state.jobs_wake.notify_one();
    server::audit(
        &ctx.state,
        Some(user.id),
        "visit.reschedule",
        &id,
        "ok",
        None,
    )
    .await;
    let visit = server::visible(&ctx, &user, &id).await?;
    Ok(server::view(&user, &visit))
}

/// Gives the visit to another doctor (admins and receptionists). Zoom cannot move a meeting
/// between users, so the old meeting is deleted and a new one created.
#[server(prefix = "/api", endpoint = "visits/change-doctor")]
pub async fn change_doctor(id: String, doctor_id: i64) -> Result<VisitView, AppError> {
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    use crate::server::internal;

    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let visit = server::visible(&ctx, &user, &id).await?;
    if !matches!(user.role, Role::Admin | Role::Receptionist) {
        return Err(AppError::Forbidden);
    }
    let doctor = server::active_user(&ctx.state, doctor_id, Role::Doctor, "doctor").await?;
    if doctor.id == visit.doctor.id {
        return Ok(server::view(&user, &visit));
    }
    let changed = ctx
        .state
        .db
        .change_doctor(visit.id, doctor.id)
        .await
        .map_err(internal("changing an appointment's doctor"))?;
    server::changed(changed)?;
    ctx.state.jobs_wake.notify_one();
    server::audit(
        &ctx.state,
        Some(user.id),
        "visit.change_doctor",
        &id,
        "ok",
        Some(&format!("doctor {} -> {}", visit.doctor.id, doctor.id)),
    )
    .await;
    let visit = server::visible(&ctx, &user, &id).await?;
    Ok(server::view(&user, &visit))
}

/// Cancels a visit; its Zoom meeting is deleted in the background.
#[server(prefix = "/api", endpoint = "visits/cancel")]
pub async fn cancel_visit(id: String) -> Result<VisitView, AppError> {
    use crate::server::auth::CallContext;
    use crate::server::internal;

    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let visit = server::visible(&ctx, &user, &id).await?;
    let changed = ctx
        .state
        .db
        .cancel_appointment(visit.id)
        .await
        .map_err(internal("cancelling an appointment"))?;
    server::changed(changed)?;
    ctx.state.jobs_wake.notify_one();
    server::audit(&ctx.state, Some(user.id), "visit.cancel", &id, "ok", None).await;
    let visit = server::visible(&ctx, &user, &id).await?;
    Ok(server::view(&user, &visit))
}

/// Queues a failed meeting again (the assigned doctor or an admin, after fixing the cause).
#[server(prefix = "/api", endpoint = "visits/retry")]
pub async fn retry_meeting(id: String) -> Result<VisitView, AppError> {
    use crate::server::auth::CallContext;
    use crate::server::internal;

    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let visit = server::visible(&ctx, &user, &id).await?;
    if !server::hosts(&user, &visit) {
        return Err(AppError::Forbidden);
    }
    let retried = ctx
        .state
        .db
        .retry_meeting(visit.id)
        .await
        .map_err(internal("retrying a meeting"))?;
    if !retried {
        return Err(AppError::conflict("Only a failed meeting can be retried."));
    }
    ctx.state.jobs_wake.notify_one();
    server::audit(&ctx.state, Some(user.id), "meeting.retry", &id, "ok", None).await;
    let visit = server::visible(&ctx, &user, &id).await?;
    Ok(server::view(&user, &visit))
}

/// A fresh host start link, fetched from Zoom now (its host token expires in about two
/// hours, so it is never stored). Only the assigned doctor and admins; every call, granted
/// or refused, is audited.
#[server(prefix = "/api", endpoint = "visits/start")]
pub async fn start_meeting(id: String) -> Result<MeetingLink, AppError> {
    use crate::server::auth::CallContext;
    use crate::server::video::HostId;
    use secrecy::ExposeSecret;

    let ctx = CallContext::get().await?;
    let user = match ctx.user().await {
        Ok(user) => user,
        Err(error) => {
            server::audit(
                &ctx.state,
                None,
                "meeting.start",
                &id,
                "refused",
                Some("not logged in"),
            )
            .await;
            return Err(error);
        }
    };
    let refuse = |error: AppError, why: &'static str| {
        let state = ctx.state.clone();
        let id = id.clone();
        async move {
            server::audit(
                &state,
                Some(user.id),
                "meeting.start",
                &id,
                "refused",
                Some(why),
            )
            .await;
            error
        }
    };
    let visit = match server::visible(&ctx, &user, &id).await {
        Ok(visit) => visit,
        Err(error) => return Err(refuse(error, "not visible to the caller").await),
    };
    if !server::hosts(&user, &visit) {
        return Err(refuse(AppError::Forbidden, "not the assigned doctor").await);
    }
    let meeting_id = match (
        visit.cancelled,
        visit.meeting.state,
        visit.meeting.zoom_meeting_id,
    ) {
        (false, MeetingState::Ready, Some(meeting_id)) => meeting_id,
        _ => {
            return Err(refuse(
                AppError::conflict("The meeting is not ready yet."),
                "meeting not ready",
            )
            .await)
        }
    };
    match ctx
        .state
        .video
        .start_link(HostId(visit.meeting.host_id), meeting_id)
        .await
    {
        Ok(url) => {
            server::audit(&ctx.state, Some(user.id), "meeting.start", &id, "ok", None).await;
            Ok(MeetingLink {
                url: url.expose_secret().to_owned(),
            })
        }
        Err(error) => {
            let detail = error.to_string();
            server::audit(
                &ctx.state,
                Some(user.id),
                "meeting.start",
                &id,
                "failed",
                Some(&detail),
            )
            .await;
            Err(crate::api::zoom::server::provider_error(error))
        }
    }
}

/// The join link, for the patient, the assigned doctor and admins, while the visit is open
/// (from 15 minutes before the start to its end). Audited.
#[server(prefix = "/api", endpoint = "visits/join")]
pub async fn join_meeting(id: String) -> Result<MeetingLink, AppError> {
    use crate::server::auth::CallContext;
    use crate::server::internal;
    use crate::server::persistence::now_unix;
    use crate::server::visits::PURPOSE_JOIN_URL;
    use secrecy::ExposeSecret;

    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let visit = server::visible(&ctx, &user, &id).await?;
    if !server::attends(&user, &visit) {
        server::audit(
            &ctx.state,
            Some(user.id),
            "meeting.join",
            &id,
            "refused",
            None,
        )
        .await;
        return Err(AppError::Forbidden);
    }
    if visit.cancelled {
        return Err(AppError::conflict("This visit was cancelled."));
    }
    let view = server::view(&user, &visit);
    match join_window(view.starts_at, view.ends_at, now_unix()) {
        JoinWindow::NotOpenYet => {
            return Err(AppError::conflict(format!(
                "The visit opens 15 minutes before it starts ({}).",
                view.local_start
            )))
        }
        JoinWindow::Ended => return Err(AppError::conflict("This visit has ended.")),
        JoinWindow::Open => {}
    }
    let sealed = match (&visit.meeting.state, &visit.meeting.join_url_enc) {
        (MeetingState::Ready, Some(sealed)) => sealed,
        _ => {
            return Err(AppError::conflict(
                "The video link is not ready yet. Please try again in a moment.",
            ))
        }
    };
    let url = ctx
        .state
        .keyring
        .open(sealed, PURPOSE_JOIN_URL)
        .map_err(internal("opening a join link"))?;
    server::audit(&ctx.state, Some(user.id), "meeting.join", &id, "ok", None).await;
    Ok(MeetingLink {
        url: url.expose_secret().to_owned(),
    })
}

/// The latest audit entries, newest first (admins).
#[server(prefix = "/api", endpoint = "admin/audit")]
pub async fn audit_log() -> Result<Vec<AuditView>, AppError> {
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    use crate::server::internal;

    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let zone = admin.time_zone.map(|z| z.tz()).unwrap_or(chrono_tz::UTC);
    let entries = ctx
        .state
        .db
        .recent_audit(300)
        .await
        .map_err(internal("reading the audit log"))?;
    Ok(entries
        .into_iter()
        .map(|e| AuditView {
            id: e.id,
            at: e.at,
            at_display: chrono::DateTime::from_timestamp(e.at, 0)
                .map(|t| {
                    t.with_timezone(&zone)
                        .format("%Y-%m-%d %H:%M:%S %Z")
                        .to_string()
                })
                .unwrap_or_default(),
            actor: e.actor_email.unwrap_or_else(|| "anonymous".into()),
            action: e.action,
            subject: e.subject,
            outcome: e.outcome,
            detail: e.detail,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_join_window_opens_15_minutes_early_and_closes_at_the_end() {
        let start = 1_000_000;
        let end = start + 1800;
        assert_eq!(join_window(start, end, start - 901), JoinWindow::NotOpenYet);
        assert_eq!(join_window(start, end, start - 900), JoinWindow::Open);
        assert_eq!(join_window(start, end, end - 1), JoinWindow::Open);
        assert_eq!(join_window(start, end, end), JoinWindow::Ended);
    }

    #[test]
    fn time_fields_report_each_problem() {
        let errors = VisitTimeFields::parse("2026-03-29T02:30", "Europe/Berlin", "3").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["start", "duration"]);
        let errors = VisitTimeFields::parse("2026-03-29T09:30", "Mars/Base", "30").unwrap_err();
        assert_eq!(errors[0].0, "zone");
        assert!(VisitTimeFields::parse("2026-03-29T09:30", "Europe/Berlin", "30").is_ok());
    }
}
