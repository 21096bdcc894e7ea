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
