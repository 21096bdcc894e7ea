//! The visit rules: booking, changes, cancellation, retries, and the two links. Each function
//! takes the state, the caller and already-parsed input, checks what the caller may do, writes
//! the store, wakes the meeting worker when Zoom has work, and records the audit entry, all in
//! one place. Server functions and routes above only find the caller and parse.

use super::access::{self, attends, hosts, load_visible, reassigns};
use super::limits;
use super::{new_marker, new_visit_id, view};
use crate::domain::{JoinWindow, MeetingState, Role, VisitId};
use crate::error::AppError;
use crate::server::audit::{self, Action, Actor, Entry, Outcome};
use crate::server::crypto::Purpose;
use crate::server::persistence::{now_unix, AppointmentRow, NewAppointment, UserRecord};
use crate::server::video::{HostId, Licence};
use crate::server::{internal, notify, AppState};
use crate::types::visits::{BookingChoices, Choice, VisitTimeFields, VisitView};
use secrecy::SecretString;

/// How far back the visit list reaches.
const LIST_FROM_SECS: i64 = 7 * 24 * 3600;
const LIST_LIMIT: i64 = 500;
const MAX_REASON_CHARS: usize = 500;

/// A booking as the form sent it, parsed.
pub struct Booking {
    pub doctor_id: i64,
    /// Omitted by a patient booking for themself.
    pub patient_id: Option<i64>,
    pub times: VisitTimeFields,
    pub reason: Option<String>,
}

impl Booking {
    pub fn parse(
        doctor_id: i64,
        patient_id: Option<i64>,
        times: VisitTimeFields,
        reason: Option<String>,
    ) -> Result<Self, AppError> {
        let reason = reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
        {
            return Err(AppError::validation(
                "reason",
                "Keep the reason under 500 characters.",
            ));
        }
        Ok(Self {
            doctor_id,
            patient_id,
            times,
            reason,
        })
    }
}

/// Parses a visit id for an action whose refusals are audited: an id that does not parse is
/// recorded as a counted refusal (it names nothing, so it gets no row of its own).
pub async fn visit_id(
    state: &AppState,
    actor: Actor,
    action: Action,
    raw: &str,
) -> Result<VisitId, AppError> {
    match access::parse_id(raw) {
        Ok(id) => Ok(id),
        Err(error) => {
            let entry =
                Entry::new(actor, action, "", Outcome::Refused).detail("malformed visit id");
            audit::record_counted(&state.db, entry).await.ok();
            Err(error)
        }
    }
}

/// The caller for an action whose anonymous refusals are audited (counted, subject-less).
pub async fn caller(
    state: &AppState,
    user: Result<UserRecord, AppError>,
    action: Action,
) -> Result<UserRecord, AppError> {
    if user.is_err() {
        let entry =
            Entry::new(Actor::Anonymous, action, "", Outcome::Refused).detail("not logged in");
        audit::record_counted(&state.db, entry).await.ok();
    }
    user
}

async fn note(state: &AppState, entry: Entry) {
    audit::record(&state.db, entry).await.ok();
}

async fn reload(state: &AppState, user: &UserRecord, id: &VisitId) -> Result<VisitView, AppError> {
    let visit = load_visible(state, user, id, None).await?;
    Ok(view::for_viewer(user, &visit))
}

/// The appointments the caller may see, from a week ago on, soonest first. One audit entry
/// per call, not per row.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn list(state: &AppState, user: &UserRecord) -> Result<Vec<VisitView>, AppError> {
    let visits = state
        .db
        .appointments(
            access::visibility(user),
            now_unix() - LIST_FROM_SECS,
            LIST_LIMIT,
        )
        .await
        .map_err(internal("listing appointments"))?;
    let entry = Entry::new(Actor::User(user.id), Action::VisitList, "", Outcome::Ok)
        .detail(format!("{} visit(s)", visits.len()));
    note(state, entry).await;
    Ok(visits.iter().map(|v| view::for_viewer(user, v)).collect())
}

