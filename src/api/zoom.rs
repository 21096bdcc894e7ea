//! Zoom settings (admin) and the doctor's own Zoom connection. Secrets go in, never out:
//! views say only whether a secret is set and since when. The rules live in
//! `server::zoom_connections`.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::types::zoom::{
    ConnectionState, DisconnectReport, DoctorZoomRow, MyZoomView, TestOutcome, WebhookView,
    ZoomAccountView, ZoomSettingsView,
};

#[server(prefix = "/api", endpoint = "admin/zoom/settings")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn zoom_settings() -> Result<ZoomSettingsView, AppError> {
    use crate::domain::Role;
    use crate::server::{auth::CallContext, zoom_connections};
    let ctx = CallContext::get().await?;
    ctx.require(&[Role::Admin]).await?;
    zoom_connections::settings_view(&ctx.state).await
}

/// Saves the clinic's Zoom app settings. An empty `client_secret` keeps the stored one.
#[server(prefix = "/api", endpoint = "admin/zoom/settings/save")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_zoom_settings(
    mode: String,
    client_id: String,
    client_secret: Option<String>,
    account_id: Option<String>,
) -> Result<(), AppError> {
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    use crate::server::zoom_connections::{self, ZoomSettingsInput};
    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let input = ZoomSettingsInput::parse(&mode, &client_id, client_secret, account_id.as_deref())?;
    zoom_connections::save_settings(&ctx.state, &admin, input).await
}

/// Calls Zoom now with the saved settings and says precisely what happened.
#[server(prefix = "/api", endpoint = "admin/zoom/test-connection", input = leptos::server_fn::codec::PutUrl)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn test_zoom_connection() -> Result<TestOutcome, AppError> {
    use crate::domain::Role;
    use crate::server::{auth::CallContext, zoom_connections};
    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    Ok(zoom_connections::test_connection(&ctx.state, &admin).await)
}

/// Server-to-Server: which Zoom user (id or email) hosts a doctor's visits. Empty clears it.
#[server(prefix = "/api", endpoint = "admin/zoom/map-doctor")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(doctor_id)))]
pub async fn map_doctor_to_zoom_user(
    doctor_id: i64,
    zoom_user: Option<String>,
) -> Result<(), AppError> {
    use crate::domain::{Role, ZoomIdentifier};
    use crate::server::{auth::CallContext, zoom_connections};
    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let zoom_user = zoom_user
        .filter(|z| !z.trim().is_empty())
        .map(|z| ZoomIdentifier::parse(&z).map_err(|e| AppError::validation("zoom_user", e.0)))
        .transpose()?;
    zoom_connections::map_doctor(&ctx.state, &admin, doctor_id, zoom_user).await
}

/// The calling doctor's Zoom connection, as stored (no call to Zoom).
#[server(prefix = "/api", endpoint = "zoom/status")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn my_zoom_status() -> Result<MyZoomView, AppError> {
    use crate::domain::Role;
    use crate::server::{auth::CallContext, zoom_connections};
    let ctx = CallContext::get().await?;
    let doctor = ctx.require(&[Role::Doctor]).await?;
    zoom_connections::my_status(&ctx.state, &doctor).await
}

/// Asks Zoom now whether the calling doctor's connection works (renewing tokens if needed).
#[server(prefix = "/api", endpoint = "zoom/check")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn check_my_zoom() -> Result<ZoomAccountView, AppError> {
    use crate::domain::Role;
    use crate::server::{auth::CallContext, zoom_connections};
    let ctx = CallContext::get().await?;
    let doctor = ctx.require(&[Role::Doctor]).await?;
    zoom_connections::check(&ctx.state, &doctor).await
}

/// Revokes the calling doctor's Zoom grant and deletes its tokens; says whether Zoom
/// confirmed the revocation.
#[server(prefix = "/api", endpoint = "zoom/disconnect")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn disconnect_zoom() -> Result<DisconnectReport, AppError> {
    use crate::domain::Role;
    use crate::server::{auth::CallContext, zoom_connections};
    let ctx = CallContext::get().await?;
    let doctor = ctx.require(&[Role::Doctor]).await?;
    zoom_connections::disconnect(&ctx.state, &doctor).await
}

/// The clinic's Zoom admin fixed a locked setting: checks every blocked visit again now.
/// Answers how many were queued.
#[server(prefix = "/api", endpoint = "admin/zoom/recheck")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn recheck_blocked_visits() -> Result<u64, AppError> {
    use crate::domain::Role;
    use crate::server::{auth::CallContext, zoom_connections};
    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    zoom_connections::recheck_blocked(&ctx.state, &admin).await
}

/// Sets the secret token of the Zoom app's event subscription (webhooks). Write-only: sealed
/// at rest, never shown again.
#[server(prefix = "/api", endpoint = "admin/zoom/webhook-secret")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_webhook_secret(secret_token: String) -> Result<(), AppError> {
    use crate::domain::{Role, ZoomIdentifier};
    use crate::server::{auth::CallContext, webhooks};
    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let secret = ZoomIdentifier::parse(&secret_token)
        .map_err(|e| AppError::validation("secret_token", e.0))?;
    webhooks::save_secret(&ctx.state, &admin, secret).await
}
