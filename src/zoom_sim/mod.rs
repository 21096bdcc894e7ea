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
        axum::serve(self.listener, router(self.shared)).await
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
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            inject_faults,
        ))
        .with_state(shared)
}

/// What a request meets before the simulated Zoom sees it: added latency, a random failure,
/// or (for changes) the change applied and the answer lost, as when a connection drops.
async fn inject_faults(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let faults = shared.lock().faults.clone();
    let prefix = faults.paths.clone().unwrap_or_else(|| "/v2".into());
    if path.starts_with("/_sim/") || !path.starts_with(&prefix) {
        return next.run(request).await;
    }
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    let roll: f64 = rand::thread_rng().gen();
    if roll < faults.error_rate && !faults.error_kinds.is_empty() {
        let kind =
            faults.error_kinds[rand::thread_rng().gen_range(0..faults.error_kinds.len())].clone();
        shared.lock().counters.faults_injected += 1;
        return match kind.as_str() {
            "timeout" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                StatusCode::GATEWAY_TIMEOUT.into_response()
            }
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
        };
    }
    let mutating = matches!(
        *request.method(),
        Method::POST | Method::PATCH | Method::DELETE
    );
    let response = next.run(request).await;
    if faults.drop_after_apply && mutating && path.starts_with("/v2") {
        shared.lock().counters.faults_injected += 1;
        // The change is applied; the caller never hears about it (its timeout fires first).
        tokio::time::sleep(Duration::from_secs(60)).await;
        return Response::builder()
            .status(StatusCode::GATEWAY_TIMEOUT)
            .body(Body::empty())
            .unwrap_or_default();
    }
    response
}
