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
