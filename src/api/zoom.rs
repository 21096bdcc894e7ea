//! Zoom settings (admin) and the doctor's own Zoom connection. Secrets go in, never out:
//! views say only whether a secret is set and since when.

use crate::domain::ZoomConnectionMode;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionState {
    NotConnected,
    Connected { zoom_email: String, since: i64 },
    ReconnectNeeded { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorZoomRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub mapped_zoom_user: Option<String>,
    pub connection: ConnectionState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoomSettingsView {
    pub mode: Option<ZoomConnectionMode>,
    pub client_id: String,
    pub account_id: Option<String>,
    /// When the client secret was last set (Unix seconds); the secret itself never leaves.
    pub secret_set_at: Option<i64>,
    /// The exact redirect URL to register in the Zoom app.
    pub redirect_url: String,
    pub doctors: Vec<DoctorZoomRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TestOutcome {
    Connected {
        connected_as: String,
        elapsed_ms: u64,
    },
    NotConfigured,
    BadCredentials,
    MissingScopes {
        scopes: Vec<String>,
    },
    Unreachable {
        detail: String,
    },
    Failed {
        detail: String,
    },
}

impl TestOutcome {
    pub fn describe(&self) -> String {
        match self {
            TestOutcome::Connected {
                connected_as,
                elapsed_ms,
            } => {
                format!("Connected as {connected_as} ({elapsed_ms} ms).")
            }
            TestOutcome::NotConfigured => {
                "Zoom is not configured yet: save the settings first.".into()
            }
            TestOutcome::BadCredentials => {
                "Zoom refused these credentials: check the client ID, secret and account ID.".into()
            }
            TestOutcome::MissingScopes { scopes } => {
                format!(
                    "The Zoom app lacks scopes: {}. Add them in the Zoom Marketplace.",
                    scopes.join(", ")
                )
            }
            TestOutcome::Unreachable { detail } => format!("Zoom could not be reached ({detail})."),
            TestOutcome::Failed { detail } => format!("Zoom refused the check: {detail}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyZoomView {
    pub mode: Option<ZoomConnectionMode>,
    pub connection: ConnectionState,
    /// Server-to-Server: the Zoom user an admin assigned to this doctor.
    pub mapped_zoom_user: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoomAccountView {
    pub zoom_user_id: String,
    pub email: String,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use super::*;
    use crate::server::persistence::{ConnectionRow, NewAuditEntry, ZoomMode};
    use crate::server::video::ProviderError;
    use crate::server::{internal, AppState};

    pub fn mode_view(mode: ZoomMode) -> ZoomConnectionMode {
        match mode {
            ZoomMode::UserOAuth => ZoomConnectionMode::UserOauth,
            ZoomMode::ServerToServer => ZoomConnectionMode::ServerToServer,
        }
    }

    pub fn connection_state(row: Option<&ConnectionRow>) -> ConnectionState {
        match row {
            None => ConnectionState::NotConnected,
            Some(row) if row.reconnect_needed => ConnectionState::ReconnectNeeded {
                reason: row
                    .status_reason
                    .clone()
                    .unwrap_or_else(|| "Zoom no longer accepts this connection.".into()),
            },
            Some(row) => ConnectionState::Connected {
                zoom_email: row.zoom_email.clone(),
                since: row.connected_at,
            },
        }
    }

    pub fn provider_error(error: ProviderError) -> AppError {
        match error {
            ProviderError::NotConfigured => {
                AppError::conflict("An administrator has not set up Zoom yet.")
            }
            ProviderError::NotConnected => {
                AppError::conflict("Your Zoom account is not connected.")
            }
            ProviderError::ReconnectNeeded => {
                AppError::conflict("Zoom no longer accepts your connection. Please reconnect Zoom.")
            }
            ProviderError::RateLimited { retry_at, .. } => AppError::RateLimited {
                retry_after_secs: retry_at
                    .map(|at| (at - crate::server::persistence::now_unix()).max(1) as u64)
                    .unwrap_or(60),
            },
            other => AppError::ProviderUnavailable {
                message: other.to_string(),
            },
        }
    }

    pub async fn audit(
        state: &AppState,
        actor: i64,
        action: &str,
        outcome: &str,
        detail: Option<&str>,
    ) {
        let entry = NewAuditEntry {
            actor_id: Some(actor),
            action,
            subject: "zoom",
            outcome,
            detail,
        };
        if let Err(error) = state.db.append_audit(entry).await {
            internal("writing the audit log")(error);
        }
    }
}

#[server(prefix = "/api", endpoint = "admin/zoom/settings")]
pub async fn zoom_settings() -> Result<ZoomSettingsView, AppError> {
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    use crate::server::internal;

    let ctx = CallContext::get().await?;
    ctx.require(&[Role::Admin]).await?;
    let db = &ctx.state.db;
    let settings = db
        .zoom_settings()
        .await
        .map_err(internal("loading Zoom settings"))?;
    let connections = db
        .zoom_connections()
        .await
        .map_err(internal("loading Zoom connections"))?;
    let mappings = db
        .zoom_mappings()
        .await
        .map_err(internal("loading Zoom mappings"))?;
    let doctors = db
        .list_users()
        .await
        .map_err(internal("listing doctors"))?
        .into_iter()
        .filter(|u| u.role == Role::Doctor && u.active)
        .map(|doctor| DoctorZoomRow {
            id: doctor.id,
            name: doctor
                .display_name
                .as_ref()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            email: doctor.email.to_string(),
            mapped_zoom_user: mappings
                .iter()
                .find(|(id, _)| *id == doctor.id)
                .map(|(_, z)| z.clone()),
            connection: server::connection_state(
                connections.iter().find(|c| c.user_id == doctor.id),
            ),
        })
        .collect();
    Ok(ZoomSettingsView {
        mode: settings.as_ref().map(|s| server::mode_view(s.mode)),
        client_id: settings
            .as_ref()
            .map(|s| s.client_id.clone())
            .unwrap_or_default(),
        account_id: settings.as_ref().and_then(|s| s.account_id.clone()),
        secret_set_at: settings.as_ref().map(|s| s.secret_set_at),
        redirect_url: ctx.state.settings.oauth_redirect_url(),
        doctors,
    })
}

/// Saves the clinic's Zoom app settings. An empty `client_secret` keeps the stored one.
#[server(prefix = "/api", endpoint = "admin/zoom/settings/save")]
pub async fn save_zoom_settings(
    mode: String,
    client_id: String,
    client_secret: Option<String>,
    account_id: Option<String>,
) -> Result<(), AppError> {
    use crate::domain::{Role, ZoomIdentifier};
    use crate::server::auth::CallContext;
    use crate::server::persistence::{StoreError, ZoomMode};
    use crate::server::video::zoom::PURPOSE_CLIENT_SECRET;

    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let mode = ZoomConnectionMode::parse(&mode).map_err(|e| AppError::validation("mode", e.0))?;
    let client_id =
        ZoomIdentifier::parse(&client_id).map_err(|e| AppError::validation("client_id", e.0))?;
    let account_id = match mode {
        ZoomConnectionMode::ServerToServer => Some(
            ZoomIdentifier::parse(account_id.as_deref().unwrap_or_default())
                .map_err(|e| AppError::validation("account_id", e.0))?,
        ),
        ZoomConnectionMode::UserOauth => None,
    };
    let secret = client_secret.filter(|s| !s.trim().is_empty());
    if let Some(secret) = &secret {
        ZoomIdentifier::parse(secret).map_err(|e| AppError::validation("client_secret", e.0))?;
    }
    let sealed = secret.map(|s| ctx.state.keyring.seal(s.trim(), PURPOSE_CLIENT_SECRET));
    let store_mode = match mode {
        ZoomConnectionMode::UserOauth => ZoomMode::UserOAuth,
        ZoomConnectionMode::ServerToServer => ZoomMode::ServerToServer,
    };
    ctx.state
        .db
        .save_zoom_settings(
            store_mode,
            client_id.as_str(),
            sealed,
            account_id.as_ref().map(|a| a.as_str()),
            Some(admin.id),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                AppError::validation("client_secret", "Enter the client secret.")
            }
            other => crate::server::internal("saving Zoom settings")(other),
        })?;
    server::audit(
        &ctx.state,
        admin.id,
        "zoom.settings",
        "saved",
        Some(mode.as_str()),
    )
    .await;
    Ok(())
}

/// Calls Zoom now with the saved settings and says precisely what happened.
#[server(prefix = "/api", endpoint = "admin/zoom/test-connection", input = leptos::server_fn::codec::PutUrl)]
pub async fn test_zoom_connection() -> Result<TestOutcome, AppError> {
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    use crate::server::video::ProviderError;

    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let outcome = match ctx.state.video.test_connection().await {
        Ok(report) => TestOutcome::Connected {
            connected_as: report.connected_as,
            elapsed_ms: report.elapsed_ms,
        },
        Err(ProviderError::NotConfigured) => TestOutcome::NotConfigured,
        Err(ProviderError::BadCredentials) | Err(ProviderError::ReconnectNeeded) => {
            TestOutcome::BadCredentials
        }
        Err(ProviderError::MissingScopes(scopes)) => TestOutcome::MissingScopes { scopes },
        Err(ProviderError::Unavailable(detail)) => TestOutcome::Unreachable { detail },
        Err(ProviderError::RateLimited { .. }) => TestOutcome::Unreachable {
            detail: "rate limited by Zoom".into(),
        },
        Err(other) => TestOutcome::Failed {
            detail: other.to_string(),
        },
    };
    let label = match &outcome {
        TestOutcome::Connected { .. } => "ok",
        _ => "failed",
    };
    server::audit(&ctx.state, admin.id, "zoom.test_connection", label, None).await;
    Ok(outcome)
}

/// Server-to-Server: which Zoom user (id or email) hosts a doctor's visits. Empty clears it.
#[server(prefix = "/api", endpoint = "admin/zoom/map-doctor")]
pub async fn map_doctor_to_zoom_user(
    doctor_id: i64,
    zoom_user: Option<String>,
) -> Result<(), AppError> {
    use crate::domain::{Role, ZoomIdentifier};
    use crate::server::auth::CallContext;
    use crate::server::internal;

    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let zoom_user = zoom_user
        .filter(|z| !z.trim().is_empty())
        .map(|z| ZoomIdentifier::parse(&z).map_err(|e| AppError::validation("zoom_user", e.0)))
        .transpose()?;
    let doctor = ctx
        .state
        .db
        .user_by_id(doctor_id)
        .await
        .map_err(internal("loading a doctor"))?;
    if !doctor.is_some_and(|d| d.role == Role::Doctor) {
        return Err(AppError::not_found("That doctor"));
    }
    ctx.state
        .db
        .set_zoom_mapping(doctor_id, zoom_user.as_ref().map(|z| z.as_str()))
        .await
        .map_err(internal("saving a Zoom mapping"))?;
    server::audit(
        &ctx.state,
        admin.id,
        "zoom.map_doctor",
        "ok",
        zoom_user.as_ref().map(|z| z.as_str()),
    )
    .await;
    Ok(())
}

/// The calling doctor's Zoom connection, as stored (no call to Zoom).
#[server(prefix = "/api", endpoint = "zoom/status")]
pub async fn my_zoom_status() -> Result<MyZoomView, AppError> {
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    use crate::server::internal;

    let ctx = CallContext::get().await?;
    let doctor = ctx.require(&[Role::Doctor]).await?;
    let db = &ctx.state.db;
    let settings = db
        .zoom_settings()
        .await
        .map_err(internal("loading Zoom settings"))?;
    let connection = db
        .zoom_connection(doctor.id)
        .await
        .map_err(internal("loading a Zoom connection"))?;
    Ok(MyZoomView {
        mode: settings.map(|s| server::mode_view(s.mode)),
        connection: server::connection_state(connection.as_ref()),
        mapped_zoom_user: db
            .zoom_mapping(doctor.id)
            .await
            .map_err(internal("loading a Zoom mapping"))?,
    })
}

/// Asks Zoom now whether the calling doctor's connection works (renewing tokens if needed).
#[server(prefix = "/api", endpoint = "zoom/check")]
pub async fn check_my_zoom() -> Result<ZoomAccountView, AppError> {
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    use crate::server::video::HostId;

    let ctx = CallContext::get().await?;
    let doctor = ctx.require(&[Role::Doctor]).await?;
    let account = ctx
        .state
        .video
        .check_host(HostId(doctor.id))
        .await
        .map_err(server::provider_error)?;
    Ok(ZoomAccountView {
        zoom_user_id: account.provider_user_id,
        email: account.email,
    })
}

/// Revokes the calling doctor's Zoom grant and deletes its tokens.
#[server(prefix = "/api", endpoint = "zoom/disconnect")]
pub async fn disconnect_zoom() -> Result<(), AppError> {
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    use crate::server::video::HostId;

    let ctx = CallContext::get().await?;
    let doctor = ctx.require(&[Role::Doctor]).await?;
    ctx.state
        .video
        .disconnect(HostId(doctor.id))
        .await
        .map_err(server::provider_error)?;
    server::audit(&ctx.state, doctor.id, "zoom.disconnect", "ok", None).await;
    Ok(())
}
