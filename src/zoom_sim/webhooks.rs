//! The simulator's event notifications, sent as Zoom sends them (FACTS §7): signed with the
//! endpoint's secret token (`x-zm-signature`, `x-zm-request-timestamp`), `url_validation`
//! when the endpoint is set, retried 5, 20 and 60 minutes after a failed delivery (the
//! delays scaled by `retry_scale` for tests), and on demand delivered twice or more, or held
//! back and released in reverse order.

use super::state::{now, random_secret, Meeting, ACCOUNT_ID};
use super::Shared;
use crate::server::webhooks::signature;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

/// Zoom's redelivery schedule after a failed delivery.
const RETRY_DELAYS_SECS: [u64; 3] = [5 * 60, 20 * 60, 60 * 60];
/// Zoom expects an answer within 3 seconds.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookConfig {
    /// Where events go; none: nothing is sent.
    pub url: Option<String>,
    pub secret_token: Option<String>,
    /// Multiplies Zoom's retry delays (1.0: real minutes; 0.001: a 5-minute wait is 0.3 s).
    pub retry_scale: f64,
    /// Each event is delivered this many extra times (Zoom delivers at least once).
    pub duplicates: u32,
    /// Events are kept instead of sent until `/_sim/webhooks/release`.
    pub hold: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            url: None,
            secret_token: None,
            retry_scale: 1.0,
            duplicates: 0,
            hold: false,
        }
    }
}

/// One delivery attempt, for tests.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub event: String,
    pub attempt: u32,
    /// The endpoint's HTTP status; 0 when it could not be reached in time.
    pub status: u16,
}

#[derive(Debug, Default)]
pub struct WebhookState {
    pub config: WebhookConfig,
    pub held: Vec<Value>,
    pub deliveries: Vec<Delivery>,
    /// Whether the endpoint answered the last `url_validation` correctly.
    pub validated: Option<bool>,
    /// Participants in each meeting's waiting room.
    pub waiting: std::collections::HashMap<i64, Vec<String>>,
}

fn ms_now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn iso_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The `object` of a meeting event. Zoom sends the id as a string in most meeting events
/// and as a number in some (`as_number`).
fn meeting_object(m: &Meeting, as_number: bool) -> Value {
    json!({
        "id": if as_number { json!(m.id) } else { json!(m.id.to_string()) },
        "uuid": m.uuid,
        "host_id": m.host_id,
        "topic": m.topic,
        "type": m.kind,
        "start_time": m.start_time,
        "timezone": m.timezone,
        "duration": m.duration,
    })
}

/// A meeting event's envelope.
pub fn meeting_event(event: &str, m: &Meeting, participant: Option<&str>) -> Value {
    let as_number = matches!(event, "meeting.deleted" | "meeting.updated");
    let mut object = meeting_object(m, as_number);
    if event == "meeting.ended" {
        object["end_time"] = json!(iso_now());
    }
    if let Some(participant) = participant {
        object["participant"] = json!({
            "user_id": "16778240",
            "user_name": "Guest",
            "id": "",
            "participant_uuid": participant,
            "date_time": iso_now(),
            "email": "",
        });
    }
    json!({
        "event": event,
        "event_ts": ms_now(),
        "payload": { "account_id": ACCOUNT_ID, "object": object },
    })
}

pub fn deauthorized_event(user_id: &str, client_id: &str) -> Value {
    json!({
        "event": "app_deauthorized",
        "event_ts": ms_now(),
        "payload": {
            "account_id": ACCOUNT_ID,
            "user_id": user_id,
            "signature": random_secret(32),
            "deauthorization_time": iso_now(),
            "client_id": client_id,
            "user_data_retention": "false",
        },
    })
}

/// Sends `event` (or holds it) as configured. Never blocks: deliveries run in tasks.
pub fn emit(shared: &Shared, event: Value) {
    let config = {
        let mut state = shared.lock();
        if state.webhooks.config.url.is_none() {
            return;
        }
        if state.webhooks.config.hold {
            state.webhooks.held.push(event);
            return;
        }
        state.webhooks.config.clone()
    };
    for _ in 0..=config.duplicates {
        tokio::spawn(deliver(shared.clone(), event.clone()));
    }
}

/// One event to its end: the first attempt and up to three redeliveries.
async fn deliver(shared: Shared, event: Value) {
    let name = event["event"].as_str().unwrap_or_default().to_owned();
    let body = serde_json::to_vec(&event).unwrap_or_default();
    for attempt in 0..=RETRY_DELAYS_SECS.len() {
        let config = shared.lock().webhooks.config.clone();
        let (Some(url), Some(secret)) = (config.url, config.secret_token) else {
            return;
        };
        let status = post_signed(&url, &secret, &body)
            .await
            .map_or(0, |(s, _)| s);
        let ok = (200..300).contains(&status);
        {
            let mut state = shared.lock();
            state.webhooks.deliveries.push(Delivery {
                event: name.clone(),
                attempt: attempt as u32,
                status,
            });
            if ok {
                state.counters.webhooks_delivered += 1;
            } else {
                state.counters.webhooks_failed += 1;
            }
        }
        if ok {
            return;
        }
        let Some(delay) = RETRY_DELAYS_SECS.get(attempt) else {
            return;
        };
        let scaled = Duration::from_secs_f64(*delay as f64 * config.retry_scale.max(0.0));
        tokio::time::sleep(scaled).await;
        shared.lock().counters.webhooks_retried += 1;
    }
}

