//! What the Zoom pages and the Zoom server functions exchange. Secrets go in, never out:
//! views say only whether a secret is set and since when.

use crate::domain::ZoomConnectionMode;
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
    /// The doctor's Zoom licence as last read (`basic` or `licensed`), if known.
    pub licence: Option<String>,
    /// Why the doctor's last disconnection did not end the grant at Zoom, when it did not
    /// (the grant may still be alive there); `None` when the last one went well.
    #[serde(default)]
    pub last_disconnect_failure: Option<String>,
}

/// How a doctor's disconnection went. Our copy of the grant is gone in every case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisconnectReport {
    /// Zoom confirmed the revocation (or nothing was connected).
    pub revoked: bool,
    /// Why Zoom did not confirm it, when it did not: the grant may still be alive at Zoom.
    pub warning: Option<String>,
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
    /// Zoom's event notifications (webhooks).
    #[serde(default)]
    pub webhook: WebhookView,
}

/// The webhook endpoint as the admin sets it up in the Zoom app. The secret token goes in,
/// never out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    /// The event notification endpoint URL to enter in the Zoom app.
    pub endpoint_url: String,
    /// When the secret token was last set (Unix seconds).
    pub secret_set_at: Option<i64>,
    /// What the endpoint received, by kind (`accepted`, `duplicate`, `refused_signature`,
    /// `refused_stale`, `unknown_meeting`…), since the install.
    pub counters: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TestOutcome {
    Connected {
        connected_as: String,
        elapsed_ms: u64,
        /// Each doctor's Zoom defaults that conflict with the clinic's privacy contract, and
        /// Basic licences, as sentences; empty when all is well.
        conflicts: Vec<String>,
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
                conflicts,
            } => {
                let mut text = format!("Connected as {connected_as} ({elapsed_ms} ms).");
                if !conflicts.is_empty() {
                    text.push_str(" Conflicts with the clinic's privacy settings: ");
                    text.push_str(&conflicts.join(" "));
                }
                text
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
    /// `basic` or `licensed`.
    pub licence: String,
    /// The doctor's Zoom defaults that conflict with the clinic's privacy contract.
    pub conflicts: Vec<String>,
}
