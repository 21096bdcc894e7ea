//! Zoom's OAuth endpoints: the consent page, the token endpoint (authorization code with PKCE,
//! refresh with rotation, account credentials) and revocation.

use super::state::{now, random_secret, PendingCode, Principal, SimState};
use super::Shared;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Zoom lets PKCE clients use loopback redirects on any port; this simulator accepts only
/// those, so it can never be used to bounce a browser to another site.
fn redirect_allowed(uri: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(uri) else {
        return false;
    };
    url.scheme() == "http" && matches!(url.host_str(), Some("127.0.0.1") | Some("localhost"))
}

fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!DOCTYPE html><html><body><h1>Zoom (simulated)</h1><p>{}</p></body></html>",
            escape(message)
        )),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// `GET /oauth/authorize`: the consent page.
pub async fn consent_page(
    State(shared): State<Shared>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    let state = shared.lock();
    if q.response_type.as_deref() != Some("code") {
        return error_page("response_type must be code");
    }
    let Some(app) = q
        .client_id
        .as_deref()
        .and_then(|id| state.app(id))
        .filter(|a| !a.server_to_server)
    else {
        return error_page("Invalid client_id");
    };
    let Some(redirect_uri) = q.redirect_uri.as_deref().filter(|u| redirect_allowed(u)) else {
        return error_page("Invalid redirect: the redirect URI is not allowed for this app");
    };
    let hidden = |name: &str, value: Option<&str>| {
        value
            .map(|v| {
                format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    escape(v)
                )
            })
            .unwrap_or_default()
    };
    let options: String = state
        .users
        .iter()
        .map(|u| {
            format!(
                "<option value=\"{}\">{} {} ({})</option>",
                escape(&u.id),
                escape(&u.first_name),
                escape(&u.last_name),
                escape(&u.email)
            )
        })
        .collect();
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Zoom (simulated): authorize</title></head><body>\
         <main><h1>Zoom (simulated)</h1><p>The app <strong>{client}</strong> wants to schedule and read meetings for you.</p>\
         <form method=\"post\" action=\"/oauth/authorize\">{c}{r}{s}{ch}{m}\
         <label for=\"user\">Zoom user</label> <select id=\"user\" name=\"user\">{options}</select>\
         <p><button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p></form></main></body></html>",
        client = escape(&app.client_id),
        c = hidden("client_id", Some(&app.client_id)),
        r = hidden("redirect_uri", Some(redirect_uri)),
        s = hidden("state", q.state.as_deref()),
        ch = hidden("code_challenge", q.code_challenge.as_deref()),
        m = hidden("code_challenge_method", q.code_challenge_method.as_deref()),
    );
    Html(body).into_response()
}

#[derive(Deserialize)]
pub struct ConsentForm {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    user: String,
    decision: String,
}

/// `POST /oauth/authorize`: Allow or Deny, then back to the app.
pub async fn consent_answer(
    State(shared): State<Shared>,
    Form(form): Form<ConsentForm>,
) -> Response {
    let mut state = shared.lock();
    if state
        .app(&form.client_id)
        .is_none_or(|a| a.server_to_server)
        || !redirect_allowed(&form.redirect_uri)
    {
        return error_page("Invalid client_id or redirect URI");
    }
    let Ok(mut target) = reqwest::Url::parse(&form.redirect_uri) else {
        return error_page("Invalid redirect URI");
    };
    if form.decision != "allow" {
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied");
    } else {
        let Some(user_id) = state.user(&form.user).map(|u| u.id.clone()) else {
            return error_page("Unknown user");
        };
        let code = random_secret(32);
        state.codes.insert(
            code.clone(),
            PendingCode {
                client_id: form.client_id.clone(),
                redirect_uri: form.redirect_uri.clone(),
                user_id,
                challenge: form.code_challenge.clone().filter(|c| !c.is_empty()),
                // Zoom treats a missing method as `plain`.
                challenge_method: form
                    .code_challenge_method
                    .clone()
                    .unwrap_or_else(|| "plain".into()),
                expires_at: now() + 300,
                used: false,
            },
        );
        state.issued.codes.push(code.clone());
        target.query_pairs_mut().append_pair("code", &code);
    }
    if let Some(s) = &form.state {
        target.query_pairs_mut().append_pair("state", s);
    }
    Redirect::to(target.as_str()).into_response()
}

fn client_from_basic(state: &SimState, headers: &HeaderMap) -> Option<(String, bool)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let app = state.app(id)?;
    (app.client_secret == secret).then(|| (app.client_id.clone(), app.server_to_server))
}

fn oauth_error(status: StatusCode, error: &str, reason: &str) -> Response {
    (status, Json(json!({ "error": error, "reason": reason }))).into_response()
}

fn invalid_grant(reason: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", reason)
}

fn token_response(access: String, refresh: Option<String>, ttl: u64, scope: &str) -> Response {
    let mut body = json!({ "access_token": access, "token_type": "bearer", "expires_in": ttl, "scope": scope });
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    Json(body).into_response()
}

