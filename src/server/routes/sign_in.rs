//! `GET /api/auth/link?token=…` (the link in the mail) shows a page with one button; its
//! `POST /api/auth/link` uses the token. Mail scanners open links to look at them: a GET
//! that signed in would spend the link before the patient clicks it.

use crate::server::notify::links;
use crate::server::notify::templates::esc;
use crate::server::AppState;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenForm {
    token: String,
}

fn page(status: StatusCode, body: String) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>Sign in</title></head>\
         <body><main>{body}</main></body></html>"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

pub async fn show(query: Result<Query<TokenForm>, QueryRejection>) -> Response {
    let token = query.map(|Query(q)| q.token).unwrap_or_default();
    page(
        StatusCode::OK,
        format!(
            "<h1>Sign in to your video visits</h1>\
             <form method=\"post\" action=\"/api/auth/link\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button type=\"submit\" data-testid=\"use-link\">Sign in</button></form>",
            esc(&token)
        ),
    )
}

#[tracing::instrument(skip_all)]
pub async fn use_link(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let token = form.map(|Form(f)| f.token).unwrap_or_default();
    match links::sign_in(&state, &session, &token).await {
        Ok(next) => Redirect::to(&next).into_response(),
        Err(error) => page(
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST),
            format!(
                "<h1>Sign in</h1><p role=\"alert\">{}</p><p><a href=\"/login\">Log in</a></p>",
                esc(&error.to_string())
            ),
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct InviteForm {
    token: String,
    password: String,
}

fn invite_form(token: &str, problem: Option<&str>) -> String {
    format!(
        "<h1>Choose your password</h1>{}\
         <form method=\"post\" action=\"/api/auth/invite\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\
         <label for=\"password\">New password (at least 12 characters)</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>\
         <button type=\"submit\" data-testid=\"set-password\">Save and sign in</button></form>",
        problem
            .map(|p| format!("<p role=\"alert\">{}</p>", esc(p)))
            .unwrap_or_default(),
        esc(token)
    )
}

/// `GET /api/auth/invite?token=…`: the invitation's password form.
pub async fn invite_show(query: Result<Query<TokenForm>, QueryRejection>) -> Response {
    let token = query.map(|Query(q)| q.token).unwrap_or_default();
    page(StatusCode::OK, invite_form(&token, None))
}

/// `POST /api/auth/invite` (`token`, `password`): sets the password and signs in.
#[tracing::instrument(skip_all)]
pub async fn invite_accept(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<InviteForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    match links::accept_invitation(&state, &session, &form.token, &form.password).await {
        Ok(next) => Redirect::to(&next).into_response(),
        Err(error) => page(
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST),
            invite_form(&form.token, Some(&error.to_string())),
        ),
    }
}
