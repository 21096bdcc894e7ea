//! `POST /webhooks/zoom`: Zoom's event deliveries. No session, no CSRF token: the caller is
//! Zoom, proven by the HMAC signature over the raw body (see `server::webhooks`). Answers
//! within Zoom's 3 seconds: the event is checked and stored, and applied in the background.

use crate::server::webhooks::{self, Received};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[tracing::instrument(skip_all)]
pub async fn zoom(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let received = webhooks::receive(
        &state,
        text("x-zm-signature"),
        text("x-zm-request-timestamp"),
        &body,
    )
    .await;
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    match received {
        Ok(Received::Validation {
            plain_token,
            encrypted_token,
        }) => (
            StatusCode::OK,
            no_store,
            axum::Json(json!({ "plainToken": plain_token, "encryptedToken": encrypted_token })),
        )
            .into_response(),
        Ok(Received::Stored) | Ok(Received::Duplicate) => {
            (StatusCode::OK, no_store, "ok").into_response()
        }
        Ok(Received::Unauthorized(_)) => (
            StatusCode::UNAUTHORIZED,
            no_store,
            "The signature is missing, wrong or too old.",
        )
            .into_response(),
        Ok(Received::BadRequest(_)) => (
            StatusCode::BAD_REQUEST,
            no_store,
            "Not a Zoom event this endpoint accepts.",
        )
            .into_response(),
        // Zoom delivers again later (+5, +20, +60 minutes): nothing is lost.
        Err(error) => {
            tracing::error!(%error, "storing a Zoom webhook failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                no_store,
                "Try again later.",
            )
                .into_response()
        }
    }
}
