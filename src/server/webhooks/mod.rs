//! Zoom webhooks: what Zoom tells us about meetings after they are made (the patient in the
//! waiting room, the doctor starting and ending, a meeting deleted or changed in Zoom) and
//! about users (a doctor removing our app). The endpoint (`routes::webhooks`) only checks,
//! stores and acknowledges within Zoom's 3 seconds; the meeting worker then applies each
//! stored event here, under a lease, as it runs meeting jobs.

pub mod event;
pub mod signature;

use crate::domain::ZoomConnectionMode;
use crate::server::audit::{self, Action, Actor, Entry, Outcome};
use crate::server::crypto::Purpose;
use crate::server::persistence::{Db, NewWebhookEvent, StoreError, WebhookEventRow};
use crate::server::push::Push;
use crate::server::AppState;
use event::{Body, Envelope, MeetingEvent};
use secrecy::ExposeSecret;

/// Where Zoom must send events: the URL to enter in the Zoom app's Event Subscriptions.
pub fn endpoint_url(settings: &crate::server::config::Settings) -> String {
    format!("{}/webhooks/zoom", settings.public_url)
}

/// What the endpoint answers.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// `endpoint.url_validation`: the answer Zoom expects.
    Validation {
        plain_token: String,
        encrypted_token: String,
    },
    Stored,
    Duplicate,
    /// 401: unsigned, forged, stale, or no secret configured. Nothing stored.
    Unauthorized(&'static str),
    /// 400: not an event we can read, or from another account. Nothing stored.
    BadRequest(&'static str),
}

/// Checks a delivery and stores it. Counted, whatever the answer.
pub async fn receive(
    state: &AppState,
    signature_header: Option<&str>,
    timestamp: Option<&str>,
    raw: &[u8],
) -> Result<Received, StoreError> {
    let received = check_and_store(state, signature_header, timestamp, raw).await?;
    let counter = match &received {
        Received::Validation { .. } => "url_validation",
        Received::Stored => "accepted",
        Received::Duplicate => "duplicate",
        Received::Unauthorized(kind) | Received::BadRequest(kind) => kind,
    };
    if let Err(error) = state.db.count_webhook(counter).await {
        tracing::warn!(%error, "counting a webhook failed");
    }
    match &received {
        Received::Unauthorized(kind) | Received::BadRequest(kind) => {
            tracing::warn!(refused = kind, "refused a Zoom webhook")
        }
        Received::Stored => state.jobs_wake.notify_one(),
        _ => {}
    }
    Ok(received)
}

async fn check_and_store(
    state: &AppState,
    signature_header: Option<&str>,
    timestamp: Option<&str>,
    raw: &[u8],
) -> Result<Received, StoreError> {
    let (Some(header), Some(timestamp)) = (signature_header, timestamp) else {
        return Ok(Received::Unauthorized("refused_unsigned"));
    };
    let Some((sealed, _)) = state.db.webhook_secret().await? else {
        return Ok(Received::Unauthorized("refused_no_secret"));
    };
    let Ok(secret) = state.keyring.open(&sealed, Purpose::ZoomWebhookSecret, 1) else {
        return Ok(Received::Unauthorized("refused_no_secret"));
    };
    let secret = secret.expose_secret();
    if !signature::verify(secret, timestamp, raw, header) {
        return Ok(Received::Unauthorized("refused_signature"));
    }
    if !signature::fresh(timestamp, crate::server::persistence::now_unix()) {
        return Ok(Received::Unauthorized("refused_stale"));
    }
    let envelope = match Envelope::parse(raw) {
        Ok(envelope) => envelope,
        Err(_) => return Ok(Received::BadRequest("refused_malformed")),
    };
    if let Body::UrlValidation { plain_token } = &envelope.body {
        return Ok(Received::Validation {
            encrypted_token: signature::url_validation(secret, plain_token),
            plain_token: plain_token.clone(),
        });
    }
    // With Server-to-Server the clinic's account is known: events of any other are not ours.
    // (A user-managed app's users may sit on any account; the signature is the check then.)
    if let Some(settings) = state.db.zoom_settings().await? {
        if settings.mode == ZoomConnectionMode::ServerToServer {
            if let (Some(ours), Some(theirs)) = (&settings.account_id, &envelope.account_id) {
                if ours != theirs {
                    return Ok(Received::BadRequest("refused_account"));
                }
            }
        }
    }
    let (meeting_id, uuid, zoom_user, happened_at) = match &envelope.body {
        Body::Meeting {
            meeting_id,
            uuid,
            host_id,
            happened_at,
            ..
        } => (
            *meeting_id,
            uuid.as_deref(),
            host_id.as_deref(),
            Some(*happened_at),
        ),
        Body::Deauthorized { user_id } => (None, None, Some(user_id.as_str()), None),
        _ => (None, None, None, None),
    };
    let key = envelope.dedup_key();
    let stored = state
        .db
        .insert_webhook_event(NewWebhookEvent {
            dedup_key: &key,
            event: &envelope.event,
            event_ts: envelope.event_ts,
            meeting_id,
            meeting_uuid: uuid,
            zoom_user_id: zoom_user,
            happened_at,
        })
        .await?;
    Ok(if stored {
        Received::Stored
    } else {
        Received::Duplicate
    })
}

/// Shown to a doctor and the admin after the doctor removed the app in Zoom.
pub const DEAUTHORIZED: &str = "The Zoom app was removed from this doctor's Zoom account \
    (deauthorized in Zoom). Their Zoom data was deleted here; upcoming visits get meetings \
    again once they reconnect Zoom.";

/// Applies one stored event. `Ok(outcome)` finishes it; `Err` is retried later.
pub async fn apply(
    db: &Db,
    push: &Push,
    row: &WebhookEventRow,
) -> Result<&'static str, StoreError> {
    if row.event == "app_deauthorized" {
        let Some(user) = row.zoom_user_id.as_deref() else {
            return Ok("nothing to purge");
        };
        let purged = db.purge_zoom_user(user, DEAUTHORIZED).await?;
        // SQLite: no copy of the purged pages may linger in the write-ahead log.
        if let Err(error) = db.discard_old_pages().await {
            tracing::warn!(%error, "truncating the write-ahead log after a purge failed");
        }
        let Some(doctor) = purged.doctor_id else {
            count(db, "unknown_user").await;
            return Ok("unknown Zoom user");
        };
        let subject = match db.user_by_id(doctor).await? {
            Some(user) => user.email.to_string(),
            None => doctor.to_string(),
        };
        let detail = format!(
            "Zoom app removed by the doctor in Zoom: tokens, Zoom user id and email, and the Zoom \
             ids of {} meeting(s) deleted at once; {} upcoming visit(s) need a reconnect",
            purged.touched.len(),
            purged.flagged.len()
        );
        let entry = Entry::new(
            Actor::System,
            Action::ZoomDeauthorized,
            subject,
            Outcome::Ok,
        )
        .detail(detail);
        audit::record(db, entry).await.ok();
        for id in purged.touched.iter().chain(&purged.flagged) {
            push.visit_changed(*id);
        }
        return Ok("purged");
    }
    let Some(kind) = MeetingEvent::parse(&row.event) else {
        count(db, "ignored").await;
        return Ok("ignored");
    };
    let Some(found) = db
        .meeting_by_zoom(row.meeting_id, row.meeting_uuid.as_deref())
        .await?
    else {
        count(db, "unknown_meeting").await;
        return Ok("unknown meeting");
    };
    let id = found.appointment_id;
    let at = row.event_ts;
    let changed = match kind {
        MeetingEvent::JoinedWaitingRoom => {
            db.live_waiting(id, Some(row.happened_at.unwrap_or(at)), at)
                .await?
        }
        MeetingEvent::LeftWaitingRoom | MeetingEvent::Admitted => {
            db.live_waiting(id, None, at).await?
        }
        MeetingEvent::Started => db.live_started_or_ended(id, false, at).await?,
        MeetingEvent::Ended => db.live_started_or_ended(id, true, at).await?,
        MeetingEvent::Deleted | MeetingEvent::Updated => {
            let deleted = kind == MeetingEvent::Deleted;
            let queued = db.queue_meeting_check(id, deleted).await?;
            if queued && deleted {
                if let Some(visit) = db.appointment_by_id(id).await? {
                    let entry = Entry::new(
                        Actor::System,
                        Action::MeetingDeletedInZoom,
                        visit.public_id.as_str(),
                        Outcome::Ok,
                    )
                    .detail(
                        "The meeting was deleted in Zoom before the visit; re-creating it under \
                         the privacy contract",
                    );
                    audit::record(db, entry).await.ok();
                }
            }
            queued
        }
    };
    if changed {
        push.visit_changed(id);
    }
    Ok(if changed { "applied" } else { "no change" })
}

