//! Who is calling: password checks, the login session, and the guards every server function
//! runs first. Guards return errors; they never redirect.

pub mod password;
pub mod session;
pub mod throttle;

use crate::domain::Role;
use crate::error::AppError;
use crate::server::persistence::UserRecord;
use crate::server::{internal, AppState};
use leptos::prelude::*;
use tower_sessions::Session;

/// The state and session of the current server-function call.
pub struct CallContext {
    pub state: AppState,
    pub session: Session,
}

impl CallContext {
    pub async fn get() -> Result<Self, AppError> {
        let state =
            use_context::<AppState>().ok_or_else(|| internal("app state missing")("no context"))?;
        let session = leptos_axum::extract::<Session>()
            .await
            .map_err(internal("session layer missing"))?;
        Ok(Self { state, session })
    }

    /// The client's address (see `http::client_ip`).
    pub async fn client_ip(&self) -> Result<std::net::IpAddr, AppError> {
        use axum::extract::ConnectInfo;
        use axum::http::HeaderMap;
        use std::net::SocketAddr;
        let ConnectInfo(peer) = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
            .await
            .map_err(internal("reading the client address"))?;
        let headers = leptos_axum::extract::<HeaderMap>()
            .await
            .map_err(internal("reading the request headers"))?;
        Ok(crate::server::http::client_ip(
            &self.state.settings,
            peer.ip(),
            &headers,
        ))
    }

    /// The logged-in user, or `Unauthorized`.
    pub async fn user(&self) -> Result<UserRecord, AppError> {
        session::current_user(&self.session, &self.state.db)
            .await?
            .ok_or(AppError::Unauthorized)
    }

    /// The logged-in user if their role is one of `roles`; `Unauthorized` when nobody is
    /// logged in, `Forbidden` when the role does not fit.
    pub async fn require(&self, roles: &[Role]) -> Result<UserRecord, AppError> {
        let user = self.user().await?;
        if roles.contains(&user.role) {
            Ok(user)
        } else {
            Err(AppError::Forbidden)
        }
    }
}
