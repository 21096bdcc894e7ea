//! The clinic's Zoom settings and the doctors' connections: what the admin's and the doctor's
//! Zoom pages show and change. Each function takes the state, the (already authorized) caller
//! and parsed input, and records its audit entry.

use crate::domain::{Role, ZoomConnectionMode, ZoomIdentifier};
use crate::error::AppError;
use crate::server::audit::{self, Action, Actor, Entry, Outcome};
use crate::server::crypto::Purpose;
use crate::server::persistence::{AuditQuery, ConnectionRow, StoreError, UserRecord};
use crate::server::video::{Disconnected, HostId, HostReport, Licence, ProviderError};
use crate::server::{internal, AppState};
use crate::types::zoom::{
    ConnectionState, DisconnectReport, DoctorZoomRow, MyZoomView, TestOutcome, ZoomAccountView,
    ZoomSettingsView,
};
use secrecy::{ExposeSecret, SecretString};

/// The settings form, parsed.
pub struct ZoomSettingsInput {
    pub mode: ZoomConnectionMode,
    pub client_id: ZoomIdentifier,
    /// `None` keeps the stored secret.
    pub client_secret: Option<SecretString>,
    pub account_id: Option<ZoomIdentifier>,
}

impl ZoomSettingsInput {
    pub fn parse(
        mode: &str,
        client_id: &str,
        client_secret: Option<String>,
        account_id: Option<&str>,
    ) -> Result<Self, AppError> {
        let mode =
            ZoomConnectionMode::parse(mode).map_err(|e| AppError::validation("mode", e.0))?;
        let client_id =
            ZoomIdentifier::parse(client_id).map_err(|e| AppError::validation("client_id", e.0))?;
        let account_id = match mode {
            ZoomConnectionMode::ServerToServer => Some(
                ZoomIdentifier::parse(account_id.unwrap_or_default())
                    .map_err(|e| AppError::validation("account_id", e.0))?,
            ),
            ZoomConnectionMode::UserOauth => None,
        };
        let client_secret = match client_secret.filter(|s| !s.trim().is_empty()) {
            Some(secret) => {
                let parsed = ZoomIdentifier::parse(&secret)
                    .map_err(|e| AppError::validation("client_secret", e.0))?;
                Some(SecretString::from(parsed.as_str().to_owned()))
            }
            None => None,
        };
        Ok(Self {
            mode,
            client_id,
            client_secret,
            account_id,
        })
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

async fn note(state: &AppState, entry: Entry) {
    audit::record(&state.db, entry).await.ok();
}

/// The admin's Zoom page: settings (never the secret) and every active doctor's connection.
#[tracing::instrument(skip_all)]
pub async fn settings_view(state: &AppState) -> Result<ZoomSettingsView, AppError> {
    let db = &state.db;
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
    let licences = db
        .host_licences()
        .await
        .map_err(internal("loading Zoom licences"))?;
    let mut doctors: Vec<DoctorZoomRow> = db
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
            connection: connection_state(connections.iter().find(|c| c.user_id == doctor.id)),
            licence: licences
                .iter()
                .find(|(id, _)| *id == doctor.id)
                .map(|(_, l)| l.clone()),
            last_disconnect_failure: None,
        })
        .collect();
    for doctor in &mut doctors {
        doctor.last_disconnect_failure = last_disconnect_failure(state, doctor.id).await;
    }
    Ok(ZoomSettingsView {
        mode: settings.as_ref().map(|s| s.mode),
        client_id: settings
            .as_ref()
            .map(|s| s.client_id.clone())
            .unwrap_or_default(),
        account_id: settings.as_ref().and_then(|s| s.account_id.clone()),
        secret_set_at: settings.as_ref().map(|s| s.secret_set_at),
        redirect_url: state.settings.oauth_redirect_url(),
        doctors,
        webhook: crate::server::webhooks::view(state).await?,
    })
}

/// Saves the clinic's Zoom app settings; the secret is sealed before it reaches the store.
#[tracing::instrument(skip_all, fields(user_id = admin.id))]
pub async fn save_settings(
    state: &AppState,
    admin: &UserRecord,
    input: ZoomSettingsInput,
) -> Result<(), AppError> {
    let sealed = input.client_secret.map(|s| {
        state
            .keyring
            .seal(s.expose_secret(), Purpose::ZoomClientSecret, 1)
    });
    state
        .db
        .save_zoom_settings(
            input.mode,
            input.client_id.as_str(),
            sealed,
            input.account_id.as_ref().map(|a| a.as_str()),
            Some(admin.id),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                AppError::validation("client_secret", "Enter the client secret.")
            }
            other => internal("saving Zoom settings")(other),
        })?;
    let entry = Entry::new(
        Actor::User(admin.id),
        Action::ZoomSettings,
        "zoom",
        Outcome::Ok,
    )
    .detail(input.mode.as_str());
    note(state, entry).await;
    Ok(())
}

