//! The meeting worker: runs the persisted Zoom jobs until each appointment's meeting matches
//! the appointment. Any number of app instances may run it against one database; a job is
//! held by one worker at a time through its lease.
//!
//! Exactly one meeting per appointment rests on three things: the intent to create is
//! committed (`create_attempted`) before the request leaves, while holding a lease that
//! outlives the request; the meeting's agenda carries the appointment's marker; and once an
//! intent is recorded, every later attempt looks for the marked meeting before creating.

use super::passcode;
use crate::domain::MeetingState;
use crate::server::audit::{self, Action, Actor, Entry, Outcome};
use crate::server::crypto::Purpose;
use crate::server::persistence::{now_unix, AppointmentRow, Db, JobTicket};
use crate::server::video::{
    HostId, MeetingPreferences, MeetingSpec, PasscodeRules, ProviderError, VideoProvider,
};
use crate::server::AppState;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

/// After this many consecutive transient failures a meeting is marked failed for a person to
/// look at; with the default backoff cap (5 minutes) that is about an hour of retrying.
const MAX_TRANSIENT_ATTEMPTS: i64 = 20;
/// A host's passcode policy rarely changes; asking Zoom once per create doubles the calls
/// that can fail while Zoom struggles.
const RULES_TTL: Duration = Duration::from_secs(600);
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How often finished visits are looked for, to remove their meetings at Zoom.
const SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// Why a job run did not finish.
#[derive(Debug)]
enum JobError {
    /// Try again later: at `retry_at` if the provider said when, else after backoff.
    Transient {
        reason: String,
        retry_at: Option<i64>,
        /// Zoom's daily quota: waiting is the only fix, so it never exhausts the attempts.
        quota: bool,
    },
    /// A person must act (connect Zoom, fix a mapping...) and then retry.
    Permanent(String),
    /// The doctor's Zoom connection is missing or gone: failed until they reconnect, which
    /// retries it by itself.
    Reconnect(String),
    /// Zoom would not keep the privacy contract even after we sent it again: an account
    /// lock. The patient gets no link; checked again on a timer or when an admin says so.
    Blocked(String),
    /// Nothing is wrong, the work just waits until `due` (a preference update over the day's
    /// share of Zoom's daily limit). The meeting keeps its state and its join link.
    Deferred { due: i64, reason: String },
}

impl From<ProviderError> for JobError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::RateLimited { retry_at, daily } => JobError::Transient {
                reason: if daily {
                    "Zoom's daily limit of meetings for this doctor is reached; it will be \
                     retried when the limit resets."
                        .into()
                } else {
                    "Zoom asked us to slow down; retrying shortly.".into()
                },
                retry_at,
                quota: daily,
            },
            ProviderError::Unavailable(detail) => JobError::Transient {
                reason: format!("Zoom did not answer ({detail}); retrying."),
                retry_at: None,
                quota: false,
            },
            ProviderError::NotConnected => JobError::Reconnect(
                "The doctor has no Zoom account connected (or mapped). Connect Zoom, then retry."
                    .into(),
            ),
            ProviderError::ReconnectNeeded => JobError::Reconnect(
                "The doctor's Zoom connection must be renewed. Reconnect Zoom, then retry.".into(),
            ),
            ProviderError::NotConfigured => JobError::Permanent(
                "Zoom is not set up yet. An administrator must save the Zoom settings.".into(),
            ),
            ProviderError::BadCredentials => JobError::Permanent(
                "Zoom refused the clinic's app credentials. An administrator must fix them.".into(),
            ),
            ProviderError::MissingScopes(scopes) => JobError::Permanent(format!(
                "The Zoom app lacks scopes ({}). An administrator must add them.",
                scopes.join(", ")
            )),
            ProviderError::NotFound => JobError::Permanent(
                "Zoom does not know the doctor's Zoom user. Check the doctor's mapping.".into(),
            ),
            ProviderError::Rejected(detail) => {
                JobError::Permanent(format!("Zoom refused the meeting: {detail}"))
            }
            ProviderError::InProgress => JobError::Transient {
                reason: "The meeting is in progress; trying again after it.".into(),
                retry_at: Some(now_unix() + 300),
                quota: false,
            },
            ProviderError::Ended => {
                JobError::Permanent("Zoom says the meeting has already ended.".into())
            }
        }
    }
}

