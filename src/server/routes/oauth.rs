//! The two plain HTTP routes of the doctor's Zoom connection. They are browser navigations
//! (a link to Zoom's consent page and Zoom's redirect back), so they are GET routes outside the
//! server functions; both check the caller first and answer refusals with an error status.
//!
//! `state` is random, stored only as a hash, bound to the browser session that asked (a tag
//! kept in the session must match), usable once, and expires after ten minutes. PKCE S256 ties
//! the code to a verifier that never leaves the server.

use super::error_response;
use crate::domain::Role;
use crate::error::AppError;
use crate::server::audit::{self, Action, Actor, Entry, Outcome};
use crate::server::auth::session::current_user;
use crate::server::crypto::Purpose;
use crate::server::persistence::{now_unix, UserRecord};
use crate::server::video::{HostId, ProviderError};
use crate::server::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower_sessions::Session;

const SESSION_TAG: &str = "oauth_tag";

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn sha256_b64(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

/// A small page for a refused callback: the doctor sees why and where to go next.
fn refusal_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Zoom connection</title></head>\
         <body><main><h1>Zoom was not connected</h1><p data-testid=\"oauth-error\">{}</p>\
         <p><a href=\"/zoom\">Back to your Zoom page</a></p></main></body></html>",
        html_escape(message)
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn doctor(state: &AppState, session: &Session) -> Result<UserRecord, AppError> {
    let user = current_user(session, &state.db)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if user.role == Role::Doctor {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

async fn audit(state: &AppState, actor: i64, outcome: Outcome, detail: Option<&str>) {
    let mut entry = Entry::new(Actor::User(actor), Action::ZoomConnect, "zoom", outcome);
    entry.detail = detail.map(str::to_owned);
    audit::record(&state.db, entry).await.ok();
}

/// `GET /api/zoom/authorize`: builds the consent URL and sends the doctor's browser there.
///
/// A GET that changes state (a new OAuth state row, and soon a new grant): a link or image on
/// another site must not be able to start it with the doctor's cookies (forcing a reconnect,
/// or filling the table), so a navigation the browser marks as coming from another site is
/// refused. Typed addresses and bookmarks (`none`) and our own Zoom page (`same-origin`) pass.
#[tracing::instrument(skip_all)]
pub async fn authorize(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
) -> Response {
    let fetch_site = headers
        .get("sec-fetch-site")
        .map(|v| v.to_str().unwrap_or("cross-site"));
    if fetch_site.is_some_and(|site| !matches!(site, "same-origin" | "none")) {
        tracing::warn!("refused a Zoom authorization started from another site");
        return (
            StatusCode::FORBIDDEN,
            [(header::CACHE_CONTROL, "no-store")],
            "Start connecting Zoom from your Zoom page in the app.",
        )
            .into_response();
    }
    let user = match doctor(&state, &session).await {
        Ok(user) => user,
        Err(error) => return error_response(error),
    };
    let tag = match session.get::<String>(SESSION_TAG).await {
        Ok(Some(tag)) => tag,
        Ok(None) => {
            let tag = random_token();
            if session.insert(SESSION_TAG, &tag).await.is_err() {
                return error_response(AppError::Internal);
            }
            tag
        }
        Err(_) => return error_response(AppError::Internal),
    };
    let oauth_state = random_token();
    let verifier = random_token();
    let challenge = sha256_b64(&verifier);
    let redirect_uri = state.settings.oauth_redirect_url();
    let url = match state
        .video
        .authorization_url(&oauth_state, &challenge, &redirect_uri)
        .await
    {
        Ok(Some(url)) => url,
        Ok(None) => return error_response(AppError::conflict(
            "Your clinic connects Zoom for the whole account; you do not need to connect your own.",
        )),
        Err(ProviderError::NotConfigured) => {
            return error_response(AppError::conflict(
                "An administrator has not set up Zoom yet.",
            ))
        }
        Err(error) => {
            tracing::error!(%error, "building the Zoom authorization URL failed");
            return error_response(AppError::Internal);
        }
    };
    let state_hash = sha256_b64(&oauth_state);
    let stored = state
        .db
        .insert_oauth_state(
            &state_hash,
            user.id,
            &sha256_b64(&tag),
            state
                .keyring
                .seal(&verifier, Purpose::OAuthVerifier, &state_hash),
            state.settings.oauth_state_ttl.as_secs() as i64,
        )
        .await;
    if let Err(error) = stored {
        tracing::error!(%error, "storing an OAuth state failed");
        return error_response(AppError::Internal);
    }
    audit(&state, user.id, Outcome::Started, None).await;
    let mut response = Redirect::to(&url).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /api/zoom/callback`: Zoom's redirect after consent.
#[tracing::instrument(skip_all)]
pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let user = match doctor(&state, &session).await {
        Ok(user) => user,
        Err(error) => return error_response(error),
    };
    let shared = &state;
    let refuse = move |why: &'static str| async move {
        audit(shared, user.id, Outcome::Refused, Some(why)).await;
        tracing::warn!(user_id = user.id, why, "Zoom OAuth callback refused");
        refusal_page(
            StatusCode::BAD_REQUEST,
            "This Zoom authorization is invalid, expired or was already used. Start again from your Zoom page.",
        )
    };
    let Some(oauth_state) = query.state.filter(|s| !s.is_empty() && s.len() <= 256) else {
        return refuse("missing state").await;
    };
    let state_hash = sha256_b64(&oauth_state);
    let Ok(Some(row)) = state.db.consume_oauth_state(&state_hash).await else {
        return refuse("unknown or replayed state").await;
    };
    let tag = session.get::<String>(SESSION_TAG).await.ok().flatten();
    if row.user_id != user.id
        || tag.as_deref().map(sha256_b64).as_deref() != Some(row.session_tag.as_str())
    {
        return refuse("state belongs to another session").await;
    }
    if row.expires_at < now_unix() {
        return refuse("expired state").await;
    }
    if let Some(error) = query.error {
        audit(&state, user.id, Outcome::Declined, Some(&error)).await;
        return refusal_page(
            StatusCode::BAD_REQUEST,
            "Zoom access was not allowed, so nothing was connected.",
        );
    }
    let Some(code) = query.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return refuse("missing code").await;
    };
    let Ok(verifier) = state
        .keyring
        .open(&row.verifier_enc, Purpose::OAuthVerifier, &state_hash)
    else {
        return refuse("unreadable verifier").await;
    };
    let redirect_uri = state.settings.oauth_redirect_url();
    match state
        .video
        .complete_connection(HostId(user.id), &code, &verifier, &redirect_uri)
        .await
    {
        Ok(account) => {
            audit(&state, user.id, Outcome::Ok, Some(&account.email)).await;
            tracing::info!(user_id = user.id, "Zoom connected");
            // Visits that failed for want of this connection get their meetings now, without
            // a click each.
            match state.db.retry_after_reconnect(user.id).await {
                Ok(ids) if !ids.is_empty() => {
                    tracing::info!(
                        user_id = user.id,
                        visits = ids.len(),
                        "retrying visits after a reconnect"
                    );
                    state.jobs_wake.notify_one();
                    for id in ids {
                        state.push.visit_changed(id);
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "queueing visits after a reconnect failed"),
            }
            let mut response = Redirect::to("/zoom?connected=1").into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(error) => {
            audit(&state, user.id, Outcome::Failed, Some(&error.to_string())).await;
            tracing::warn!(user_id = user.id, %error, "completing the Zoom connection failed");
            if let ProviderError::MissingScopes(scopes) = &error {
                let message = format!(
                    "The clinic's Zoom app lacks permissions (scopes) that visits need: {}. Ask an administrator to add them to the app in the Zoom Marketplace, then connect again.",
                    scopes.join(", ")
                );
                return refusal_page(StatusCode::BAD_GATEWAY, &message);
            }
            let (status, message) = match error {
                ProviderError::Unavailable(_) | ProviderError::RateLimited { .. } => {
                    (StatusCode::BAD_GATEWAY, "Zoom could not be reached. Please try connecting again in a moment.")
                }
                ProviderError::BadCredentials => {
                    (StatusCode::BAD_GATEWAY, "Zoom refused the clinic's app credentials. Ask an administrator to check the Zoom settings.")
                }
                _ => (StatusCode::BAD_REQUEST, "Zoom did not accept this authorization. Start again from your Zoom page."),
            };
            refusal_page(status, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc7636_s256() {
        // RFC 7636 appendix B.
        assert_eq!(
            sha256_b64("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
