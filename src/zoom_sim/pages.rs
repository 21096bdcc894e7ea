//! What a start or join link opens: a stand-in for the Zoom client.

use super::Shared;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
             <body><main><h1>Zoom (simulated)</h1><p data-testid=\"zoom-sim-page\">{body}</p></main></body></html>"
        )),
    )
        .into_response()
}

/// The host starts the meeting: Zoom sends `meeting.started` and admits whoever waits.
pub async fn start(
    State(shared): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let response = start_page(&shared, id, &q);
    if response.status() == StatusCode::OK {
        super::webhooks::host_starts(&shared, id);
    }
    response
}

/// The patient joins: Zoom puts them in the waiting room and says so.
pub async fn join(
    State(shared): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let response = join_page(&shared, id, &q);
    let admitted = response.status() == StatusCode::OK
        && shared
            .lock()
            .meetings
            .get(&id)
            .is_some_and(|m| q.get("pwd") == Some(&m.password));
    if admitted {
        super::webhooks::patient_joins(&shared, id);
    }
    response
}

fn start_page(shared: &Shared, id: i64, q: &HashMap<String, String>) -> Response {
    let state = shared.lock();
    match state.meetings.get(&id).filter(|m| !m.deleted) {
        Some(m) if q.get("zak").is_some_and(|z| !z.is_empty()) => page(
            StatusCode::OK,
            "Starting meeting",
            &format!("You are starting meeting {id} as host ({}).", m.host_email),
        ),
        Some(_) => page(
            StatusCode::FORBIDDEN,
            "Sign in",
            "This start link is not valid. Sign in to Zoom to start the meeting.",
        ),
        None => page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This meeting is not found or has expired.",
        ),
    }
}

fn join_page(shared: &Shared, id: i64, q: &HashMap<String, String>) -> Response {
    let state = shared.lock();
    match state.meetings.get(&id).filter(|m| !m.deleted) {
        // What a patient without a Zoom account meets in a browser.
        Some(m)
            if m.settings.meeting_authentication
                || state
                    .host_settings_of(m)
                    .only_authenticated_can_join_from_webclient =>
        {
            page(
            StatusCode::FORBIDDEN,
            "Sign in required",
                "This meeting is for authenticated users only. Sign in to Zoom to join.",
            )
        }
        Some(m) if m.settings.encryption_type == "e2ee" => page(
            StatusCode::FORBIDDEN,
            "Use the Zoom app",
            "This meeting is end-to-end encrypted and cannot be joined from a browser or phone line.",
        ),
        Some(m) if q.get("pwd") == Some(&m.password) => page(
            StatusCode::OK,
            "Joining meeting",
            &format!("You are joining meeting {id}. Please wait, the host will let you in soon."),
        ),
        Some(_) => page(
            StatusCode::OK,
            "Passcode required",
            "Enter the meeting passcode to join.",
        ),
        None => page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This meeting is not found or has expired.",
        ),
    }
}
