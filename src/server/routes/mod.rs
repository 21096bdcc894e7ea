//! The few plain axum routes outside the server functions: health checks, the browser
//! navigations of the Zoom OAuth flow, Zoom's webhook deliveries, and file downloads (a visit's calendar file, the audit
//! export). Each checks its caller first and answers a refusal with an error status.

pub mod audit_export;
pub mod calendar;
pub mod events;
pub mod health;
pub mod oauth;
pub mod outbox;
pub mod sign_in;
pub mod test_clock;
pub mod webhooks;

use crate::error::AppError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// An `AppError` as a JSON response with its status, never cached.
pub fn error_response(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(error),
    )
        .into_response()
}
