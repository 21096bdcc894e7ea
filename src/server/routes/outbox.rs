//! Demo mode only: one outbox mail's HTML part and its calendar file, for the admin's Outbox
//! page, so a person trying the demo sees what was sent. Outside demo mode: 404.

use super::error_response;
use crate::domain::Role;
use crate::error::AppError;
use crate::server::auth::session;
use crate::server::persistence::OutboxRow;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

async fn mail(state: &AppState, session: &Session, id: &str) -> Result<OutboxRow, AppError> {
    let admin = session::current_user(session, &state.db)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if admin.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let not_found = || AppError::NotFound {
        what: "mail".into(),
    };
    if !state.settings.demo_mode {
        return Err(not_found());
    }
    let id: i64 = id.parse().map_err(|_| not_found())?;
    state
        .db
        .outbox_mail(id)
        .await
        .map_err(crate::server::internal("loading a mail"))?
        .ok_or_else(not_found)
}

fn answer(
    body: String,
    kind: &'static str,
    extra: Option<(header::HeaderName, String)>,
) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some((name, value)) = extra {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

#[tracing::instrument(skip_all)]
pub async fn message(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    match mail(&state, &session, &id).await {
        // The mail's HTML runs no script and loads nothing: a sandboxed document.
        Ok(row) => answer(
            row.body_html,
            "text/html; charset=utf-8",
            Some((
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'; style-src 'unsafe-inline'".into(),
            )),
        ),
        Err(error) => error_response(error),
    }
}

#[tracing::instrument(skip_all)]
pub async fn invite(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    match mail(&state, &session, &id).await {
        Ok(OutboxRow {
            ics: Some(ics), id, ..
        }) => answer(
            ics,
            "text/calendar; charset=utf-8",
            Some((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"mail-{id}-invite.ics\""),
            )),
        ),
        Ok(_) => error_response(AppError::NotFound {
            what: "calendar invitation".into(),
        }),
        Err(error) => error_response(error),
    }
}
