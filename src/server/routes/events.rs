//! `GET /api/events`: the push stream of one logged-in tab (Server-Sent Events).
//!
//! Events (each `data` is JSON):
//! - `session` `{"expires_in": seconds, "idle": seconds}`: when the session ends unless the
//!   person does something, and the idle timeout; sent at once and then every quarter of
//!   the idle timeout (at most 15 s apart), so the page can warn before the automatic logoff;
//! - `visit` `{"id": "<visit id>"}`: a visit the caller may see changed; the page re-reads it
//!   through the server functions, so the stream itself carries nothing a role may not see;
//! - `resync` `{}`: changes may have been missed; re-read everything;
//! - `expired` `{}`: the session ended; the stream closes.
//!
//! The stream is not activity: it does not refresh the idle timeout (see
//! `session::PASSIVE_PATHS`), and it ends once the session has expired or was logged out.

use crate::error::AppError;
use crate::server::auth::session::{self, Timeouts};
use crate::server::persistence::{DbSessionStore, UserRecord};
use crate::server::push::Change;
use crate::server::routes::error_response;
use crate::server::visits::access;
use crate::server::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tower_sessions::session::Id;
use tower_sessions::Session;

/// Events a slow tab may have queued before the broadcast behind it starts to lag.
const QUEUE: usize = 64;

#[tracing::instrument(skip_all)]
pub async fn events(State(state): State<AppState>, session: Session) -> Response {
    let user = match session::current_user(&session, &state.db).await {
        Ok(Some(user)) => user,
        Ok(None) => return error_response(AppError::Unauthorized),
        Err(error) => return error_response(error),
    };
    let Some(id) = session.id() else {
        return error_response(AppError::Unauthorized);
    };
    let timeouts = Timeouts {
        idle: state.settings.session_idle_timeout,
        absolute: state.settings.session_absolute_timeout,
    };
    // Subscribed before answering: a change made right after the page connected is not lost.
    let changes = state.push.changes();
    let (sender, receiver) = mpsc::channel(QUEUE);
    tokio::spawn(feed(state, user, id, timeouts, changes, sender));
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        Some((Ok::<_, Infallible>(event), receiver))
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Proxies such as nginx would otherwise hold the events back in their buffers.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// How often the stream re-reads the session: often enough that the logoff warning and the
/// end of the stream follow the idle timeout closely, rarely enough to cost nothing.
fn check_interval(timeouts: Timeouts) -> Duration {
    (timeouts.idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(15))
}

async fn feed(
    state: AppState,
    mut user: UserRecord,
    id: Id,
    timeouts: Timeouts,
    mut changes: broadcast::Receiver<Change>,
    sender: mpsc::Sender<Event>,
) {
    let store = DbSessionStore::new(state.db.clone());
    let mut check = tokio::time::interval(check_interval(timeouts));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let event = tokio::select! {
            _ = sender.closed() => return,
            _ = check.tick() => match still_valid(&state, &store, &id, timeouts).await {
                // A database hiccup is not a logoff: look again at the next tick.
                Err(()) => continue,
                Ok(Some((current, left))) => {
                    user = current;
                    named(
                        "session",
                        serde_json::json!({ "expires_in": left, "idle": timeouts.idle.as_secs() }),
                    )
                }
                Ok(None) => {
                    let _ = sender.send(named("expired", serde_json::json!({}))).await;
                    return;
                }
            },
            change = changes.recv() => match change {
                Ok(Change::Visit { public_id, doctor_id, previous_doctor, patient_id }) => {
                    let sees = access::sees_parties(&user, doctor_id, patient_id)
                        || previous_doctor.is_some_and(|d| access::sees_parties(&user, d, patient_id));
                    if !sees {
                        continue;
                    }
                    named("visit", serde_json::json!({ "id": public_id }))
                }
                Ok(Change::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    named("resync", serde_json::json!({}))
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        if sender.send(event).await.is_err() {
            return;
        }
    }
}

fn named(name: &'static str, data: serde_json::Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

/// The session's user and seconds left, if the session still stands and its user is still
/// active with the same password epoch (a password change or deactivation ends the stream).
async fn still_valid(
    state: &AppState,
    store: &DbSessionStore,
    id: &Id,
    timeouts: Timeouts,
) -> Result<Option<(UserRecord, i64)>, ()> {
    let Some(standing) = session::standing(store, id, timeouts)
        .await
        .map_err(|_| ())?
    else {
        return Ok(None);
    };
    let user = state
        .db
        .user_by_id(standing.user_id)
        .await
        .map_err(|error| tracing::warn!(%error, "loading the stream's user failed"))?;
    Ok(user
        .filter(|user| user.active && Some(user.session_epoch) == standing.epoch)
        .map(|user| (user, standing.seconds_left)))
}
