//! `/_sim/*`: the test controls. Loopback-only tooling: no authentication.

use super::state::{Faults, SimUser};
use super::Shared;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

pub async fn counters(State(shared): State<Shared>) -> Response {
    Json(shared.lock().counters.clone()).into_response()
}

pub async fn faults(State(shared): State<Shared>, Json(faults): Json<Faults>) -> Response {
    shared.lock().faults = faults;
    Json(json!({ "status": "ok" })).into_response()
}

#[derive(Deserialize)]
pub struct HoldPatch {
    creates: bool,
}

/// `POST /_sim/hold {"creates": true}`: from now on every create is carried out but its answer
/// is held; `{"creates": false}` releases every held answer.
pub async fn hold(State(shared): State<Shared>, Json(patch): Json<HoldPatch>) -> Response {
    let mut state = shared.lock();
    state.hold.creates = patch.creates;
    state.hold.release.send_replace(patch.creates);
    Json(json!({ "status": "ok" })).into_response()
}

/// `GET /_sim/hold`: whether creates are held, how many answers wait right now, and the
/// meetings whose answers were held.
pub async fn hold_status(State(shared): State<Shared>) -> Response {
    let state = shared.lock();
    Json(json!({
        "creates": state.hold.creates,
        "waiting": state.hold.waiting,
        "held": state.counters.creates_held,
        "meetings": state.hold.meetings,
    }))
    .into_response()
}

pub async fn reset(State(shared): State<Shared>) -> Response {
    shared.lock().reset();
    Json(json!({ "status": "ok" })).into_response()
}

pub async fn expire_access_tokens(State(shared): State<Shared>) -> Response {
    let mut state = shared.lock();
    let past = super::state::now() - 1;
    for token in state.access.values_mut() {
        token.expires_at = past;
    }
    Json(json!({ "status": "ok" })).into_response()
}

/// As if every doctor removed the app in Zoom: user grants stop working for good.
pub async fn revoke_grants(State(shared): State<Shared>) -> Response {
    let mut state = shared.lock();
    for grant in state.grants.values_mut() {
        grant.revoked = true;
        grant.live_refresh = None;
    }
    Json(json!({ "status": "ok" })).into_response()
}

#[derive(Deserialize)]
pub struct ConfigPatch {
    token_ttl_secs: Option<u64>,
    rate_limit_per_sec: Option<u32>,
    daily_meeting_limit: Option<u32>,
    account_scopes: Option<String>,
    locked_settings: Option<bool>,
    user_scopes: Option<String>,
}

pub async fn config(State(shared): State<Shared>, Json(patch): Json<ConfigPatch>) -> Response {
    let mut state = shared.lock();
    if let Some(v) = patch.token_ttl_secs {
        state.config.token_ttl_secs = v;
    }
    if let Some(v) = patch.rate_limit_per_sec {
        state.config.rate_limit_per_sec = v;
    }
    if let Some(v) = patch.daily_meeting_limit {
        state.config.daily_meeting_limit = v;
    }
    if let Some(v) = patch.account_scopes {
        state.config.account_scopes = v;
    }
    if let Some(v) = patch.locked_settings {
        state.config.locked_settings = v;
    }
    if let Some(v) = patch.user_scopes {
        state.config.user_scopes = v;
    }
    Json(json!({ "status": "ok" })).into_response()
}

pub async fn meetings(State(shared): State<Shared>) -> Response {
    let state = shared.lock();
    Json(state.meetings.values().cloned().collect::<Vec<_>>()).into_response()
}

pub async fn issued_secrets(State(shared): State<Shared>) -> Response {
    Json(&shared.lock().issued).into_response()
}

pub async fn add_user(State(shared): State<Shared>, Json(user): Json<SimUser>) -> Response {
    let mut state = shared.lock();
    state.users.retain(|u| u.id != user.id);
    state.users.push(user);
    Json(json!({ "status": "ok" })).into_response()
}

/// `POST /_sim/host-settings`: a host's defaults, locks and licence, as their Zoom admin set
/// them. `settings` is merged into the current ones field by field; `user` (id or email)
/// picks one host, otherwise every host changes.
#[derive(Deserialize)]
pub struct HostSettingsPatch {
    user: Option<String>,
    #[serde(default)]
    settings: serde_json::Map<String, serde_json::Value>,
    #[serde(rename = "type")]
    user_type: Option<i64>,
}

pub async fn host_settings(
    State(shared): State<Shared>,
    Json(patch): Json<HostSettingsPatch>,
) -> Response {
    let mut state = shared.lock();
    let mut changed = 0;
    for user in state.users.iter_mut() {
        let picked = patch
            .user
            .as_deref()
            .is_none_or(|who| user.id == who || user.email.eq_ignore_ascii_case(who));
        if !picked {
            continue;
        }
        let mut current = serde_json::to_value(&user.settings).unwrap_or_default();
        for (key, value) in &patch.settings {
            current[key] = value.clone();
        }
        match serde_json::from_value(current) {
            Ok(settings) => user.settings = settings,
            Err(error) => {
                return (
                    axum::http::StatusCode::BAD_REQUEST,
                    Json(json!({ "error": error.to_string() })),
                )
                    .into_response()
            }
        }
        if let Some(kind) = patch.user_type {
            user.user_type = kind;
        }
        changed += 1;
    }
    Json(json!({ "status": "ok", "hosts": changed })).into_response()
}

/// `GET /_sim/requests`: the create and update bodies the app sent, oldest first.
pub async fn requests(State(shared): State<Shared>) -> Response {
    Json(&shared.lock().sent).into_response()
}

/// `POST /_sim/meetings/{id}/status` `{"status": "started" | "ended" | "waiting"}`: as if the
/// host started or ended the meeting in the Zoom client (`meeting.started` / `meeting.ended`
/// are sent when webhooks are configured).
#[derive(Deserialize)]
pub struct StatusPatch {
    status: String,
}

pub async fn meeting_status(
    State(shared): State<Shared>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    Json(patch): Json<StatusPatch>,
) -> Response {
    let before = {
        let mut state = shared.lock();
        match state.meetings.get_mut(&id) {
            Some(m) if ["waiting", "started", "ended"].contains(&patch.status.as_str()) => {
                std::mem::replace(&mut m.status, patch.status.clone())
            }
            Some(_) => {
                return (axum::http::StatusCode::BAD_REQUEST, "unknown status").into_response()
            }
            None => return axum::http::StatusCode::NOT_FOUND.into_response(),
        }
    };
    // Zoom tells the app (webhooks), as it would when the host starts or ends it.
    super::webhooks::status_changed(&shared, id, &before, &patch.status);
    Json(json!({ "status": "ok" })).into_response()
}