/// Posts `body` signed as Zoom signs it, now. The status and the body of the answer.
async fn post_signed(url: &str, secret: &str, body: &[u8]) -> Option<(u16, Vec<u8>)> {
    let timestamp = now().to_string();
    let client = reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok()?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-zm-request-timestamp", &timestamp)
        .header("x-zm-signature", signature::sign(secret, &timestamp, body))
        .body(body.to_vec())
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.bytes().await.ok()?.to_vec()))
}

/// Zoom's check of a new endpoint: a random token the endpoint must HMAC with the secret.
pub async fn validate(shared: &Shared) -> bool {
    let config = shared.lock().webhooks.config.clone();
    let (Some(url), Some(secret)) = (config.url, config.secret_token) else {
        return false;
    };
    let plain = random_secret(22);
    let body = json!({
        "event": "endpoint.url_validation",
        "event_ts": ms_now(),
        "payload": { "plainToken": plain },
    });
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let answer = post_signed(&url, &secret, &body).await;
    let valid = answer.is_some_and(|(status, bytes)| {
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        status == 200
            && answer["plainToken"] == plain.as_str()
            && answer["encryptedToken"] == signature::url_validation(&secret, &plain).as_str()
    });
    shared.lock().webhooks.validated = Some(valid);
    valid
}

/// `POST /_sim/webhooks` `{"url", "secret_token", "retry_scale", "duplicates", "hold"}`:
/// fields present replace the current ones. A new URL or token is validated as Zoom does;
/// the answer says whether the endpoint passed.
pub async fn configure(State(shared): State<Shared>, Json(patch): Json<Value>) -> Response {
    let endpoint_changed = {
        let mut state = shared.lock();
        let mut current = serde_json::to_value(&state.webhooks.config).unwrap_or_default();
        let mut changed = false;
        if let Some(fields) = patch.as_object() {
            for (key, value) in fields {
                changed |= matches!(key.as_str(), "url" | "secret_token");
                current[key] = value.clone();
            }
        }
        match serde_json::from_value(current) {
            Ok(config) => state.webhooks.config = config,
            Err(error) => {
                return (
                    axum::http::StatusCode::BAD_REQUEST,
                    Json(json!({ "error": error.to_string() })),
                )
                    .into_response()
            }
        }
        changed
    };
    let validated = if endpoint_changed {
        Some(validate(&shared).await)
    } else {
        None
    };
    Json(json!({ "status": "ok", "validated": validated })).into_response()
}