/// Calls Zoom now with the saved settings and says precisely what happened.
#[tracing::instrument(skip_all, fields(user_id = admin.id))]
pub async fn test_connection(state: &AppState, admin: &UserRecord) -> TestOutcome {
    let outcome = match state.video.test_connection().await {
        Ok(report) => TestOutcome::Connected {
            connected_as: report.connected_as,
            elapsed_ms: report.elapsed_ms,
            conflicts: preflight_all(state).await,
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
    let (result, detail) = match &outcome {
        TestOutcome::Connected { .. } => (Outcome::Ok, None),
        other => (Outcome::Failed, Some(other.describe())),
    };
    let mut entry = Entry::new(
        Actor::User(admin.id),
        Action::ZoomTestConnection,
        "zoom",
        result,
    );
    entry.detail = detail;
    note(state, entry).await;
    outcome
}

/// Sentences naming each conflict of a host's Zoom settings with the privacy contract, and
/// a Basic licence (40-minute meetings, no BAA).
fn conflict_lines(who: &str, report: &HostReport) -> Vec<String> {
    let mut lines: Vec<String> = report
        .conflicts
        .iter()
        .map(|s| {
            format!(
                "{who}: {} by default; every visit's meeting turns it off, and if the Zoom account locks it, visits are blocked until it is changed ({}).",
                s.problem(),
                s.fix()
            )
        })
        .collect();
    if report.licence == Licence::Basic {
        lines.push(format!(
            "{who}: the Zoom user is Basic (free): meetings end after 40 minutes and no BAA covers them; visits longer than 40 minutes are refused."
        ));
    }
    lines
}

/// The pre-flight of every active doctor who can host (connected, or mapped for
/// Server-to-Server): what their Zoom settings would do to a visit, before one is booked.
async fn preflight_all(state: &AppState) -> Vec<String> {
    let Ok(users) = state.db.list_users().await else {
        return vec!["The doctors could not be read; try again.".into()];
    };
    let mut lines = Vec::new();
    for doctor in users.iter().filter(|u| u.role == Role::Doctor && u.active) {
        let who = doctor
            .display_name
            .as_ref()
            .map(|n| n.to_string())
            .unwrap_or_else(|| doctor.email.to_string());
        match state.video.check_host(HostId(doctor.id)).await {
            Ok(report) => lines.extend(conflict_lines(&who, &report)),
            Err(ProviderError::NotConnected) => {}
            Err(error) => lines.push(format!("{who}: could not be checked ({error}).")),
        }
    }
    lines
}

/// The admin says the clinic's Zoom settings are fixed: every blocked visit is checked again
/// now (the worker also re-checks them on a timer).
#[tracing::instrument(skip_all, fields(user_id = admin.id))]
pub async fn recheck_blocked(state: &AppState, admin: &UserRecord) -> Result<u64, AppError> {
    let queued = state
        .db
        .recheck_blocked()
        .await
        .map_err(internal("queueing blocked meetings"))?;
    state.jobs_wake.notify_one();
    let entry = Entry::new(
        Actor::User(admin.id),
        Action::ZoomRecheck,
        "zoom",
        Outcome::Ok,
    )
    .detail(format!("{queued} blocked visit(s) queued"));
    note(state, entry).await;
    Ok(queued)
}

/// Server-to-Server: which Zoom user hosts a doctor's visits; `None` clears it.
#[tracing::instrument(skip_all, fields(user_id = admin.id, doctor_id))]
pub async fn map_doctor(
    state: &AppState,
    admin: &UserRecord,
    doctor_id: i64,
    zoom_user: Option<ZoomIdentifier>,
) -> Result<(), AppError> {
    let doctor = state
        .db
        .user_by_id(doctor_id)
        .await
        .map_err(internal("loading a doctor"))?
        .filter(|d| d.role == Role::Doctor)
        .ok_or_else(|| AppError::not_found("That doctor"))?;
    // Two doctors on one Zoom user could each start the other's meetings (the start link is
    // the host's): refused here, and by a unique index when two admins race.
    state
        .db
        .set_zoom_mapping(doctor.id, zoom_user.as_ref().map(|z| z.as_str()))
        .await
        .map_err(|e| match e {
            StoreError::Conflict(name) if name.contains("zoom_user_mappings") => {
                AppError::conflict(
                    "That Zoom user already hosts another doctor's visits. Each doctor needs \
                     their own Zoom user: each could otherwise start the other's meetings.",
                )
            }
            other => internal("saving a Zoom mapping")(other),
        })?;
    let detail = match &zoom_user {
        Some(z) => format!("doctor {} -> Zoom user {}", doctor.id, z.as_str()),
        None => format!("doctor {} -> no Zoom user", doctor.id),
    };
    let entry = Entry::new(
        Actor::User(admin.id),
        Action::ZoomMapDoctor,
        doctor.email.as_str(),
        Outcome::Ok,
    )
    .detail(detail);
    note(state, entry).await;
    Ok(())
}

/// The doctor's own connection, as stored (no call to Zoom).
#[tracing::instrument(skip_all, fields(user_id = doctor.id))]
pub async fn my_status(state: &AppState, doctor: &UserRecord) -> Result<MyZoomView, AppError> {
    let db = &state.db;
    let settings = db
        .zoom_settings()
        .await
        .map_err(internal("loading Zoom settings"))?;
    let connection = db
        .zoom_connection(doctor.id)
        .await
        .map_err(internal("loading a Zoom connection"))?;
    Ok(MyZoomView {
        mode: settings.map(|s| s.mode),
        connection: connection_state(connection.as_ref()),
        mapped_zoom_user: db
            .zoom_mapping(doctor.id)
            .await
            .map_err(internal("loading a Zoom mapping"))?,
    })
}

/// Asks Zoom now whether the doctor's connection works (renewing tokens if needed).
#[tracing::instrument(skip_all, fields(user_id = doctor.id))]
pub async fn check(state: &AppState, doctor: &UserRecord) -> Result<ZoomAccountView, AppError> {
    let report = state.video.check_host(HostId(doctor.id)).await?;
    Ok(ZoomAccountView {
        conflicts: conflict_lines("Your Zoom account", &report),
        licence: report.licence.as_str().to_owned(),
        zoom_user_id: report.account.provider_user_id,
        email: report.account.email,
    })
}

/// Revokes the doctor's grant at Zoom and deletes its tokens here. A revocation Zoom did not
/// confirm is recorded as failed, with the reason, and told to the doctor (and shown on the
/// admin's Zoom page): the grant may still live at Zoom.
#[tracing::instrument(skip_all, fields(user_id = doctor.id))]
pub async fn disconnect(
    state: &AppState,
    doctor: &UserRecord,
) -> Result<DisconnectReport, AppError> {
    let outcome = state.video.disconnect(HostId(doctor.id)).await?;
    let entry = |outcome| {
        Entry::new(
            Actor::User(doctor.id),
            Action::ZoomDisconnect,
            "zoom",
            outcome,
        )
    };
    let (entry, report) = match outcome {
        Disconnected::Revoked => (
            entry(Outcome::Ok),
            DisconnectReport {
                revoked: true,
                warning: None,
            },
        ),
        Disconnected::NothingToRevoke => (
            entry(Outcome::Ok).detail("nothing was connected"),
            DisconnectReport {
                revoked: true,
                warning: None,
            },
        ),
        Disconnected::NotRevoked(why) => (
            entry(Outcome::Failed).detail(why.clone()),
            DisconnectReport {
                revoked: false,
                warning: Some(format!(
                    "{why}. The connection is removed here; to be sure it has ended, remove the app in your Zoom account (App Marketplace, Manage, Added Apps)."
                )),
            },
        ),
    };
    note(state, entry).await;
    Ok(report)
}

/// The doctor's last disconnection, if Zoom did not confirm its revocation: its reason.
async fn last_disconnect_failure(state: &AppState, doctor: i64) -> Option<String> {
    let query = AuditQuery {
        actor_id: Some(doctor),
        action: Some(Action::ZoomDisconnect.as_str().to_owned()),
        limit: 1,
        ..AuditQuery::default()
    };
    match state.db.audit_entries(&query).await {
        Ok(entries) => entries
            .into_iter()
            .next()
            .filter(|e| e.outcome == Outcome::Failed.as_str())
            .map(|e| {
                e.detail
                    .unwrap_or_else(|| "Zoom did not confirm the revocation".into())
            }),
        Err(error) => {
            tracing::warn!(%error, "reading the last Zoom disconnection failed");
            None
        }
    }
}