/// One visit, opened by the caller.
#[tracing::instrument(skip_all, fields(user_id = user.id, visit = %id))]
pub async fn open(
    state: &AppState,
    user: &UserRecord,
    id: &VisitId,
) -> Result<VisitView, AppError> {
    let visit = load_visible(state, user, id, Some(Action::VisitOpen)).await?;
    note(
        state,
        Entry::new(
            Actor::User(user.id),
            Action::VisitOpen,
            id.as_str(),
            Outcome::Ok,
        ),
    )
    .await;
    Ok(view::for_viewer(user, &visit))
}

/// The visit as a calendar file, for the caller.
#[tracing::instrument(skip_all, fields(user_id = user.id, visit = %id))]
pub async fn calendar(
    state: &AppState,
    user: &UserRecord,
    id: &VisitId,
) -> Result<String, AppError> {
    let visit = load_visible(state, user, id, Some(Action::VisitCalendar)).await?;
    note(
        state,
        Entry::new(
            Actor::User(user.id),
            Action::VisitCalendar,
            id.as_str(),
            Outcome::Ok,
        ),
    )
    .await;
    Ok(super::calendar::render(&visit, &state.settings.public_url))
}

/// Whom the caller may book for, and with whom. Patients see doctors' names only.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn booking_options(
    state: &AppState,
    user: &UserRecord,
) -> Result<BookingChoices, AppError> {
    let users = state
        .db
        .list_users()
        .await
        .map_err(internal("listing users"))?;
    // Staff tell same-named people apart by email; a patient gets the doctors' names only
    // (their login emails are no business of patients, and a list of them invites phishing).
    let with_email = user.role != Role::Patient;
    let choice = |u: &UserRecord| Choice {
        id: u.id,
        label: match (&u.display_name, with_email) {
            (Some(name), true) => format!("{name} ({})", u.email),
            (Some(name), false) => name.to_string(),
            (None, true) => u.email.to_string(),
            (None, false) => format!("Doctor {}", u.id),
        },
        time_zone: u.time_zone.map(|z| z.name().to_owned()),
        default_minutes: None,
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
                if state
                    .db
                    .is_patient_of(user.id, patient.id)
                    .await
                    .map_err(internal("checking a doctor's patients"))?
                {
                    own.push(choice(patient));
                }
            }
            (vec![choice(user)], own)
        }
    };
    let clinic_minutes = crate::server::preferences::clinic_visit_minutes(state).await?;
    let own_minutes = crate::server::preferences::visit_lengths(state).await?;
    let doctors = doctors
        .into_iter()
        .map(|d: Choice| Choice {
            default_minutes: Some(
                own_minutes
                    .iter()
                    .find(|(id, _)| *id == d.id)
                    .map_or(clinic_minutes, |(_, m)| *m),
            ),
            ..d
        })
        .collect();
    Ok(BookingChoices {
        doctors,
        patients,
        default_zone: user
            .time_zone
            .map(|z| z.name().to_owned())
            .unwrap_or_else(|| "UTC".into()),
    })
}

/// A Basic (free) Zoom user's meetings end after 40 minutes and no BAA covers them: a longer
/// visit with that doctor is refused with the reason, on the length field. An unknown licence
/// (never read) is not held against the booking.
async fn fits_licence(
    state: &AppState,
    doctor_id: i64,
    length: crate::domain::VisitLength,
) -> Result<(), AppError> {
    let licence = state
        .db
        .host_licence(doctor_id)
        .await
        .map_err(internal("loading a doctor's Zoom licence"))?
        .and_then(|l| Licence::parse(&l));
    match licence.and_then(Licence::max_minutes) {
        Some(max) if length.minutes() > max => Err(AppError::validation(
            "duration",
            format!(
                "This doctor's Zoom account is Basic (free): its meetings end after {max} minutes and Zoom signs no BAA for it. Book {max} minutes or less, or ask the clinic to license the doctor's Zoom."
            ),
        )),
        _ => Ok(()),
    }
}

