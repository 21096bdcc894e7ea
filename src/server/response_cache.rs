//! Answers a repeated read from memory: the visit list (`POST /api/visits/list`) and a visit's
//! page (`GET /visits/{id}`), for the same session, within the same second, while no session,
//! account, appointment or meeting changed anywhere.
//!
//! Why each condition makes a kept answer the one a fresh render would give:
//! - **Session and user**: the key holds both, so an answer never reaches another session, and
//!   every rule about the caller (role, deactivation, logout) is in the auth version.
//! - **Data**: the key holds the versions of accounts and of visits (`Db::auth_version`,
//!   `Db::visits_version`), read before the render; every write moves them after its commit.
//!   On PostgreSQL there are no versions, so nothing is kept.
//! - **Time**: what a page shows moves with the clock (the join window, the countdown, a
//!   no-show) at a granularity of one second, so an answer is kept only within the second it
//!   was made in.
//! - **Audit**: a read is audited whether or not it was rendered. The audit entries the render
//!   wrote are kept with the answer and written again, each time it is reused, before it leaves.
//!   An answer whose render wrote none is not kept (the audit would be silently lost).
//! - **CSP**: each reuse gets a fresh script nonce, in the header and in the page.
//!
//! Concurrent misses for one key wait for a single render. Only `200` answers without cookies
//! are kept, whose render wrote exactly the one audit entry its route writes; the memory held
//! is bounded (answers of the current second only, at most 1,024 and 16 MiB).

use crate::server::audit::{self, Entry};
use crate::server::auth::session::current_user;
use crate::server::persistence::change_version::Version;
use crate::server::persistence::now_unix;
use crate::server::{http, AppState};
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use tower_sessions::Session;

/// Answers of earlier seconds are dropped when the second moves on; within one second,
/// past either bound a new answer is served but not kept.
const MAX_KEPT_BYTES: usize = 16 * 1024 * 1024;
const MAX_KEPT_ANSWERS: usize = 1024;
/// Longer paths and `Accept` headers are not kept (nobody's browser sends them; they would
/// only make the keys large).
const MAX_KEY_PART: usize = 256;
/// The largest answer buffered for keeping (a receptionist's list of 500 is ~400 KiB).
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

#[derive(Default)]
pub struct ResponseCache {
    slots: Mutex<Slots>,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Slots {
    by_key: HashMap<Key, Slot>,
    bytes: usize,
    /// The latest second a key was made in: everything older goes when it moves on.
    latest: i64,
}

/// One render's answer, or `None`: not keepable, every waiter renders its own.
type Slot = Arc<OnceCell<Option<Arc<Kept>>>>;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    session: String,
    user: i64,
    /// What the render reads of the user (their role, zone, names), as the session's copy
    /// has it: a copy read before a change but checked against the version after it must
    /// not find the answer made for the changed account, nor the other way round.
    account: String,
    /// Method, path and query, and the headers a server function's answer depends on.
    request: String,
    second: i64,
    auth: Version,
    visits: Version,
}

struct Kept {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// The page's script nonce, replaced on every reuse.
    nonce: Option<KeptNonce>,
    audit: Vec<Captured>,
}

/// A kept page's nonce and where it stands in the body, found once when the page is kept:
/// searching (and checking the UTF-8 of) the whole page again on every reuse was a twentieth
/// of a reused join page's CPU.
struct KeptNonce {
    text: String,
    at: Vec<usize>,
}

/// An audit entry written while rendering, to write again on each reuse.
#[derive(Clone, Debug)]
pub enum Captured {
    Recorded(Entry),
    Counted(Entry),
}

/// Put in a request's extensions while it is rendered for keeping; `audit::record` adds to it.
#[derive(Clone, Default, Debug)]
pub struct AuditCapture(Arc<Mutex<Vec<Captured>>>);

impl AuditCapture {
    pub fn push(&self, entry: Captured) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
    }

    fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Whether this kind of request may be answered from memory.