async fn count(db: &Db, name: &str) {
    if let Err(error) = db.count_webhook(name).await {
        tracing::warn!(%error, "counting a webhook failed");
    }
}

/// After this many failed attempts (the database unreachable, say) an event is given up,
/// with its outcome recorded; Zoom's own redeliveries are deduplicated against it.
const MAX_ATTEMPTS: i64 = 10;

/// Claims stored events that are due and applies each in a task of its own, using the
/// meeting worker's free slots. Called from the meeting worker's loop, so events are woken
/// by the same `jobs_wake` and found by the same polling as meeting jobs, in every instance.
pub async fn drain(
    db: &Db,
    push: &Push,
    owner: &str,
    lease: std::time::Duration,
    slots: &std::sync::Arc<tokio::sync::Semaphore>,
) {
    use crate::server::persistence::now_unix;
    let free = slots.available_permits();
    if free == 0 {
        return;
    }
    let now = now_unix();
    let events = match db.due_webhook_events(now, free as i64).await {
        Ok(events) => events,
        Err(error) => {
            tracing::warn!(%error, "reading due webhook events failed");
            return;
        }
    };
    for row in events {
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            break;
        };
        let lease_until = now_unix() + lease.as_secs() as i64;
        match db
            .claim_webhook_event(row.id, owner, now, lease_until)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(%error, "claiming a webhook event failed");
                continue;
            }
        }
        let (db, push, owner) = (db.clone(), push.clone(), owner.to_owned());
        tokio::spawn(async move {
            let result = apply(&db, &push, &row).await;
            let recorded = match result {
                Ok(outcome) => {
                    tracing::info!(event = %row.event, outcome, "applied a Zoom webhook");
                    db.finish_webhook_event(row.id, &owner, outcome).await
                }
                Err(error) if row.attempts + 1 >= MAX_ATTEMPTS => {
                    tracing::error!(%error, event = %row.event, "gave up on a Zoom webhook");
                    db.finish_webhook_event(row.id, &owner, "failed").await
                }
                Err(error) => {
                    tracing::warn!(%error, event = %row.event, "applying a Zoom webhook failed");
                    let due = now_unix() + (1i64 << row.attempts.clamp(0, 8));
                    db.postpone_webhook_event(row.id, &owner, due, row.attempts + 1)
                        .await
                }
            };
            if let Err(error) = recorded {
                // The lease runs out and the event is taken up again: applying is idempotent.
                tracing::error!(%error, "recording a webhook's outcome failed");
            }
            drop(permit);
        });
    }
}

