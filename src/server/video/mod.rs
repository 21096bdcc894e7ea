//! The provider layer: what the app needs from a video service, independent of which one.
//! Zoom is the first backend (`zoom`); another would implement `VideoProvider` and be chosen
//! at startup, with no change to the server functions that call it.

pub mod contract;
pub mod zoom;

pub use contract::Safeguard;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

/// The app user a meeting belongs to (a doctor). The provider maps it to its own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostId(pub i64);

/// What the admin's "Test connection" reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionReport {
    /// Who the provider says we are, e.g. "account demo-account" or "client demo-oauth-client".
    pub connected_as: String,
    pub elapsed_ms: u64,
}

/// The provider account behind a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAccount {
    pub provider_user_id: String,
    pub email: String,
}

/// How the doctor wants a meeting to start: sent with every create and update, next to the
/// privacy contract (which these cannot touch: they are separate fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeetingPreferences {
    pub host_video: bool,
    pub participant_video: bool,
    pub mute_upon_entry: bool,
}

impl Default for MeetingPreferences {
    fn default() -> Self {
        Self {
            host_video: true,
            participant_video: true,
            mute_upon_entry: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct MeetingSpec {
    pub topic: String,
    /// Carries our marker so a meeting can be recognised after an unclear failure.
    pub agenda: String,
    pub start: DateTime<Utc>,
    pub duration_minutes: u32,
    pub time_zone: String,
    pub passcode: SecretString,
    pub preferences: MeetingPreferences,
}

#[derive(Debug, Clone)]
pub struct CreatedMeeting {
    pub meeting_id: i64,
    pub uuid: Option<String>,
    /// Contains the passcode: only for the patient, the doctor and admins.
    pub join_url: SecretString,
}

/// A host's passcode policy, as the provider states it. Generated passcodes must satisfy it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasscodeRules {
    pub min_length: u32,
    pub max_length: u32,
    pub letter: bool,
    pub number: bool,
    pub special: bool,
    pub upper_and_lower: bool,
    pub numeric_only: bool,
    /// Runs of this many consecutive characters ("1234", "abcd") are refused; 0 means none.
    pub no_sequences_of: u32,
    /// The special characters the provider accepts.
    pub specials: &'static str,
}

/// A meeting as the provider reports it now, read back to check that the privacy contract
/// held: the safeguards that did not, from the meeting and from its host's settings.
#[derive(Debug, Clone)]
pub struct MeetingCheck {
    pub uuid: Option<String>,
    pub broken: Vec<Safeguard>,
    /// The join link as it is now (Zoom may have changed the passcode or dropped it).
    pub join_url: SecretString,
    /// How the meeting starts as the provider reports it (an account lock may have kept
    /// another value than the one sent); `None` when the provider did not say.
    pub applied: Option<MeetingPreferences>,
}

/// The host's licence with the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Licence {
    /// Zoom Basic: meetings end after 40 minutes, and no BAA covers it.
    Basic,
    Licensed,
}

impl Licence {
    /// The longest visit this licence can hold, if limited.
    pub fn max_minutes(self) -> Option<u32> {
        match self {
            Licence::Basic => Some(40),
            Licence::Licensed => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Licence::Basic => "basic",
            Licence::Licensed => "licensed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "basic" => Some(Licence::Basic),
            "licensed" => Some(Licence::Licensed),
            _ => None,
        }
    }
}

/// What the host's own settings would do to a visit's meeting: read before any visit is
/// booked (the admin's and the doctor's connection checks).
#[derive(Debug, Clone)]
pub struct HostReport {
    pub account: HostAccount,
    pub licence: Licence,
    /// Defaults that differ from the contract. Each is overridden on every meeting; if the
    /// account locks one, that doctor's visits will be blocked until it is changed.
    pub conflicts: Vec<Safeguard>,
}

/// A meeting found by the marker in its agenda.
#[derive(Debug, Clone)]
pub struct FoundMeeting {
    pub meeting_id: i64,
    pub uuid: Option<String>,
    pub join_url: SecretString,
}

/// Why a provider call failed, in terms a caller can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the video provider is not configured")]
    NotConfigured,
    #[error("this doctor has no video account connected")]
    NotConnected,
    #[error("the connection was revoked or expired; the doctor must reconnect")]
    ReconnectNeeded,
    #[error("the provider refused the app credentials")]
    BadCredentials,
    #[error("the provider grant lacks scopes: {}", .0.join(", "))]
    MissingScopes(Vec<String>),
    #[error("not found at the provider")]
    NotFound,
    #[error("rate limited by the provider")]
    RateLimited {
        /// Unix time after which a retry makes sense, when the provider said.
        retry_at: Option<i64>,
        /// The per-host daily quota is exhausted (resets at 00:00 UTC for Zoom).
        daily: bool,
    },
    #[error("the provider refused the request: {0}")]
    Rejected(String),
    #[error("the provider is unreachable or failing: {0}")]
    Unavailable(String),
    /// The meeting is under way and cannot be deleted now.
    #[error("the meeting is in progress")]
    InProgress,
    /// The meeting has ended; the provider no longer lets it be deleted.
    #[error("the meeting has ended")]
    Ended,
}