fn storage(error: impl std::fmt::Display) -> JobError {
    tracing::error!(%error, "meeting job storage failure");
    JobError::Transient {
        reason: "The app could not reach its database; retrying.".into(),
        retry_at: None,
        quota: false,
    }
}

#[derive(Clone)]
pub struct MeetingWorker {
    db: Db,
    video: Arc<dyn VideoProvider>,
    keyring: Arc<crate::server::crypto::Keyring>,
    owner: Arc<str>,
    workers: usize,
    lease: Duration,
    create_fence: Duration,
    request_timeout: Duration,
    retry_max: Duration,
    blocked_recheck: Duration,
    close_after: Duration,
    /// Meeting creates and updates a day per host up to which preference-only updates go out.
    pref_budget: i64,
    wake: Arc<Notify>,
    /// Every job run may change what a visit's page shows (ready, failed, blocked, closed).
    push: crate::server::push::Push,
    rules: Arc<std::sync::Mutex<HashMap<i64, (Instant, PasscodeRules)>>>,
}

impl MeetingWorker {
    pub fn new(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            video: state.video.clone(),
            keyring: state.keyring.clone(),
            owner: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4()).into(),
            workers: state.settings.meeting_workers,
            lease: state.settings.meeting_job_lease,
            create_fence: state.settings.create_fence(),
            request_timeout: state.settings.zoom_request_timeout,
            retry_max: state.settings.meeting_retry_max,
            blocked_recheck: state.settings.meeting_blocked_recheck,
            close_after: state.settings.meeting_close_after,
            pref_budget: preference_budget(state.settings.zoom_daily_meeting_limit),
            wake: state.jobs_wake.clone(),
            push: state.push.clone(),
            rules: Arc::default(),
        }
    }

    /// Claims due jobs and runs them, `workers` at a time, until the task is aborted. Woken
    /// at once when this instance queues work; other instances' work is found by polling.
    pub async fn run(self) {
        let slots = Arc::new(Semaphore::new(self.workers));
        let mut last_sweep: Option<Instant> = None;
        loop {
            if last_sweep.is_none_or(|at| at.elapsed() >= SWEEP_INTERVAL) {
                last_sweep = Some(Instant::now());
                let grace = self.close_after.as_secs() as i64;
                match self.db.queue_finished_visits(now_unix(), grace).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(visits = n, "queued finished visits for closing"),
                    Err(error) => tracing::warn!(%error, "looking for finished visits failed"),
                }
            }
            let now = now_unix();
            let free = slots.available_permits();
            if free > 0 {
                match self.db.due_jobs(now, free as i64).await {
                    Ok(jobs) => {
                        for job in jobs {
                            let Ok(permit) = slots.clone().try_acquire_owned() else {
                                break;
                            };
                            let lease_until = now_unix() + self.lease.as_secs() as i64;
                            match self.db.claim_job(&job, &self.owner, now, lease_until).await {
                                Ok(true) => {
                                    let worker = self.clone();
                                    tokio::spawn(async move {
                                        worker.run_job(job).await;
                                        drop(permit);
                                        worker.wake.notify_one();
                                    });
                                }
                                Ok(false) => {}
                                Err(error) => {
                                    tracing::warn!(%error, "claiming a meeting job failed")
                                }
                            }
                        }
                    }
                    Err(error) => tracing::warn!(%error, "reading due meeting jobs failed"),
                }
            }
            crate::server::webhooks::drain(&self.db, &self.push, &self.owner, self.lease, &slots)
                .await;
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }

    async fn run_job(&self, job: JobTicket) {
        let id = job.appointment_id;
        // The lease bounds the whole run: past it another worker may take the job over.
        let budget = self.lease.saturating_sub(Duration::from_secs(1));
        let result = match tokio::time::timeout(budget, self.reconcile(id)).await {
            Ok(result) => result,
            // A create may have been in flight when the run was cut off: look for it only once
            // it can no longer land.
            Err(_) => Err(JobError::Transient {
                reason: "Zoom answered too slowly; retrying.".into(),
                retry_at: Some(now_unix() + self.create_fence.as_secs() as i64),
                quota: false,
            }),
        };
        let outcome = match result {
            Ok(()) => self.db.finish_job(&job, &self.owner).await,
            Err(JobError::Deferred { due, reason }) => {
                tracing::info!(appointment = id, %reason, due, "meeting job deferred");
                self.db
                    .postpone_job(&job, &self.owner, due, job.attempts)
                    .await
            }
            Err(JobError::Blocked(reason)) => {
                tracing::warn!(appointment = id, %reason, "meeting blocked by Zoom settings");
                let due = now_unix() + self.blocked_recheck.as_secs() as i64;
                match self
                    .db
                    .meeting_attempt_failed(id, &self.owner, MeetingState::Blocked, &reason)
                    .await
                {
                    Ok(()) => {
                        self.db
                            .postpone_job(&job, &self.owner, due, job.attempts)
                            .await
                    }
                    Err(e) => Err(e),
                }
            }
            Err(JobError::Reconnect(reason)) => {
                tracing::warn!(appointment = id, %reason, "meeting job waits for a Zoom reconnect");
                match self
                    .db
                    .meeting_needs_reconnect(id, &self.owner, &reason)
                    .await
                {
                    Ok(()) => self.db.finish_job(&job, &self.owner).await,
                    Err(e) => Err(e),
                }
            }
            Err(JobError::Permanent(reason)) => {
                tracing::warn!(appointment = id, %reason, "meeting job failed; needs a person");
                match self
                    .db
                    .meeting_attempt_failed(id, &self.owner, MeetingState::Failed, &reason)
                    .await
                {
                    Ok(()) => self.db.finish_job(&job, &self.owner).await,
                    Err(e) => Err(e),
                }
            }
            Err(JobError::Transient {
                reason,
                retry_at,
                quota,
            }) => {
                let attempts = if quota {
                    job.attempts
                } else {
                    job.attempts + 1
                };
                if attempts >= MAX_TRANSIENT_ATTEMPTS {
                    tracing::warn!(appointment = id, %reason, attempts, "meeting job gave up");
                    let reason = format!("Zoom kept failing after {attempts} attempts: {reason}");
                    match self
                        .db
                        .meeting_attempt_failed(id, &self.owner, MeetingState::Failed, &reason)
                        .await
                    {
                        Ok(()) => self.db.finish_job(&job, &self.owner).await,
                        Err(e) => Err(e),
                    }
                } else {
                    let due = retry_at
                        .map(|at| at.max(now_unix()) + jitter_secs(1))
                        .unwrap_or_else(|| now_unix() + self.backoff_secs(attempts));
                    tracing::info!(appointment = id, %reason, attempts, due, "meeting job will retry");
                    match self
                        .db
                        .meeting_attempt_failed(id, &self.owner, MeetingState::Pending, &reason)
                        .await
                    {
                        Ok(()) => self.db.postpone_job(&job, &self.owner, due, attempts).await,
                        Err(e) => Err(e),
                    }
                }
            }
        };
        if let Err(error) = outcome {
            // The lease runs out and the job is picked up again: nothing is lost.
            tracing::error!(appointment = id, %error, "recording a meeting job's outcome failed");
        }
        self.push.visit_changed(id);
    }

    /// Exponential backoff with jitter: about 1, 2, 4... seconds, capped, each drawn from the
    /// upper half of its interval so that jobs failing together do not retry together.
    fn backoff_secs(&self, attempts: i64) -> i64 {
        let cap = self.retry_max.as_secs().max(1) as i64;
        let ceiling = 1i64
            .checked_shl(attempts.clamp(0, 30) as u32)
            .unwrap_or(cap)
            .min(cap);
        let floor = (ceiling / 2).max(1);
        rand::thread_rng().gen_range(floor..=ceiling)
    }

    /// Makes Zoom match the appointment as it is now. Every step is safe to repeat.
    async fn reconcile(&self, id: i64) -> Result<(), JobError> {
        let Some(mut visit) = self.db.appointment_by_id(id).await.map_err(storage)? else {
            return Ok(());
        };
        if visit.cancelled {
            self.remove_meeting(&visit).await?;
            self.db.meeting_cancelled(id).await.map_err(storage)?;
            return Ok(());
        }
        if visit.ends_at() + (self.close_after.as_secs() as i64) < now_unix() {
            // Past the visit and its grace: a forwarded join link must stop working.
            self.remove_meeting(&visit).await?;
            self.db.meeting_closed(id).await.map_err(storage)?;
            return Ok(());
        }
        if visit.meeting.host_id != visit.doctor.id {
            // Zoom cannot move a meeting to another user: delete it on the old doctor's Zoom,
            // then create it on the new one's.
            self.remove_meeting(&visit).await?;
            self.db
                .forget_meeting(id, visit.doctor.id)
                .await
                .map_err(storage)?;
            visit = self.reload(id).await?;
        }
        if visit.meeting.host_id != visit.doctor.id {
            // The doctor changed again while the old meeting was being removed.
            return Err(JobError::Transient {
                reason: "The doctor changed meanwhile; retrying.".into(),
                retry_at: None,
                quota: false,
            });
        }
        let host = HostId(visit.meeting.host_id);
        let (prefs, revision) = self.preferences(visit.meeting.host_id).await?;
        let meeting_id = match visit.meeting.zoom_meeting_id {
            Some(meeting_id) => meeting_id,
            None => match self.adopt_marked_meeting(&visit).await? {
                Some(meeting_id) => meeting_id,
                None => return self.create(&visit, prefs, revision).await,
            },
        };
        let passcode = self.passcode_of(&visit)?;
        let prefs_stale = self.db.meeting_prefs_revision(id).await.map_err(storage)? < revision;
        if visit.meeting.synced_version < visit.version || prefs_stale {
            if visit.meeting.synced_version >= visit.version {
                // Only the doctor's preferences changed: within the day's share of Zoom's
                // limit, so bookings and reschedules still find room.
                self.within_preference_budget(host).await?;
            }
            let spec = self.spec(&visit, passcode.clone(), prefs);
            self.count_call(host).await;
            match self
                .fenced(id, self.video.update_meeting(host, meeting_id, &spec))
                .await?
            {
                Ok(()) => {}
                Err(ProviderError::NotFound) => {
                    // Deleted at Zoom (by the doctor, say): the next run looks for the marker
                    // (a create may still be landing) and otherwise makes a new one.
                    self.db
                        .forget_meeting(id, visit.doctor.id)
                        .await
                        .map_err(storage)?;
                    return Err(JobError::Transient {
                        reason: "The meeting was deleted at Zoom; creating a new one.".into(),
                        retry_at: None,
                        quota: false,
                    });
                }
                Err(error) => return Err(error.into()),
            }
            self.db
                .meeting_synced(id, visit.version)
                .await
                .map_err(storage)?;
            self.db
                .meeting_prefs_sent(id, revision)
                .await
                .map_err(storage)?;
            self.audit(&visit, Action::MeetingUpdate, meeting_id).await;
        }
        self.verify(&visit, meeting_id, &passcode, prefs).await
    }

    /// Sends one change to Zoom behind the fence: the job's lease and fence are extended past
    /// the last moment the request can be in flight, so no other worker acts on the visit
    /// while it may still land (a duplicate create, or an older update overtaking a newer
    /// one). An answer lifts the fence; an unclear outcome keeps it and retries after it.
    /// Outer error: nothing certain happened; inner: Zoom's definite answer.
    async fn fenced<T>(
        &self,
        id: i64,
        call: impl std::future::Future<Output = Result<T, ProviderError>>,
    ) -> Result<Result<T, ProviderError>, JobError> {
        let held_until = now_unix() + self.create_fence.as_secs() as i64;
        if !self
            .db
            .fence_call(id, &self.owner, held_until)
            .await
            .map_err(storage)?
        {
            return Err(JobError::Transient {
                reason: "The job changed hands; retrying.".into(),
                retry_at: None,
                quota: false,
            });
        }
        let cap = self
            .create_fence
            .saturating_sub(self.request_timeout + Duration::from_secs(1));
        let unclear = JobError::Transient {
            reason: "Zoom did not confirm the change; checking again shortly.".into(),
            retry_at: Some(held_until),
            quota: false,
        };
        match tokio::time::timeout(cap, call).await {
            Err(_) | Ok(Err(ProviderError::Unavailable(_))) => Err(unclear),
            Ok(answer) => {
                self.db
                    .clear_fence(id, &self.owner)
                    .await
                    .map_err(storage)?;
                Ok(answer)
            }
        }
    }

    async fn reload(&self, id: i64) -> Result<AppointmentRow, JobError> {
        self.db
            .appointment_by_id(id)
            .await
            .map_err(storage)?
            .ok_or_else(|| JobError::Permanent("The appointment no longer exists.".into()))
    }

    fn passcode_of(&self, visit: &AppointmentRow) -> Result<SecretString, JobError> {
        let sealed = visit.meeting.passcode_enc.as_deref().ok_or_else(|| {
            JobError::Permanent("The meeting's passcode is missing; retry to create it.".into())
        })?;
        self.keyring
            .open(sealed, Purpose::MeetingPasscode, visit.id)
            .map_err(storage)
    }

    /// After an unclear create, the meeting may exist at Zoom: find it by its marker.
    async fn adopt_marked_meeting(&self, visit: &AppointmentRow) -> Result<Option<i64>, JobError> {
        if !visit.meeting.create_attempted {
            return Ok(None);
        }
        let host = HostId(visit.meeting.host_id);
        let Some(found) = self.video.find_meeting(host, &visit.meeting.marker).await? else {
            return Ok(None);
        };
        tracing::info!(
            appointment = visit.id,
            meeting = found.meeting_id,
            "found the meeting an unclear create made; adopting it"
        );
        // Synced version -1: the next step updates it to the appointment as it is now, since
        // the create that made it may have carried an older time.
        self.db
            .record_meeting(
                visit.id,
                found.meeting_id,
                found.uuid.as_deref(),
                self.keyring.seal(
                    found.join_url.expose_secret(),
                    Purpose::MeetingJoinUrl,
                    visit.id,
                ),
                -1,
            )
            .await
            .map_err(storage)?;
        let detail = format!(
            "Zoom meeting {} (made by an unconfirmed create, found by its marker)",
            found.meeting_id
        );
        self.audit_with(visit, Action::MeetingCreate, detail).await;
        Ok(Some(found.meeting_id))
    }

    async fn create(
        &self,
        visit: &AppointmentRow,
        prefs: MeetingPreferences,
        revision: i64,
    ) -> Result<(), JobError> {
        if visit.cancelled || visit.meeting.host_id != visit.doctor.id {
            return Err(JobError::Transient {
                reason: "The visit changed meanwhile; retrying.".into(),
                retry_at: None,
                quota: false,
            });
        }
        let host = HostId(visit.meeting.host_id);
        let rules = self.passcode_rules(host).await?;
        let passcode =
            passcode::generate(&rules).map_err(|e| JobError::Permanent(e.to_string()))?;
        let held_until = now_unix() + self.create_fence.as_secs() as i64;
        let fenced = self
            .db
            .mark_create_attempted(
                visit.id,
                &self.owner,
                held_until,
                self.keyring
                    .seal(passcode.expose_secret(), Purpose::MeetingPasscode, visit.id),
            )
            .await
            .map_err(storage)?;
        if !fenced {
            // Our lease ran out: another worker may own the job now, so we must not create.
            return Err(JobError::Transient {
                reason: "The job changed hands; retrying.".into(),
                retry_at: None,
                quota: false,
            });
        }
        // Until `held_until` the create may still land at Zoom: a failure that leaves it
        // unclear is retried (and the marker searched for) only after that moment. The call
        // is cut off early enough that a request sent at its very end is answered (or timed
        // out) by then.
        let unclear = JobError::Transient {
            reason: "Zoom did not confirm the new meeting; checking again shortly.".into(),
            retry_at: Some(held_until),
            quota: false,
        };
        let cap = self
            .create_fence
            .saturating_sub(self.request_timeout + Duration::from_secs(1));
        self.count_call(host).await;
        let attempt = tokio::time::timeout(
            cap,
            self.video
                .create_meeting(host, &self.spec(visit, passcode.clone(), prefs)),
        )
        .await;
        let created = match attempt {
            Err(_) => return Err(unclear),
            Ok(Err(ProviderError::Unavailable(_))) => return Err(unclear),
            Ok(answer) => {
                self.db
                    .clear_fence(visit.id, &self.owner)
                    .await
                    .map_err(storage)?;
                answer
            }
        };
        let created = match created {
            Ok(created) => created,
            Err(error) => {
                if matches!(error, ProviderError::Rejected(_)) {
                    // Perhaps the host's passcode policy changed: ask Zoom afresh next time.
                    if let Ok(mut cache) = self.rules.lock() {
                        cache.remove(&host.0);
                    }
                }
                return Err(error.into());
            }
        };
        if created.join_url.expose_secret().is_empty() {
            return Err(JobError::Transient {
                reason: "Zoom created the meeting without a join link; checking again.".into(),
                retry_at: Some(held_until),
                quota: false,
            });
        }
        self.db
            .record_meeting(
                visit.id,
                created.meeting_id,
                created.uuid.as_deref(),
                self.keyring.seal(
                    created.join_url.expose_secret(),
                    Purpose::MeetingJoinUrl,
                    visit.id,
                ),
                visit.version,
            )
            .await
            .map_err(storage)?;
        self.db
            .meeting_prefs_sent(visit.id, revision)
            .await
            .map_err(storage)?;
        self.audit(visit, Action::MeetingCreate, created.meeting_id)
            .await;
        self.verify(visit, created.meeting_id, &passcode, prefs)
            .await
    }

    async fn passcode_rules(&self, host: HostId) -> Result<PasscodeRules, ProviderError> {
        let cached = self
            .rules
            .lock()
            .ok()
            .and_then(|cache| cache.get(&host.0).cloned())
            .filter(|(at, _)| at.elapsed() < RULES_TTL);
        if let Some((_, rules)) = cached {
            return Ok(rules);
        }
        let rules = self.video.passcode_rules(host).await?;
        if let Ok(mut cache) = self.rules.lock() {
            cache.insert(host.0, (Instant::now(), rules.clone()));
        }
        Ok(rules)
    }

    /// Reads the meeting back and holds it to the privacy contract: anything Zoom changed is
    /// sent again once; what still differs after that is an account lock, and the visit is
    /// blocked (no join link for the patient) with what the clinic's Zoom admin must change.
    async fn verify(
        &self,
        visit: &AppointmentRow,
        meeting_id: i64,
        passcode: &SecretString,
        prefs: MeetingPreferences,
    ) -> Result<(), JobError> {
        let host = HostId(visit.meeting.host_id);
        let mut resent = false;
        loop {
            let check = match self.video.check_meeting(host, meeting_id, passcode).await {
                Ok(check) => check,
                Err(ProviderError::NotFound) => {
                    // Deleted at Zoom (by the doctor, say): forget it; the next run creates
                    // anew.
                    self.db
                        .forget_meeting(visit.id, visit.meeting.host_id)
                        .await
                        .map_err(storage)?;
                    return Err(JobError::Transient {
                        reason: "The meeting was deleted at Zoom; creating a new one.".into(),
                        retry_at: None,
                        quota: false,
                    });
                }
                Err(error) => return Err(error.into()),
            };
            if let Some(applied) = check.applied {
                self.note_forced(visit.meeting.host_id, prefs, applied)
                    .await;
            }
            if check.broken.is_empty() {
                // The passcode may be the same but the link Zoom hands out can change.
                if check.join_url.expose_secret().contains("pwd=") {
                    self.db
                        .update_join_url(
                            visit.id,
                            self.keyring.seal(
                                check.join_url.expose_secret(),
                                Purpose::MeetingJoinUrl,
                                visit.id,
                            ),
                        )
                        .await
                        .map_err(storage)?;
                }
                return self
                    .db
                    .meeting_ready(visit.id, check.uuid.as_deref(), None)
                    .await
                    .map_err(storage);
            }
            let problems = crate::server::video::contract::describe(&check.broken);
            if resent {
                return Err(JobError::Blocked(problems));
            }
            tracing::warn!(appointment = visit.id, %problems, "Zoom overrode the contract; sending it again");
            let spec = self.spec(visit, passcode.clone(), prefs);
            self.count_call(host).await;
            self.fenced(visit.id, self.video.update_meeting(host, meeting_id, &spec))
                .await??;
            resent = true;
        }
    }

    /// Deletes the appointment's meeting at Zoom, wherever it is: recorded, or only possibly
    /// created (then found by its marker). A meeting already gone is fine.
    async fn remove_meeting(&self, visit: &AppointmentRow) -> Result<(), JobError> {
        let host = HostId(visit.meeting.host_id);
        let meeting_id = match visit.meeting.zoom_meeting_id {
            Some(id) => Some(id),
            None if visit.meeting.create_attempted => self
                .video
                .find_meeting(host, &visit.meeting.marker)
                .await?
                .map(|found| found.meeting_id),
            None => None,
        };
        if let Some(meeting_id) = meeting_id {
            match self
                .fenced(visit.id, self.video.delete_meeting(host, meeting_id))
                .await?
            {
                Ok(()) => self.audit(visit, Action::MeetingDelete, meeting_id).await,
                // Already gone, or over: Zoom keeps an ended meeting, but nobody can join
                // it without the host starting it again.
                Err(ProviderError::NotFound) | Err(ProviderError::Ended) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// The worker's changes at Zoom are audited with the system as the actor.
    async fn audit(&self, visit: &AppointmentRow, action: Action, meeting_id: i64) {
        self.audit_with(visit, action, format!("Zoom meeting {meeting_id}"))
            .await;
    }

    async fn audit_with(&self, visit: &AppointmentRow, action: Action, detail: String) {
        let entry =
            Entry::new(Actor::System, action, visit.public_id.as_str(), Outcome::Ok).detail(detail);
        audit::record(&self.db, entry).await.ok();
    }

    fn spec(
        &self,
        visit: &AppointmentRow,
        passcode: SecretString,
        preferences: MeetingPreferences,
    ) -> MeetingSpec {
        MeetingSpec {
            // No patient details: Zoom shows the topic to everyone in the meeting's lobby.
            topic: format!("Video visit with {}", visit.doctor.label()),
            agenda: format!("Telehealth visit. Reference: {}", visit.meeting.marker),
            start: visit.start.utc(),
            duration_minutes: visit.length.minutes(),
            time_zone: visit.start.booked_in().name().to_owned(),
            passcode,
            preferences,
        }
    }

    /// How the host doctor wants their meetings to start, and the revision of that wish.
    async fn preferences(&self, doctor_id: i64) -> Result<(MeetingPreferences, i64), JobError> {
        let row = self.db.preferences_of(doctor_id).await.map_err(storage)?;
        let values = row.effective();
        Ok((
            MeetingPreferences {
                host_video: values.host_video,
                participant_video: values.participant_video,
                mute_upon_entry: values.mute_upon_entry,
            },
            row.revision,
        ))
    }

    /// Counts a create or update against the host's day (Zoom counts every one it receives).
    async fn count_call(&self, host: HostId) {
        if let Err(error) = self
            .db
            .count_zoom_call(host.0, now_unix().div_euclid(86_400))
            .await
        {
            tracing::warn!(%error, "counting a Zoom meeting call failed");
        }
    }

    /// Preference-only updates stop at the day's share of Zoom's limit and wait for the next
    /// UTC day (when Zoom's count resets), spread over its first hour.
    async fn within_preference_budget(&self, host: HostId) -> Result<(), JobError> {
        let day = now_unix().div_euclid(86_400);
        let used = self.db.zoom_calls_on(host.0, day).await.map_err(storage)?;
        if used < self.pref_budget {
            return Ok(());
        }
        Err(JobError::Deferred {
            due: (day + 1) * 86_400 + jitter_secs(3600),
            reason: format!(
                "{used} meeting creates/updates sent for this doctor today; the preference \
                 update waits for tomorrow"
            ),
        })
    }

    /// Remembers where the host's Zoom account kept another value than the preference sent
    /// (an account lock), for the doctor's Zoom page.
    async fn note_forced(
        &self,
        doctor_id: i64,
        sent: MeetingPreferences,
        applied: MeetingPreferences,
    ) {
        use crate::types::preferences::PreferenceField;
        let forced: Vec<(PreferenceField, bool)> = [
            (
                PreferenceField::HostVideo,
                sent.host_video,
                applied.host_video,
            ),
            (
                PreferenceField::ParticipantVideo,
                sent.participant_video,
                applied.participant_video,
            ),
            (
                PreferenceField::MuteUponEntry,
                sent.mute_upon_entry,
                applied.mute_upon_entry,
            ),
        ]
        .into_iter()
        .filter(|(_, sent, kept)| sent != kept)
        .map(|(field, _, kept)| (field, kept))
        .collect();
        if let Err(error) = self.db.record_zoom_forced(doctor_id, &forced).await {
            tracing::warn!(%error, "recording what Zoom forced failed");
        }
    }
}

/// Preference-only updates may use three quarters of Zoom's daily limit (at least one).
fn preference_budget(limit: u32) -> i64 {
    (i64::from(limit) - i64::from(limit) / 4).max(1)
}

fn jitter_secs(max: i64) -> i64 {
    rand::thread_rng().gen_range(0..=max)
}
