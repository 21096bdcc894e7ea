//! Everything that only runs on the server: configuration, startup, HTTP plumbing, auth and
//! persistence. Compiled only with the `ssr` feature.

pub mod assets;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod crypto;
#[cfg(test)]
mod debug_redaction;
pub mod demo;
pub mod demo_clinic;
pub mod http;
pub mod memory;
pub mod notify;
pub mod persistence;
pub mod preferences;
pub mod push;
pub mod response_cache;
pub mod routes;
pub mod startup;
pub mod telemetry;
pub mod video;
pub mod visits;
pub mod webhooks;
pub mod zoom_connections;

use crate::error::AppError;
use axum::extract::FromRef;
use config::Settings;
use leptos::config::LeptosOptions;
use persistence::Db;
use std::sync::Arc;

/// Shared by every request. One pointer: every layer and server function clones it, and
/// cloning the parts one by one (a dozen reference counts, bounced between the cores on each
/// request) was the top entry of a request's profile.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[derive(Debug)]
pub struct Shared {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    pub keyring: Arc<crypto::Keyring>,
    pub video: Arc<dyn video::VideoProvider>,
    /// Wakes this instance's meeting worker when a request queues Zoom work.
    pub jobs_wake: Arc<tokio::sync::Notify>,
    /// Bounds the password hashes computed at once (logins, password changes, new users).
    pub hashing: Arc<auth::password::HashGate>,
    /// Announces visit changes to the browser tabs' event streams.
    pub push: push::Push,
    /// Wakes the mail worker and the reminder scheduler; the reminders' clock.
    pub notify: notify::Notifier,
    /// Repeated reads answered from memory (visit lists and pages; SQLite only).
    pub responses: response_cache::ResponseCache,
    /// The `Link` header naming the bundle, on the app's pages (`assets::bundle_preload`).
    pub bundle_preload: Option<axum::http::HeaderValue>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Turns an unexpected failure into the opaque `AppError::Internal`, logging its cause once,
/// here, with what we were doing. The client never sees the cause.
pub fn internal<E: std::fmt::Display>(doing: &'static str) -> impl FnOnce(E) -> AppError {
    move |error| {
        tracing::error!(error = %error, "internal error while {doing}");
        AppError::Internal
    }
}