fn keepable(request: &Request) -> bool {
    let path = request.uri().path();
    let route = match *request.method() {
        Method::POST => path == "/api/visits/list",
        Method::GET => path
            .strip_prefix("/visits/")
            .is_some_and(|id| !id.is_empty() && !id.contains('/')),
        _ => false,
    };
    // The list takes no arguments: a request with a body is not the one kept.
    let headers = request.headers();
    let bodiless = !headers.contains_key(header::TRANSFER_ENCODING)
        && headers
            .get(header::CONTENT_LENGTH)
            .is_none_or(|length| length == "0");
    let short = request
        .uri()
        .path_and_query()
        .is_none_or(|target| target.as_str().len() <= MAX_KEY_PART)
        && headers
            .get(header::ACCEPT)
            .is_none_or(|accept| accept.len() <= MAX_KEY_PART);
    route && bodiless && short
}

/// The one audit entry a kept answer's render must have written: reuse writes it again, so
/// a render that wrote anything else (or nothing) is not kept.
fn expected_audit(request: &Request) -> audit::Action {
    if request.method() == Method::POST {
        audit::Action::VisitList
    } else {
        audit::Action::VisitOpen
    }
}

/// The middleware (innermost: role checks, session timeouts and cross-site refusals run first).
pub async fn serve(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.settings.response_cache || !keepable(&request) {
        return next.run(request).await;
    }
    let Some((session, request_text)) = key_for(&request) else {
        return next.run(request).await;
    };
    let Some(key) = complete_key(&state, session, request_text).await else {
        return next.run(request).await;
    };
    let audited = expected_audit(&request);
    let slot = state.responses.slot(&key);
    let mut request = Some(request);
    let mut own = None;
    let kept = slot
        .get_or_init(|| {
            let (request, own) = (&mut request, &mut own);
            let next = next.clone();
            async move {
                let request = request.take()?;
                let (response, kept) = render(request, next, audited).await;
                *own = Some(response);
                kept
            }
        })
        .await
        .clone();
    if let Some(response) = own {
        if let Some(kept) = &kept {
            state.responses.account(&key, kept.body.len());
        }
        return response;
    }
    match (kept, request) {
        (Some(kept), _) => reuse(&state, &kept).await,
        (None, Some(request)) => next.run(request).await,
        (None, None) => unreachable_render(),
    }
}

