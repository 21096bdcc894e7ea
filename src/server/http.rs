//! HTTP plumbing around the Leptos routes: cross-site request refusal, mapping server-function
//! errors to their HTTP status, security headers, page access by role.

use crate::domain::Role;
use crate::error::AppError;
use crate::server::auth::session::current_user;
use crate::server::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// Server functions live under this prefix; everything else is pages and assets.
pub const API_PREFIX: &str = "/api/";

/// Refuses state-changing requests that a browser marks as coming from another site.
/// Leptos server functions have no CSRF protection of their own, and SameSite=Lax cookies
/// alone do not cover same-site subdomains. Clients that are not browsers send neither
/// header; they cannot ride on a victim's cookies, so they pass.
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && is_cross_site(request.headers(), state.settings.public_origin()) {
        tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
        return (
            StatusCode::FORBIDDEN,
            "Cross-site requests are not allowed.",
        )
            .into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap, public_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin") | Ok("none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    if origin.eq_ignore_ascii_case(public_origin) {
        return false;
    }
    // Same origin as the address the browser actually used (e.g. localhost vs 127.0.0.1).
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    !matches!((origin_host, host), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

/// Leptos answers every failed server function with 500 and the serialized error. This puts
/// the status the error stands for on the response (and `Retry-After` for rate limits), so
/// clients and tests see 401/403/404/409/429 rather than a generic failure. It also marks every
/// API answer `no-store`: they carry personal data.
pub async fn api_error_status(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(API_PREFIX) {
        return next.run(request).await;
    }
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, 1024 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(retry_after_secs) = error.retry_after_secs() {
            parts
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The client's address (see `server::client_ip`): the peer, or behind a trusted proxy the
/// address the proxy forwarded.
pub fn client_ip(
    settings: &crate::server::config::Settings,
    peer: std::net::IpAddr,
    headers: &HeaderMap,
) -> std::net::IpAddr {
    crate::server::client_ip::client_ip(
        peer,
        headers,
        &settings.trusted_proxies,
        settings.trusted_proxy_header,
    )
}

/// Page routes and the roles that may open them. Pages are only views: the server functions
/// behind them check again. Not listed → any logged-in user; `PUBLIC_PAGES` → anyone.
const PAGE_ROLES: &[(&str, &[Role])] = &[("/admin", &[Role::Admin]), ("/zoom", &[Role::Doctor])];
const PUBLIC_PAGES: &[&str] = &[
    "/login",
    "/healthz",
    "/readyz",
    "/pkg/",
    "/favicon.ico",
    "/favicon.svg",
    "/robots.txt",
    "/api/",
    "/webhooks/",
];

/// Anonymous visitors to a protected page go to the login page and come back afterwards;
/// logged-in users without the role get the page's refusal with status 403.
///
/// Every HTML page is rendered for the person asking (names, visits, the data Leptos embeds
/// for hydration), so none may be kept by the browser's or a proxy's cache: a shared or
/// later user of the same machine could open it from there after logout.
pub async fn guard_pages(
    State(state): State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    let preload = state.bundle_preload.clone();
    let mut response = guard(state, session, request, next).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html {
        return response;
    }
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Only the app's own pages load the bundle. The other HTML answers (a sign-in link's page,
    // the OAuth callback's, a mail preview) load nothing and may load nothing.
    if let Some(links) = preload.filter(|_| is_app_page(headers)) {
        headers.append(header::LINK, links);
    }
    render_fully(response).await
}

/// Whether an HTML answer is one of the app's pages: those, and only those, carry the page CSP
/// with its per-response nonce (`page_csp`, set by the shell in `app.rs`).
fn is_app_page(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|csp| csp.to_str().ok())
        .and_then(nonce_in)
        .is_some()
}

/// The largest HTML page we render (they are a few tens of KiB).
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// Renders a page to its end in a task of its own, then answers with the whole of it.
/// Leptos renders while the body streams: when nobody reads the body to its end (a `HEAD`
/// request, a browser that goes away mid-page), the page's reactive owner is dropped while
/// its data loaders still run, and they panic on the disposed signals (found by the fuzz
/// campaign). A page now always completes, whatever the client does.
async fn render_fully(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    match tokio::spawn(to_bytes(body, MAX_PAGE_BYTES)).await {
        Ok(Ok(bytes)) => Response::from_parts(parts, Body::from(bytes)),
        Ok(Err(error)) => {
            tracing::error!(%error, "rendering a page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
        Err(error) => {
            tracing::error!(%error, "the page rendering task failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

async fn guard(state: AppState, session: Session, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    // HEAD is a GET without the body: the same page, the same guard.
    let view = matches!(*request.method(), Method::GET | Method::HEAD);
    if !view || PUBLIC_PAGES.iter().any(|p| path.starts_with(p)) {
        return next.run(request).await;
    }
    let user = match current_user(&session, &state.db).await {
        Ok(user) => user,
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
    };
    let Some(user) = user else {
        let back = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        return Redirect::to(&format!("/login?next={}", encode_query_value(back))).into_response();
    };
    let allowed = PAGE_ROLES
        .iter()
        .filter(|(prefix, _)| path == *prefix || path.starts_with(&format!("{prefix}/")))
        .all(|(_, roles)| roles.contains(&user.role));
    let mut response = next.run(request).await;
    // Whatever it is (a page, a file download), it was produced for this logged-in person.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !allowed {
        tracing::warn!(user_id = user.id, role = %user.role, %path, "refused a page outside the role");
        *response.status_mut() = StatusCode::FORBIDDEN;
    }
    response
}

fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A CSP for HTML pages: scripts only from us or carrying this response's nonce (Leptos'
/// hydration bootstrap), wasm allowed to compile, nothing may frame us.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
}

/// The nonce in a CSP's `script-src`, as `page_csp` writes it: `'nonce-abc'` gives `abc`. Any
/// `'nonce-` gives something (an unterminated one, the rest of the policy), so a policy with a
/// nonce is never taken for one without.
pub fn nonce_in(csp: &str) -> Option<&str> {
    let start = csp.find("'nonce-")? + "'nonce-".len();
    let end = csp[start..].find('\'').map_or(csp.len(), |end| start + end);
    Some(&csp[start..end])
}

/// For everything that is not an HTML page (API answers, assets, errors).
pub const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn only_pages_with_the_shells_csp_count_as_the_apps_pages() {
        let csp = |value: &str| {
            let mut map = HeaderMap::new();
            map.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(value).unwrap(),
            );
            map
        };
        assert!(is_app_page(&csp(&page_csp("rAnd0m"))));
        assert!(!is_app_page(&csp(DEFAULT_CSP)));
        assert!(!is_app_page(&csp(
            "sandbox; default-src 'none'; style-src 'unsafe-inline'"
        )));
        assert!(!is_app_page(&HeaderMap::new()));
    }

    #[test]
    fn same_origin_requests_pass_and_cross_site_ones_do_not() {
        let origin = "http://127.0.0.1:3000";
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            origin
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            origin
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "same-site")]),
            origin
        ));
        assert!(!is_cross_site(
            &headers(&[("origin", "http://127.0.0.1:3000")]),
            origin
        ));
        assert!(is_cross_site(
            &headers(&[("origin", "https://evil.example")]),
            origin
        ));
        assert!(!is_cross_site(
            &headers(&[
                ("origin", "http://localhost:3000"),
                ("host", "localhost:3000")
            ]),
            origin
        ));
        assert!(is_cross_site(&headers(&[("origin", "null")]), origin));
        assert!(!is_cross_site(&headers(&[]), origin));
    }

    #[test]
    fn login_return_paths_are_encoded() {
        assert_eq!(
            encode_query_value("/admin/users?x=1&y"),
            "/admin/users%3Fx%3D1%26y"
        );
    }
}
