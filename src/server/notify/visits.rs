//! Visit mails: each change of a visit (its version) is announced once to its patient and
//! doctor, and reminders go to the patient before the start. The visit service announces a
//! change right after its store write; the scheduler announces what a crash left undone and
//! queues the reminders that are due by the notification clock.

use super::ics::{self, Invite, Method};
use super::reminders::due_lead;
use super::templates::{visit_mail, VisitNews};
use crate::server::persistence::{AppointmentRow, Db, NewMail, Person, StoreResult, VisitNotice};
use crate::server::AppState;
use crate::types::preferences::ReminderLeads;
use chrono::Utc;
use std::collections::hash_map::{Entry, HashMap};
use std::time::Duration;

const SCHEDULE_INTERVAL: Duration = Duration::from_secs(1);
/// Reminders are looked for this often: a reminder a few seconds late is still on time, and
/// each round reads a week of visits.
const REMINDER_INTERVAL: Duration = Duration::from_secs(15);
/// How often connections are looked at (each is checked only when due).
const HEALTH_INTERVAL: Duration = Duration::from_secs(60);

fn person(user: &crate::server::persistence::UserRecord) -> Person {
    Person {
        id: user.id,
        name: user.display_name.as_ref().map(|n| n.to_string()),
        email: user.email.to_string(),
        time_zone: user.time_zone,
    }
}

struct Composer<'a> {
    visit: &'a AppointmentRow,
    page_url: String,
    organizer: String,
}

impl Composer<'_> {
    /// A mail about the visit to `to`; `role` names the recipient in the mail's key.
    fn mail(
        &self,
        key: String,
        news: VisitNews,
        to: &Person,
        other: &str,
        method: Method,
    ) -> NewMail {
        let rendered = visit_mail(news, self.visit, to, other, &self.page_url);
        let invite = ics::render(&Invite {
            visit: self.visit,
            method,
            with: other,
            organizer: &self.organizer,
            attendee: &to.email,
            page_url: &self.page_url,
            now: Utc::now(),
        });
        NewMail {
            dedupe_key: key,
            kind: match news {
                VisitNews::Booked => "visit_booked",
                VisitNews::Changed => "visit_changed",
                VisitNews::Cancelled | VisitNews::Reassigned => "visit_cancelled",
                VisitNews::Reminder(_) => "visit_reminder",
            },
            recipient: to.email.clone(),
            subject: rendered.subject,
            body_text: rendered.text,
            body_html: rendered.html,
            ics: Some(invite),
        }
    }
}

fn composer<'a>(state: &AppState, visit: &'a AppointmentRow) -> Composer<'a> {
    let from = &state.settings.mail.from;
    let organizer = from
        .parse::<lettre::message::Mailbox>()
        .map(|m| m.email.to_string())
        .unwrap_or_else(|_| from.clone());
    Composer {
        visit,
        page_url: format!("{}/visits/{}", state.settings.public_url, visit.public_id),
        organizer,
    }
}

/// Queues the mails announcing the visit as it is now, unless its attendees heard of this
/// version already. Safe to call any number of times, from any instance.
pub async fn announce(state: &AppState, appointment_id: i64) -> StoreResult<()> {
    let db = &state.db;
    let Some(visit) = db.appointment_by_id(appointment_id).await? else {
        return Ok(());
    };
    let told = db.visit_notice(appointment_id).await?;
    if told.is_some_and(|t| t.version >= visit.version) {
        return Ok(());
    }
    let c = composer(state, &visit);
    let key = |role: &str| format!("visit:{}:v{}:{role}", visit.id, visit.version);
    let patient = &visit.patient;
    let doctor = &visit.doctor;
    let (doctor_label, patient_label) = (doctor.label(), patient.label());
    let mut mails = Vec::new();
    match told {
        // Booked and cancelled before anyone was told: nothing to say.
        None if visit.cancelled => {}
        None => {
            mails.push(c.mail(
                key("patient"),
                VisitNews::Booked,
                patient,
                &doctor_label,
                Method::Request,
            ));
            mails.push(c.mail(
                key("doctor"),
                VisitNews::Booked,
                doctor,
                &patient_label,
                Method::Request,
            ));
        }
        Some(told) => {
            let (news, method) = if visit.cancelled {
                (VisitNews::Cancelled, Method::Cancel)
            } else {
                (VisitNews::Changed, Method::Request)
            };
            mails.push(c.mail(key("patient"), news, patient, &doctor_label, method));
            if told.doctor_id == doctor.id {
                mails.push(c.mail(key("doctor"), news, doctor, &patient_label, method));
            } else {
                // The visit changed hands: it leaves the former doctor's calendar and
                // arrives in the new one's.
                if !visit.cancelled {
                    mails.push(c.mail(
                        key("doctor"),
                        VisitNews::Booked,
                        doctor,
                        &patient_label,
                        method,
                    ));
                }
                if let Some(former) = db.user_by_id(told.doctor_id).await? {
                    let former = person(&former);
                    mails.push(c.mail(
                        key("former-doctor"),
                        VisitNews::Reassigned,
                        &former,
                        &patient_label,
                        Method::Cancel,
                    ));
                }
            }
        }
    }
    let notice = VisitNotice {
        version: visit.version,
        doctor_id: doctor.id,
    };
    db.announce_visit(visit.id, notice, &mails).await?;
    if !mails.is_empty() {
        state.notify.wake_mail.notify_one();
    }
    Ok(())
}