/// An active user of `role`, or a validation error on `field`.
async fn active_user(
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

/// Books a video visit. Admins and receptionists book for anyone; a patient for themself; a
/// doctor with themself for a patient they already see. The appointment is saved at once; its
/// Zoom meeting follows in the background.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn book(
    state: &AppState,
    user: &UserRecord,
    booking: Booking,
) -> Result<VisitView, AppError> {
    let patient_id = match user.role {
        Role::Patient => match booking.patient_id {
            None => user.id,
            Some(id) if id == user.id => id,
            Some(_) => return Err(AppError::Forbidden),
        },
        _ => booking
            .patient_id
            .ok_or_else(|| AppError::validation("patient", "Choose a patient."))?,
    };
    if user.role == Role::Doctor && booking.doctor_id != user.id {
        return Err(AppError::Forbidden);
    }
    let doctor = active_user(state, booking.doctor_id, Role::Doctor, "doctor").await?;
    fits_licence(state, doctor.id, booking.times.length).await?;
    let patient = active_user(state, patient_id, Role::Patient, "patient").await?;
    if user.role == Role::Doctor
        && !state
            .db
            .is_patient_of(doctor.id, patient.id)
            .await
            .map_err(internal("checking a doctor's patients"))?
    {
        return Err(AppError::Forbidden);
    }
    limits::not_in_the_past(&booking.times)?;
    let counting = limits::before_booking(state, user).await?;
    let public_id = new_visit_id();
    let marker = new_marker();
    let created = state
        .db
        .create_appointment(NewAppointment {
            public_id: &public_id,
            doctor_id: doctor.id,
            patient_id: patient.id,
            start: booking.times.start,
            length: booking.times.length,
            reason: booking.reason.as_deref(),
            created_by: user.id,
            marker: &marker,
        })
        .await
        .map_err(internal("saving an appointment"));
    counting.finish(created.is_ok()).await;
    let row_id = created?;
    state.jobs_wake.notify_one();
    state.push.visit_changed(row_id);
    notify::visits::changed(state, row_id).await;
    note(
        state,
        Entry::new(
            Actor::User(user.id),
            Action::VisitBook,
            public_id.as_str(),
            Outcome::Ok,
        ),
    )
    .await;
    reload(state, user, &public_id).await
}

/// Moves a visit; Zoom's meeting follows (PATCH). Anyone who sees the visit may move it.
#[tracing::instrument(skip_all, fields(user_id = user.id, visit = %id))]
pub async fn reschedule(
    state: &AppState,
    user: &UserRecord,
    id: &VisitId,
    times: VisitTimeFields,
) -> Result<VisitView, AppError> {
    let visit = load_visible(state, user, id, None).await?;
    fits_licence(state, visit.doctor.id, times.length).await?;
    limits::not_in_the_past(&times)?;
    let counting = limits::before_reschedule(state, user).await?;
    let changed = state
        .db
        .reschedule_appointment(visit.id, times.start, times.length)
        .await
        .map_err(internal("rescheduling an appointment"));
    counting.finish(matches!(changed, Ok(true))).await;
    let changed = changed?;
    state.push.visit_changed(visit.id);
    if changed {
        notify::visits::changed(state, visit.id).await;
    }
    queued(state, user, id, Action::VisitReschedule, changed, None).await
}