/// The admin's view of the webhook set-up: the URL to give Zoom, whether the secret is set,
/// and what arrived.
pub async fn view(
    state: &AppState,
) -> Result<crate::types::zoom::WebhookView, crate::error::AppError> {
    use crate::server::internal;
    let secret = state
        .db
        .webhook_secret()
        .await
        .map_err(internal("loading the webhook secret"))?;
    Ok(crate::types::zoom::WebhookView {
        endpoint_url: endpoint_url(&state.settings),
        secret_set_at: secret.map(|(_, at)| at),
        counters: state
            .db
            .webhook_counters()
            .await
            .map_err(internal("loading webhook counters"))?,
    })
}

/// Seals and stores the secret token Zoom signs webhooks with (`crypto::Purpose`), audited.
pub async fn save_secret(
    state: &AppState,
    admin: &crate::server::persistence::UserRecord,
    secret: crate::domain::ZoomIdentifier,
) -> Result<(), crate::error::AppError> {
    use crate::error::AppError;
    use crate::server::internal;
    let sealed = state
        .keyring
        .seal(secret.as_str(), Purpose::ZoomWebhookSecret, 1);
    let saved = state
        .db
        .save_webhook_secret(sealed)
        .await
        .map_err(internal("saving the webhook secret"))?;
    if !saved {
        return Err(AppError::validation(
            "secret_token",
            "Save the Zoom settings first; the secret token belongs to the same Zoom app.",
        ));
    }
    let entry = Entry::new(
        Actor::User(admin.id),
        Action::ZoomWebhookSecret,
        "zoom",
        Outcome::Ok,
    );
    audit::record(&state.db, entry).await.ok();
    Ok(())
}
