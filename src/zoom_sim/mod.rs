//! A stand-in for Zoom, for demo mode and tests: OAuth (consent page, authorization code with
//! PKCE, rotating refresh tokens, Server-to-Server account tokens, revocation) and the Meetings
//! API (`/v2`), with Zoom's shapes, status codes, token expiry and rate limits, plus `/_sim/`
//! controls to inject faults and read counters. The app reaches it over real HTTP through the
//! same client that reaches Zoom; only the base URLs differ. See ../shared/zoom/FACTS.md for
//! the behaviour it follows.

mod api;
pub mod cli;
mod control;
mod oauth;
mod pages;
mod state;
mod webhooks;

pub use state::{SimConfig, ACCOUNT_ID};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rand::Rng;
use state::SimState;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;

/// Shared state behind one lock, never held across an await.
#[derive(Clone, Debug)]
pub struct Shared(Arc<Mutex<SimState>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SimState> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub struct Simulator {
    listener: TcpListener,
    shared: Shared,
}

impl Simulator {
    pub async fn bind(addr: SocketAddr, config: SimConfig) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        Ok(Simulator {
            listener,
            shared: Shared(Arc::new(Mutex::new(SimState::new(config, base_url)))),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub async fn run(self) -> std::io::Result<()> {
        if self.shared.lock().webhooks.config.url.is_some() {
            tokio::spawn(webhooks::validate_when_up(self.shared.clone()));
        }
        axum::serve(
            crate::server::startup::without_delay(self.listener),
            router(self.shared),
        )
        .await
    }
}

pub fn router(shared: Shared) -> Router {
    Router::new()
        .route(
            "/oauth/authorize",
            get(oauth::consent_page).post(oauth::consent_answer),
        )
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/v2/users/{who}", get(api::get_user))
        .route("/v2/users/{who}/settings", get(api::get_user_settings))
        .route(
            "/v2/users/{who}/meetings",
            get(api::list_meetings).post(api::create_meeting),
        )
        .route(
            "/v2/meetings/{id}",
            get(api::meeting).patch(api::meeting).delete(api::meeting),
        )
        .route("/s/{id}", get(pages::start))
        .route("/j/{id}", get(pages::join))
        .route("/_sim/counters", get(control::counters))
        .route("/_sim/faults", post(control::faults))
        .route("/_sim/hold", get(control::hold_status).post(control::hold))
        .route("/_sim/reset", post(control::reset))
        .route(
            "/_sim/expire-access-tokens",
            post(control::expire_access_tokens),
        )
        .route("/_sim/revoke-grants", post(control::revoke_grants))
        .route("/_sim/config", post(control::config))
        .route("/_sim/meetings", get(control::meetings))
        .route("/_sim/issued-secrets", get(control::issued_secrets))
        .route("/_sim/users", post(control::add_user))
        .route("/_sim/host-settings", post(control::host_settings))
        .route("/_sim/requests", get(control::requests))
        .route("/_sim/meetings/{id}/status", post(control::meeting_status))
        .route("/_sim/meetings/{id}/delete", post(webhooks::delete_meeting))
        .route(
            "/_sim/meetings/{id}/settings",
            post(webhooks::change_settings),
        )
        .route("/_sim/deauthorize", post(webhooks::deauthorize))
        .route(
            "/_sim/webhooks",
            get(webhooks::status).post(webhooks::configure),
        )
        .route("/_sim/webhooks/release", post(webhooks::release))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            inject_faults,
        ))
        .with_state(shared)
}

/// What a request meets around the simulated Zoom: added latency; a random failure, either
/// before the request is carried out or after it (the change made, the answer a 500, lost or
/// a broken connection); the answer of any change lost (`drop_after_apply`); or a create's
/// answer held back until released (`/_sim/hold`).
async fn inject_faults(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let is_create = *request.method() == Method::POST && is_create_path(&path);
    let faults = shared.lock().faults.clone();
    let prefix = faults.paths.clone().unwrap_or_else(|| "/v2".into());
    if path.starts_with("/_sim/") || !path.starts_with(&prefix) {
        let response = next.run(request).await;
        return held_if_asked(&shared, is_create, response).await;
    }
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if is_create && faults.create_delay_ms > 0 {
        // A create still travelling to Zoom: it lands after this delay even if the caller
        // has given up and closed the connection (the work runs detached from it).
        let delay = Duration::from_millis(faults.create_delay_ms);
        let landing = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            next.run(request).await
        });
        return landing
            .await
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    let roll: f64 = rand::thread_rng().gen();
    let fault = (roll < faults.error_rate && !faults.error_kinds.is_empty()).then(|| {
        faults.error_kinds[rand::thread_rng().gen_range(0..faults.error_kinds.len())].clone()
    });
    if let Some(kind) = fault.as_deref().filter(|k| !k.ends_with("-after-apply")) {
        shared.lock().counters.faults_injected += 1;
        return failure(kind).await;
    }
    let mutating = matches!(
        *request.method(),
        Method::POST | Method::PATCH | Method::DELETE
    );
    let response = next.run(request).await;
    let made_a_meeting = is_create && response.status() == StatusCode::CREATED;
    if let Some(kind) = fault {
        {
            let mut state = shared.lock();
            state.counters.faults_injected += 1;
            state.counters.faults_after_apply += 1;
            state.counters.creates_unanswered += u64::from(made_a_meeting);
        }
        return failure(&kind).await;
    }
    if faults.drop_after_apply && mutating && path.starts_with("/v2") {
        {
            let mut state = shared.lock();
            state.counters.faults_injected += 1;
            state.counters.creates_unanswered += u64::from(made_a_meeting);
        }
        return failure("lost-after-apply").await;
    }
    held_if_asked(&shared, is_create, response).await
}