impl ProviderError {
    /// Worth retrying later without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. } | ProviderError::Unavailable(_)
        )
    }
}

/// How a disconnection went at the provider. Our copy of the grant is gone in every case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnected {
    /// The provider revoked the grant.
    Revoked,
    /// Nothing was connected.
    NothingToRevoke,
    /// The provider could not be told; the grant may live on there until it expires or the
    /// doctor removes the app in their Zoom account. Carries the reason.
    NotRevoked(String),
}

/// What a person is told when a provider call fails on their behalf.
impl From<ProviderError> for crate::error::AppError {
    fn from(error: ProviderError) -> Self {
        use crate::error::AppError;
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
}

#[async_trait]
pub trait VideoProvider: Send + Sync + std::fmt::Debug + 'static {
    /// Checks the configured app credentials against the provider now.
    async fn test_connection(&self) -> Result<ConnectionReport, ProviderError>;

    /// The URL a doctor's browser is sent to for consent (user-level OAuth), or `None` when
    /// the provider is configured for account-level access and doctors need not connect.
    async fn authorization_url(
        &self,
        state: &str,
        code_challenge: &str,
        redirect_uri: &str,
    ) -> Result<Option<String>, ProviderError>;

    /// Exchanges the code from the consent redirect and stores the grant for `host`.
    async fn complete_connection(
        &self,
        host: HostId,
        code: &str,
        code_verifier: &SecretString,
        redirect_uri: &str,
    ) -> Result<HostAccount, ProviderError>;

    /// Confirms the host's connection works now (refreshing tokens if needed), and reads the
    /// host's licence and every default that conflicts with the privacy contract.
    async fn check_host(&self, host: HostId) -> Result<HostReport, ProviderError>;

    /// Revokes the host's grant at the provider and forgets it here, whatever the provider
    /// answers (a copy we no longer hold cannot leak); says whether the revocation took.
    async fn disconnect(&self, host: HostId) -> Result<Disconnected, ProviderError>;

    async fn create_meeting(
        &self,
        host: HostId,
        spec: &MeetingSpec,
    ) -> Result<CreatedMeeting, ProviderError>;

    async fn update_meeting(
        &self,
        host: HostId,
        meeting_id: i64,
        spec: &MeetingSpec,
    ) -> Result<(), ProviderError>;

    async fn delete_meeting(&self, host: HostId, meeting_id: i64) -> Result<(), ProviderError>;

    /// The host's passcode policy, for generating a passcode the provider will accept.
    async fn passcode_rules(&self, host: HostId) -> Result<PasscodeRules, ProviderError>;

    /// The host's upcoming meeting whose agenda carries `marker`, if any: how a create whose
    /// answer was lost is found instead of repeated.
    async fn find_meeting(
        &self,
        host: HostId,
        marker: &str,
    ) -> Result<Option<FoundMeeting>, ProviderError>;

    /// Reads the meeting (and its host's security settings) back and reports every safeguard
    /// of the privacy contract that did not hold.
    async fn check_meeting(
        &self,
        host: HostId,
        meeting_id: i64,
        passcode: &SecretString,
    ) -> Result<MeetingCheck, ProviderError>;

    /// A fresh host start link, fetched at the moment it is needed and never stored.
    async fn start_link(
        &self,
        host: HostId,
        meeting_id: i64,
    ) -> Result<SecretString, ProviderError>;
}