fn pkce_matches(code: &PendingCode, verifier: Option<&str>) -> bool {
    match (&code.challenge, verifier) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(challenge), Some(verifier)) => match code.challenge_method.as_str() {
            "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == *challenge,
            _ => verifier == challenge,
        },
    }
}

/// `POST /oauth/token`. Parameters come in the form body, or in the query string for
/// `account_credentials` (Zoom accepts both there).
pub async fn token(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let mut params: HashMap<String, String> = serde_urlencoded::from_str(&body).unwrap_or_default();
    for (k, v) in query {
        params.entry(k).or_insert(v);
    }
    let mut state = shared.lock();
    let Some((client_id, server_to_server)) = client_from_basic(&state, &headers) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client_id or client_secret",
        );
    };
    let ttl = state.config.token_ttl_secs;
    match params.get("grant_type").map(String::as_str) {
        Some("authorization_code") if !server_to_server => {
            let code_value = params.get("code").cloned().unwrap_or_default();
            let Some(code) = state.codes.get_mut(&code_value) else {
                return invalid_grant("Invalid authorization code");
            };
            if code.used {
                return invalid_grant("Invalid authorization code");
            }
            // A code is spent by any attempt to use it, as with Zoom.
            code.used = true;
            let code = code.clone();
            if code.expires_at < now() {
                return invalid_grant("Code is expired");
            }
            if code.client_id != client_id || params.get("redirect_uri") != Some(&code.redirect_uri)
            {
                return invalid_grant("Invalid redirect uri");
            }
            if !pkce_matches(&code, params.get("code_verifier").map(String::as_str)) {
                return invalid_grant("Invalid Token!");
            }
            let grant = state.next_grant;
            state.next_grant += 1;
            state.grants.insert(
                grant,
                super::state::Grant {
                    client_id,
                    user_id: code.user_id.clone(),
                    live_refresh: None,
                    revoked: false,
                },
            );
            let scopes = state.config.user_scopes.clone();
            let access = state.issue_access(
                Principal::User {
                    user_id: code.user_id,
                    grant,
                },
                &scopes,
            );
            let refresh = state.issue_refresh(grant);
            state.counters.token_grants += 1;
            token_response(access, Some(refresh), ttl, &scopes)
        }
        Some("refresh_token") if !server_to_server => {
            let presented = params.get("refresh_token").cloned().unwrap_or_default();
            let grant_id = state.refresh.get(&presented).copied();
            let usable = grant_id.and_then(|g| state.grants.get(&g)).filter(|g| {
                !g.revoked
                    && g.client_id == client_id
                    && g.live_refresh.as_deref() == Some(presented.as_str())
            });
            let Some(grant) = usable.cloned() else {
                state.counters.refresh_failures += 1;
                return invalid_grant("Invalid Token!");
            };
            let grant_id = grant_id.expect("usable grant has an id");
            // Rotation: issuing the new refresh token kills the presented one at once.
            state.refresh.remove(&presented);
            let scopes = state.config.user_scopes.clone();
            let access = state.issue_access(
                Principal::User {
                    user_id: grant.user_id,
                    grant: grant_id,
                },
                &scopes,
            );
            let refresh = state.issue_refresh(grant_id);
            state.counters.refreshes += 1;
            token_response(access, Some(refresh), ttl, &scopes)
        }
        Some("account_credentials") if server_to_server => {
            if params.get("account_id").map(String::as_str) != Some(super::state::ACCOUNT_ID) {
                return invalid_grant("Invalid account_id");
            }
            let scopes = state.config.account_scopes.clone();
            let access = state.issue_access(Principal::Account, &scopes);
            state.counters.account_tokens += 1;
            token_response(access, None, ttl, &scopes)
        }
        Some("authorization_code" | "refresh_token" | "account_credentials") => oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "The grant type is not allowed for this app",
        ),
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type",
        ),
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    token: String,
}

/// `POST /oauth/revoke`: revokes the whole grant the token belongs to.
pub async fn revoke(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<RevokeForm>,
) -> Response {
    let mut state = shared.lock();
    if client_from_basic(&state, &headers).is_none() {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client_id or client_secret",
        );
    }
    let by_access = state.access.contains_key(&form.token);
    let grant = state.refresh.get(&form.token).copied().or_else(|| {
        state
            .access
            .get(&form.token)
            .and_then(|a| match a.principal {
                Principal::User { grant, .. } => Some(grant),
                Principal::Account => None,
            })
    });
    if let Some(grant) = grant.and_then(|g| state.grants.get_mut(&g)) {
        grant.revoked = true;
        grant.live_refresh = None;
    }
    if grant.is_some() {
        state.counters.revocations += 1;
        state.counters.revocations_with_access_token += u64::from(by_access);
    }
    Json(json!({ "status": "success" })).into_response()
}