/// `GET /_sim/webhooks`: the configuration (the token only as set or not), whether the
/// endpoint validated, held events and every delivery attempt.
pub async fn status(State(shared): State<Shared>) -> Response {
    let state = shared.lock();
    let hooks = &state.webhooks;
    Json(json!({
        "url": hooks.config.url,
        "secret_set": hooks.config.secret_token.is_some(),
        "retry_scale": hooks.config.retry_scale,
        "duplicates": hooks.config.duplicates,
        "hold": hooks.config.hold,
        "validated": hooks.validated,
        "held": hooks.held.iter().map(|e| e["event"].clone()).collect::<Vec<_>>(),
        "deliveries": hooks.deliveries,
    }))
    .into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Release {
    /// Deliver the held events newest first (out of order).
    reverse: bool,
}

/// `POST /_sim/webhooks/release` `{"reverse": true}`: sends the held events (and stops
/// holding).
pub async fn release(State(shared): State<Shared>, Json(release): Json<Release>) -> Response {
    let mut events = {
        let mut state = shared.lock();
        state.webhooks.config.hold = false;
        std::mem::take(&mut state.webhooks.held)
    };
    if release.reverse {
        events.reverse();
    }
    let count = events.len();
    // One after another, so the order asked for is the order of arrival.
    for event in events {
        deliver(shared.clone(), event).await;
    }
    Json(json!({ "status": "ok", "released": count })).into_response()
}

/// Validates the endpoint given on the command line once the app is up (Zoom validates when
/// the endpoint is saved; in the demo the app may start after the simulator).
pub async fn validate_when_up(shared: Shared) {
    for _ in 0..120 {
        if validate(&shared).await {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

// ---- what people do in Zoom, with the events Zoom sends about it ----

/// A meeting, if it exists and was not deleted.
fn live_meeting(shared: &Shared, id: i64) -> Option<Meeting> {
    shared
        .lock()
        .meetings
        .get(&id)
        .filter(|m| !m.deleted)
        .cloned()
}

/// The patient opened the join link: Zoom puts them in the waiting room (and admits them
/// at once when the host is already in the meeting and lets them in).
pub fn patient_joins(shared: &Shared, id: i64) {
    let Some(meeting) = live_meeting(shared, id) else {
        return;
    };
    if meeting.status == "ended" {
        return;
    }
    let participant = random_secret(16);
    shared
        .lock()
        .webhooks
        .waiting
        .entry(id)
        .or_default()
        .push(participant.clone());
    emit(
        shared,
        meeting_event(
            "meeting.participant_joined_waiting_room",
            &meeting,
            Some(&participant),
        ),
    );
    if meeting.status == "started" {
        admit_all(shared, &meeting);
    }
}

/// The host opened the start link: the meeting starts, and whoever waits is admitted.
pub fn host_starts(shared: &Shared, id: i64) {
    let Some(meeting) = live_meeting(shared, id) else {
        return;
    };
    if meeting.status != "started" {
        set_status(shared, id, "started");
        emit(shared, meeting_event("meeting.started", &meeting, None));
    }
    admit_all(shared, &meeting);
}

fn admit_all(shared: &Shared, meeting: &Meeting) {
    let waiting = shared
        .lock()
        .webhooks
        .waiting
        .remove(&meeting.id)
        .unwrap_or_default();
    for participant in waiting {
        emit(
            shared,
            meeting_event("meeting.participant_admitted", meeting, Some(&participant)),
        );
    }
}

fn set_status(shared: &Shared, id: i64, status: &str) {
    if let Some(m) = shared.lock().meetings.get_mut(&id) {
        m.status = status.to_owned();
    }
}

/// The status control (`/_sim/meetings/{id}/status`) changed a meeting: the event Zoom sends.
pub fn status_changed(shared: &Shared, id: i64, before: &str, after: &str) {
    let Some(meeting) = live_meeting(shared, id) else {
        return;
    };
    match (before, after) {
        (b, "started") if b != "started" => {
            emit(shared, meeting_event("meeting.started", &meeting, None));
            admit_all(shared, &meeting);
        }
        (b, "ended") if b != "ended" => {
            shared.lock().webhooks.waiting.remove(&id);
            emit(shared, meeting_event("meeting.ended", &meeting, None));
        }
        _ => {}
    }
}

fn not_found() -> Response {
    axum::http::StatusCode::NOT_FOUND.into_response()
}

/// `POST /_sim/meetings/{id}/delete`: someone deleted the meeting in Zoom's web portal.
pub async fn delete_meeting(
    State(shared): State<Shared>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Response {
    let Some(meeting) = live_meeting(&shared, id) else {
        return not_found();
    };
    if let Some(m) = shared.lock().meetings.get_mut(&id) {
        m.deleted = true;
    }
    emit(&shared, meeting_event("meeting.deleted", &meeting, None));
    Json(json!({ "status": "ok" })).into_response()
}

/// `POST /_sim/meetings/{id}/settings` `{"waiting_room": false, …}`: someone changed the
/// meeting's settings in Zoom; fields as in `/_sim/meetings`.
pub async fn change_settings(
    State(shared): State<Shared>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    Json(patch): Json<serde_json::Map<String, Value>>,
) -> Response {
    let changed = {
        let mut state = shared.lock();
        let Some(m) = state.meetings.get_mut(&id).filter(|m| !m.deleted) else {
            return not_found();
        };
        let mut current = serde_json::to_value(&m.settings).unwrap_or_default();
        for (key, value) in &patch {
            current[key] = value.clone();
        }
        match serde_json::from_value(current) {
            Ok(settings) => m.settings = settings,
            Err(error) => {
                return (
                    axum::http::StatusCode::BAD_REQUEST,
                    Json(json!({ "error": error.to_string() })),
                )
                    .into_response()
            }
        }
        m.clone()
    };
    emit(&shared, meeting_event("meeting.updated", &changed, None));
    Json(json!({ "status": "ok" })).into_response()
}

#[derive(Deserialize)]
pub struct Deauthorize {
    /// Zoom user id or email.
    user: String,
}

/// `POST /_sim/deauthorize {"user": "…"}`: the user removed the app in Zoom's Marketplace:
/// their grants end and Zoom sends `app_deauthorized`.
pub async fn deauthorize(State(shared): State<Shared>, Json(body): Json<Deauthorize>) -> Response {
    let found = {
        let mut state = shared.lock();
        let Some(user_id) = state.user(&body.user).map(|u| u.id.clone()) else {
            return not_found();
        };
        let mut client_id = None;
        for grant in state.grants.values_mut().filter(|g| g.user_id == user_id) {
            grant.revoked = true;
            grant.live_refresh = None;
            client_id = Some(grant.client_id.clone());
        }
        (
            user_id,
            client_id.unwrap_or_else(|| "demo-oauth-client".into()),
        )
    };
    emit(&shared, deauthorized_event(&found.0, &found.1));
    Json(json!({ "status": "ok", "user_id": found.0 })).into_response()
}