/// Gives the visit to another doctor (admins and receptionists). Zoom cannot move a meeting
/// between users, so the worker deletes the old meeting and creates a new one.
#[tracing::instrument(skip_all, fields(user_id = user.id, visit = %id))]
pub async fn change_doctor(
    state: &AppState,
    user: &UserRecord,
    id: &VisitId,
    doctor_id: i64,
) -> Result<VisitView, AppError> {
    let visit = load_visible(state, user, id, None).await?;
    if !reassigns(user) {
        return Err(AppError::Forbidden);
    }
    let doctor = active_user(state, doctor_id, Role::Doctor, "doctor").await?;
    fits_licence(state, doctor.id, visit.length).await?;
    if doctor.id == visit.doctor.id {
        return Ok(view::for_viewer(user, &visit));
    }
    let changed = state
        .db
        .change_doctor(visit.id, doctor.id)
        .await
        .map_err(internal("changing an appointment's doctor"))?;
    state.push.visit_changed(visit.id);
    if changed {
        notify::visits::changed(state, visit.id).await;
    }
    let detail = format!("doctor {} -> {}", visit.doctor.id, doctor.id);
    queued(
        state,
        user,
        id,
        Action::VisitChangeDoctor,
        changed,
        Some(detail),
    )
    .await
}

/// Cancels a visit; the worker deletes its Zoom meeting.
#[tracing::instrument(skip_all, fields(user_id = user.id, visit = %id))]
pub async fn cancel(
    state: &AppState,
    user: &UserRecord,
    id: &VisitId,
) -> Result<VisitView, AppError> {
    let visit = load_visible(state, user, id, None).await?;
    let changed = state
        .db
        .cancel_appointment(visit.id)
        .await
        .map_err(internal("cancelling an appointment"))?;
    state.push.visit_changed(visit.id);
    if changed {
        notify::visits::changed(state, visit.id).await;
    }
    queued(state, user, id, Action::VisitCancel, changed, None).await
}

/// Queues a failed meeting again (the assigned doctor or an admin, after fixing the cause).
#[tracing::instrument(skip_all, fields(user_id = user.id, visit = %id))]
pub async fn retry(
    state: &AppState,
    user: &UserRecord,
    id: &VisitId,
) -> Result<VisitView, AppError> {
    let visit = load_visible(state, user, id, None).await?;
    if !hosts(user, &visit) {
        return Err(AppError::Forbidden);
    }
    let retried = state
        .db
        .retry_meeting(visit.id)
        .await
        .map_err(internal("retrying a meeting"))?;
    if !retried {
        return Err(AppError::conflict("Only a failed meeting can be retried."));
    }
    state.push.visit_changed(visit.id);
    queued(state, user, id, Action::MeetingRetry, true, None).await
}

/// After a change that gives the worker something to do: wake it, record the change, answer
/// with the visit as it is now. `changed` is false when the visit was cancelled meanwhile.
async fn queued(
    state: &AppState,
    user: &UserRecord,
    id: &VisitId,
    action: Action,
    changed: bool,
    detail: Option<String>,
) -> Result<VisitView, AppError> {
    if !changed {
        return Err(AppError::conflict("This appointment is cancelled."));
    }
    state.jobs_wake.notify_one();
    let mut entry = Entry::new(Actor::User(user.id), action, id.as_str(), Outcome::Ok);
    entry.detail = detail;
    note(state, entry).await;
    reload(state, user, id).await
}

/// A fresh host start link, fetched from Zoom now (its host token expires in about two
/// hours, so it is never stored). Only the assigned doctor and admins. Every call, granted or
/// refused, is audited, and a grant that cannot be recorded is refused.
#[tracing::instrument(skip_all, fields(user_id = user.id, visit = %id))]
pub async fn start_link(
    state: &AppState,
    user: &UserRecord,
    id: &VisitId,
) -> Result<SecretString, AppError> {
    let trail = LinkTrail::new(state, user, id, Action::MeetingStart);
    let visit = load_visible(state, user, id, Some(Action::MeetingStart)).await?;
    if !hosts(user, &visit) {
        return Err(trail
            .refuse(AppError::Forbidden, "not the assigned doctor")
            .await);
    }
    let meeting_id = match (
        visit.cancelled,
        visit.meeting.state,
        visit.meeting.zoom_meeting_id,
    ) {
        (false, MeetingState::Ready, Some(meeting_id)) => meeting_id,
        _ => {
            let error = AppError::conflict("The meeting is not ready yet.");
            return Err(trail.refuse(error, "meeting not ready").await);
        }
    };
    match state
        .video
        .start_link(HostId(visit.meeting.host_id), meeting_id)
        .await
    {
        Ok(url) => trail.granted(url).await,
        Err(error) => {
            note(
                state,
                trail.entry(Outcome::Failed).detail(error.to_string()),
            )
            .await;
            Err(error.into())
        }
    }
}

