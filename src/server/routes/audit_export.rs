//! `GET /api/admin/audit.csv`: the admin's filtered audit entries as a CSV download.

use super::error_response;
use crate::domain::Role;
use crate::error::AppError;
use crate::server::audit;
use crate::server::auth::session;
use crate::server::AppState;
use crate::types::audit::AuditFilterFields;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ExportQuery {
    actor: String,
    action: String,
    visit: String,
    from: String,
    to: String,
}

#[tracing::instrument(skip_all)]
pub async fn export(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ExportQuery>,
) -> Response {
    match csv(&state, &session, query).await {
        Ok(body) => {
            let mut response = (StatusCode::OK, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"audit.csv\""),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error_response(error),
    }
}

async fn csv(state: &AppState, session: &Session, query: ExportQuery) -> Result<String, AppError> {
    let admin = session::current_user(session, &state.db)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if admin.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let filter = AuditFilterFields::parse(
        &query.actor,
        &query.action,
        &query.visit,
        &query.from,
        &query.to,
    )?;
    audit::export_csv(&state.db, &admin, &filter).await
}
