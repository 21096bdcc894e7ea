//! `POST /_test/clock` (form `now`, Unix seconds): moves the reminders' clock and queues the
//! reminders due at that moment, answering how many. Only with `TEST_CONTROLS=true`, which the
//! configuration refuses unless the app is a loopback `http://` install; otherwise 404.

use crate::server::notify::visits::queue_reminders;
use crate::server::AppState;
use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ClockForm {
    now: i64,
}

pub async fn set(
    State(state): State<AppState>,
    form: Result<Form<ClockForm>, FormRejection>,
) -> Response {
    if !state.settings.mail.test_controls {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Ok(Form(form)) = form else {
        return (StatusCode::BAD_REQUEST, "send now=<unix seconds>").into_response();
    };
    state.notify.clock.set(form.now);
    match queue_reminders(&state, form.now).await {
        Ok(queued) => (StatusCode::OK, queued.to_string()).into_response(),
        Err(error) => {
            tracing::error!(%error, "test clock: queueing reminders failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