/// `get_or_init` ran our initializer or gave us a value; the request is gone only in the
/// first case, which returned above.
fn unreachable_render() -> Response {
    tracing::error!("response cache: a request was neither rendered nor answered");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// The request's key, read from its parts only (a `Request` is not `Sync`, so none is held
/// across an await).
fn key_for(request: &Request) -> Option<(Session, String)> {
    let session = request.extensions().get::<Session>()?.clone();
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .map(|v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    // A server function answers a plain form post with a redirect to the referring page (never
    // kept: not a 200), and picks its encoding by `Accept`.
    let referred = request.headers().contains_key(header::REFERER);
    let request_text = format!(
        "{} {}\n{accept}\n{referred}",
        request.method(),
        request.uri(),
    );
    Some((session, request_text))
}

async fn complete_key(state: &AppState, session: Session, request: String) -> Option<Key> {
    let session_id = session.id()?.to_string();
    // Versions before the render: a write that lands during it moves them, and later
    // requests look under the new ones.
    let auth = state.db.auth_version()?;
    let visits = state.db.visits_version()?;
    let second = now_unix();
    let user = current_user(&session, &state.db).await.ok()??;
    let account = format!(
        "{}|{}|{}|{}|{}",
        user.role.as_str(),
        user.time_zone.map(|zone| zone.name()).unwrap_or_default(),
        user.email.as_str(),
        user.display_name
            .as_ref()
            .map(|name| name.as_str())
            .unwrap_or_default(),
        user.session_epoch,
    );
    Some(Key {
        session: session_id,
        user: user.id,
        account,
        request,
        second,
        auth,
        visits,
    })
}

/// Renders the request, capturing its audit entries; the answer, and what to keep of it.
async fn render(
    mut request: Request,
    next: Next,
    audited: audit::Action,
) -> (Response, Option<Arc<Kept>>) {
    let capture = AuditCapture::default();
    request.extensions_mut().insert(capture.clone());
    let response = next.run(request).await;
    if response.status() != StatusCode::OK || response.headers().contains_key(header::SET_COOKIE) {
        return (response, None);
    }
    let (parts, body) = response.into_parts();
    // In a task of its own, like `http::render_fully`: a page always renders to its end.
    let body = match tokio::spawn(to_bytes(body, MAX_ANSWER_BYTES)).await {
        Ok(Ok(body)) => body,
        Ok(Err(error)) => {
            tracing::error!(%error, "rendering an answer failed");
            return (internal_error(), None);
        }
        Err(error) => {
            tracing::error!(%error, "the rendering task failed");
            return (internal_error(), None);
        }
    };
    let audit = capture.take();
    let response = Response::from_parts(parts.clone(), Body::from(body.clone()));
    let as_expected = match audit.as_slice() {
        [Captured::Recorded(entry) | Captured::Counted(entry)] => entry.action == audited,
        _ => false,
    };
    if !as_expected {
        return (response, None);
    }
    let csp = parts
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .map(|csp| csp.to_str().unwrap_or_default());
    let nonce = match csp.filter(|csp| http::nonce_in(csp).is_some()) {
        None => None,
        // A nonce we cannot replace must not be handed out twice; nor can a page that is not
        // text (not one we rendered) be searched for it.
        Some(csp) => match nonce_of(csp).and_then(|nonce| KeptNonce::find(nonce, &body)) {
            Some(nonce) => Some(nonce),
            None => return (response, None),
        },
    };
    let kept = Kept {
        status: parts.status,
        headers: parts.headers,
        body,
        nonce,
        audit,
    };
    (response, Some(Arc::new(kept)))
}

fn internal_error() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// The answer kept for this key, after writing the audit entries its render wrote.
async fn reuse(state: &AppState, kept: &Kept) -> Response {
    for entry in &kept.audit {
        let written = match entry.clone() {
            Captured::Recorded(entry) => audit::record(&state.db, entry).await,
            Captured::Counted(entry) => audit::record_counted(&state.db, entry).await,
        };
        // Reads that are not audited are not answered (the failure is logged already).
        if written.is_err() {
            return internal_error();
        }
    }
    let mut headers = kept.headers.clone();
    let body = match &kept.nonce {
        Some(old) => {
            let new = fresh_nonce();
            if let Some(csp) = headers.get(header::CONTENT_SECURITY_POLICY) {
                let csp = csp.to_str().unwrap_or_default().replace(&old.text, &new);
                if let Ok(csp) = HeaderValue::from_str(&csp) {
                    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
                }
            }
            old.replaced(&kept.body, &new)
        }
        None => kept.body.clone(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = kept.status;
    // The length changes with the nonce only if the two differ in length; hyper sets it anew.
    headers.remove(header::CONTENT_LENGTH);
    *response.headers_mut() = headers;
    response
}

/// The nonce in a page CSP, if it is long enough to replace: short or empty ones could also
/// occur in the page's text by chance.
fn nonce_of(csp: &str) -> Option<String> {
    http::nonce_in(csp)
        .filter(|nonce| nonce.len() >= 16)
        .map(str::to_owned)
}

impl KeptNonce {
    /// Where `nonce` stands in `body`; `None` if the body is not text.
    fn find(nonce: String, body: &[u8]) -> Option<Self> {
        let page = std::str::from_utf8(body).ok()?;
        let at = page.match_indices(nonce.as_str()).map(|(i, _)| i).collect();
        Some(Self { text: nonce, at })
    }

    /// `body` (the one it was found in) with `new` wherever the kept nonce stood.
    fn replaced(&self, body: &[u8], new: &str) -> Bytes {
        let (at, len) = (&self.at, self.text.len());
        let mut out = Vec::with_capacity(body.len() - at.len() * len + at.len() * new.len());
        let mut from = 0;
        for &start in at {
            out.extend_from_slice(&body[from..start]);
            out.extend_from_slice(new.as_bytes());
            from = start + len;
        }
        out.extend_from_slice(&body[from..]);
        Bytes::from(out)
    }
}

/// A nonce from the generator Leptos made the page's own with (same length and alphabet).
fn fresh_nonce() -> String {
    leptos::nonce::Nonce::new().to_string()
}

impl ResponseCache {
    /// The slot for `key`, made empty if it is new. Answers of earlier seconds and versions
    /// are dropped once the kept bytes pass the bound.
    fn slot(&self, key: &Key) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = slots.by_key.get(key) {
            return slot.clone();
        }
        if key.second > slots.latest {
            // Nothing of an earlier second is used again.
            slots.latest = key.second;
            slots.by_key.clear();
            slots.bytes = 0;
        }
        let slot = Slot::default();
        if slots.bytes < MAX_KEPT_BYTES && slots.by_key.len() < MAX_KEPT_ANSWERS {
            slots.by_key.insert(key.clone(), slot.clone());
        }
        slot
    }

    /// Counts a kept answer's bytes, if its slot is still held.
    fn account(&self, key: &Key, bytes: usize) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.by_key.contains_key(key) {
            slots.bytes += bytes;
        }
    }
}

/// Adds an audit entry to the capture of the request being rendered, if it is being rendered
/// for keeping. The request's parts are in the reactive context of its server functions,
/// both when the browser calls them and while a page renders.
pub fn capture(entry: &Entry, counted: bool) {
    use leptos::prelude::with_context;
    let capture = with_context::<axum::http::request::Parts, _>(|parts| {
        parts.extensions.get::<AuditCapture>().cloned()
    })
    .flatten();
    if let Some(capture) = capture {
        capture.push(if counted {
            Captured::Counted(entry.clone())
        } else {
            Captured::Recorded(entry.clone())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nonce_in_a_page_policy() {
        let csp =
            "default-src 'self'; script-src 'self' 'nonce-AbCdEfGhIjKlMnOpQrSt' 'wasm-unsafe-eval'";
        assert_eq!(nonce_of(csp).as_deref(), Some("AbCdEfGhIjKlMnOpQrSt"));
        assert_eq!(nonce_of("script-src 'self'"), None);
        assert_eq!(nonce_of("script-src 'nonce-x'"), None);
    }

    #[test]
    fn keeps_only_bodiless_list_calls_and_visit_pages() {
        let request = |method: Method, uri: &str, length: Option<&str>| {
            let mut builder = Request::builder().method(method).uri(uri);
            if let Some(length) = length {
                builder = builder.header(header::CONTENT_LENGTH, length);
            }
            builder.body(Body::empty()).unwrap()
        };
        assert!(keepable(&request(Method::POST, "/api/visits/list", None)));
        assert!(keepable(&request(
            Method::POST,
            "/api/visits/list",
            Some("0")
        )));
        assert!(!keepable(&request(
            Method::POST,
            "/api/visits/list",
            Some("12")
        )));
        assert!(keepable(&request(Method::GET, "/visits/abc", None)));
        assert!(!keepable(&request(Method::GET, "/visits", None)));
        assert!(!keepable(&request(Method::GET, "/visits/", None)));
        assert!(!keepable(&request(Method::GET, "/visits/a/b", None)));
        assert!(!keepable(&request(Method::POST, "/api/visits/join", None)));
        assert!(!keepable(&request(Method::HEAD, "/visits/abc", None)));
        let long = format!("/visits/{}", "a".repeat(MAX_KEY_PART));
        assert!(!keepable(&request(Method::GET, &long, None)));
    }

    #[test]
    fn a_kept_page_gets_the_new_nonce_everywhere_the_old_one_stood() {
        let old = "AbCdEfGhIjKlMnOpQrSt";
        let pages = [
            String::new(),
            "<p>no scripts here, only ünïcödé ✓</p>".to_owned(),
            format!("{old}<body>Zoë's visit</body><script nonce=\"{old}\"></script>{old}"),
            format!("<script nonce=\"{old}\">{old}{old}</script> — 🩺 end"),
        ];
        for page in &pages {
            let kept = KeptNonce::find(old.to_owned(), page.as_bytes()).unwrap();
            for new in [
                "ZyXwVuTsRqPoNmLkJiHg",
                "short",
                "a-much-longer-nonce-than-the-old-one",
            ] {
                let replaced = kept.replaced(page.as_bytes(), new);
                assert_eq!(replaced, page.replace(old, new).as_bytes(), "{page}");
            }
        }
    }

    #[test]
    fn fresh_nonces_differ_and_are_long_enough_to_be_found_again() {
        let (a, b) = (fresh_nonce(), fresh_nonce());
        assert_ne!(a, b);
        assert!(nonce_of(&format!("script-src 'nonce-{a}'")).is_some());
    }
}