/// `POST /v2/users/{user}/meetings`.
fn is_create_path(path: &str) -> bool {
    path.strip_prefix("/v2/users/")
        .and_then(|rest| rest.strip_suffix("/meetings"))
        .is_some_and(|user| !user.is_empty() && !user.contains('/'))
}

/// The answer of an injected fault of `kind`.
async fn failure(kind: &str) -> Response {
    match kind {
        "timeout" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        // The caller never hears back: its own timeout fires first.
        "lost-after-apply" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        // The connection breaks with no answer at all. Unwinding ends the connection's task
        // (without the panic hook: nothing is printed), and with it the socket.
        "reset-after-apply" => std::panic::resume_unwind(Box::new("simulated connection reset")),
        "429" => {
            let mut response = api::zoom_error(
                StatusCode::TOO_MANY_REQUESTS,
                429,
                "You have reached the maximum per-second rate limit for this API. Try again later.",
            );
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
            response.headers_mut().insert(
                "x-ratelimit-type",
                axum::http::HeaderValue::from_static("QPS"),
            );
            response
        }
        other => {
            let status = other
                .trim_end_matches("-after-apply")
                .parse::<u16>()
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            api::zoom_error(
                status,
                i64::from(status.as_u16()),
                "Internal error (simulated).",
            )
        }
    }
}

/// While `/_sim/hold` holds creates, a create's answer waits (its meeting already made) until
/// the hold is released; the meeting ids are kept so tests can follow what became of them.
async fn held_if_asked(shared: &Shared, is_create: bool, response: Response) -> Response {
    if !is_create || response.status() != StatusCode::CREATED || !shared.lock().hold.creates {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let id = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["id"].as_i64());
    let mut release = {
        let mut state = shared.lock();
        state.counters.creates_held += 1;
        state.hold.meetings.extend(id);
        state.hold.waiting += 1;
        state.hold.release.subscribe()
    };
    // Counts the wait down however it ends: released, or dropped with the caller's connection.
    struct Waiting(Shared);
    impl Drop for Waiting {
        fn drop(&mut self) {
            let mut state = self.0.lock();
            state.hold.waiting = state.hold.waiting.saturating_sub(1);
        }
    }
    let _waiting = Waiting(shared.clone());
    // A closed channel (the state was reset) releases too.
    let _ = release.wait_for(|held| !*held).await;
    Response::from_parts(parts, Body::from(bytes))
}