/// Called by the visit service right after a change is stored. A failure is logged, not
/// returned: the change stands, and the scheduler announces it on its next round.
pub async fn changed(state: &AppState, appointment_id: i64) {
    if let Err(error) = announce(state, appointment_id).await {
        tracing::warn!(%error, appointment = appointment_id, "announcing a visit change failed; retried shortly");
    }
}

/// Queues the reminders due at `now` (by the notification clock), with each doctor's
/// reminder lead times (their preference, or the clinic's). Returns how many.
pub async fn queue_reminders(state: &AppState, now: i64) -> StoreResult<usize> {
    let db: &Db = &state.db;
    let longest = i64::from(ReminderLeads::MAX_MINUTES) * 60;
    let mut leads_of: HashMap<i64, Vec<Duration>> = HashMap::new();
    let mut queued = 0;
    state
        .notify
        .reminded
        .lock()
        .expect("reminder set")
        .retain(|_, starts_at| *starts_at > now);
    for candidate in db.reminder_candidates(now, now + longest).await? {
        let leads = match leads_of.entry(candidate.doctor_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => slot.insert(
                db.reminder_leads(candidate.doctor_id)
                    .await?
                    .into_iter()
                    .map(|minutes| Duration::from_secs(u64::from(minutes) * 60))
                    .collect(),
            ),
        };
        let Some(lead) = due_lead(candidate.starts_at, candidate.changed_at, leads, now) else {
            continue;
        };
        let key = format!(
            "reminder:{}:{}:{}",
            candidate.appointment_id,
            candidate.starts_at,
            lead.as_secs()
        );
        if state
            .notify
            .reminded
            .lock()
            .expect("reminder set")
            .contains_key(&key)
        {
            continue;
        }
        let Some(visit) = db.appointment_by_id(candidate.appointment_id).await? else {
            continue;
        };
        if visit.cancelled || visit.start.utc().timestamp() != candidate.starts_at {
            continue;
        }
        let c = composer(state, &visit);
        let mail = c.mail(
            key.clone(),
            VisitNews::Reminder(lead),
            &visit.patient,
            &visit.doctor.label(),
            Method::Request,
        );
        if db.queue_mail(&mail).await? {
            queued += 1;
        }
        state
            .notify
            .reminded
            .lock()
            .expect("reminder set")
            .insert(key, candidate.starts_at);
    }
    if queued > 0 {
        state.notify.wake_mail.notify_one();
    }
    Ok(queued)
}

/// Announces changes a crash left unannounced and queues due reminders, every second and
/// whenever the clock is moved.
pub struct Scheduler {
    state: AppState,
}

impl Scheduler {
    pub fn new(state: &AppState) -> Self {
        Self {
            state: state.clone(),
        }
    }

    pub async fn run(self) {
        let mut last_health: Option<std::time::Instant> = None;
        let mut last_reminders: Option<std::time::Instant> = None;
        loop {
            match self.state.db.unannounced_visits(100).await {
                Ok(ids) => {
                    for id in ids {
                        changed(&self.state, id).await;
                    }
                }
                Err(error) => tracing::warn!(%error, "looking for unannounced visits failed"),
            }
            let now = self.state.notify.clock.now();
            if last_health.is_none_or(|at: std::time::Instant| at.elapsed() >= HEALTH_INTERVAL)
                || self.state.settings.mail.test_controls
            {
                last_health = Some(std::time::Instant::now());
                match super::health::check_connections(&self.state, now).await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(warnings = n, "a Zoom connection is broken; mailed"),
                    Err(error) => tracing::warn!(%error, "checking Zoom connections failed"),
                }
            }
            if last_reminders.is_none_or(|at: std::time::Instant| at.elapsed() >= REMINDER_INTERVAL)
            {
                last_reminders = Some(std::time::Instant::now());
                match queue_reminders(&self.state, now).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(reminders = n, "queued visit reminders"),
                    Err(error) => tracing::warn!(%error, "queueing reminders failed"),
                }
            }
            tokio::select! {
                _ = self.state.notify.wake_schedule.notified() => {}
                _ = tokio::time::sleep(SCHEDULE_INTERVAL) => {}
            }
        }
    }
}