/// The join link, for the patient, the assigned doctor and admins, while the visit is open
/// (from 15 minutes before the start to its end). Grants and refusals are audited; a grant
/// that cannot be recorded is refused.
#[tracing::instrument(skip_all, fields(user_id = user.id, visit = %id))]
pub async fn join_link(
    state: &AppState,
    user: &UserRecord,
    id: &VisitId,
) -> Result<SecretString, AppError> {
    let trail = LinkTrail::new(state, user, id, Action::MeetingJoin);
    let visit = load_visible(state, user, id, Some(Action::MeetingJoin)).await?;
    if !attends(user, &visit) {
        return Err(trail.refuse(AppError::Forbidden, "not an attendee").await);
    }
    if visit.cancelled {
        let error = AppError::conflict("This visit was cancelled.");
        return Err(trail.refuse(error, "visit cancelled").await);
    }
    let starts_at = visit.start.utc().timestamp();
    match JoinWindow::at(starts_at, visit.ends_at(), now_unix()) {
        JoinWindow::NotOpenYet => {
            let zone = user.time_zone.unwrap_or(visit.start.booked_in());
            let error = AppError::conflict(format!(
                "The visit opens 15 minutes before it starts ({}).",
                visit.start.display_in(zone)
            ));
            return Err(trail.refuse(error, "not open yet").await);
        }
        JoinWindow::Ended => {
            let error = AppError::conflict("This visit has ended.");
            return Err(trail.refuse(error, "visit ended").await);
        }
        JoinWindow::Open => {}
    }
    if visit.meeting.state == MeetingState::Blocked {
        let error = AppError::conflict(
            "Your visit is being prepared: the clinic is fixing a setting of its video service. Please check back shortly.",
        );
        return Err(trail
            .refuse(error, "meeting blocked by Zoom settings")
            .await);
    }
    let Some(sealed) = ready_join_url(&visit) else {
        let error =
            AppError::conflict("The video link is not ready yet. Please try again in a moment.");
        return Err(trail.refuse(error, "meeting not ready").await);
    };
    let url = state
        .keyring
        .open(sealed, Purpose::MeetingJoinUrl, visit.id)
        .map_err(internal("opening a join link"))?;
    trail.granted(url).await
}

/// The audit entries of one link request: every refusal is noted, and the grant is handed
/// out only once its entry is written.
struct LinkTrail<'a> {
    state: &'a AppState,
    actor: Actor,
    action: Action,
    id: &'a VisitId,
}

impl<'a> LinkTrail<'a> {
    fn new(state: &'a AppState, user: &UserRecord, id: &'a VisitId, action: Action) -> Self {
        Self {
            state,
            actor: Actor::User(user.id),
            action,
            id,
        }
    }

    fn entry(&self, outcome: Outcome) -> Entry {
        Entry::new(self.actor, self.action, self.id.as_str(), outcome)
    }

    async fn refuse(&self, error: AppError, why: &'static str) -> AppError {
        note(self.state, self.entry(Outcome::Refused).detail(why)).await;
        error
    }

    async fn granted(&self, link: SecretString) -> Result<SecretString, AppError> {
        audit::record(&self.state.db, self.entry(Outcome::Ok)).await?;
        Ok(link)
    }
}

fn ready_join_url(visit: &AppointmentRow) -> Option<&String> {
    match (&visit.meeting.state, &visit.meeting.join_url_enc) {
        (MeetingState::Ready, Some(sealed)) => Some(sealed),
        _ => None,
    }
}
