//! `GET /api/visits/{id}/calendar.ics`: a visit as a calendar file, for whoever may see it.

use crate::error::AppError;
use crate::server::audit::{Action, Actor};
use crate::server::auth::session;
use crate::server::visits::service;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

#[tracing::instrument(skip_all)]
pub async fn calendar(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    match event(&state, &session, &id).await {
        Ok((id, body)) => {
            let file = format!("attachment; filename=\"visit-{id}.ics\"");
            let mut response = (StatusCode::OK, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(value) = HeaderValue::from_str(&file) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(error) => {
            let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
            (status, error.to_string()).into_response()
        }
    }
}

async fn event(
    state: &AppState,
    session: &Session,
    raw_id: &str,
) -> Result<(String, String), AppError> {
    let user = session::current_user(session, &state.db).await;
    let user = service::caller(
        state,
        user.and_then(|u| u.ok_or(AppError::Unauthorized)),
        Action::VisitCalendar,
    )
    .await?;
    let raw_id = raw_id.trim_end_matches(".ics");
    let id = service::visit_id(state, Actor::User(user.id), Action::VisitCalendar, raw_id).await?;
    let body = service::calendar(state, &user, &id).await?;
    Ok((id.to_string(), body))
}
