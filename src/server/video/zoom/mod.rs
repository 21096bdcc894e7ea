//! Zoom as a `VideoProvider`: user-managed OAuth (each doctor connects their own Zoom user)
//! or Server-to-Server OAuth (one account token; the admin maps doctors to Zoom users).

pub mod api;
mod tokens;

use super::{
    ConnectionReport, CreatedMeeting, Disconnected, FoundMeeting, HostAccount, HostId, HostReport,
    Licence, MeetingCheck, MeetingPreferences, MeetingSpec, PasscodeRules, ProviderError,
    Safeguard, VideoProvider,
};
use crate::domain::ZoomConnectionMode;
use crate::server::crypto::{Keyring, Purpose};
use crate::server::persistence::{Db, NewConnection};
use api::{ClientCredentials, MeetingBody, MeetingInfo, UserSettings, ZoomApi, ZoomError};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Instant;

/// Every call the product makes, as the (classic, granular) scope that allows it for a
/// user-managed app; a Server-to-Server app needs the same with `:admin` appended. New Zoom
/// apps get granular scopes only; older ones keep classic names until migrated.
const NEEDED_SCOPES: [(&str, &str); 7] = [
    ("meeting:write", "meeting:write:meeting"),
    ("meeting:read", "meeting:read:meeting"),
    ("meeting:write", "meeting:update:meeting"),
    ("meeting:write", "meeting:delete:meeting"),
    ("meeting:read", "meeting:read:list_meetings"),
    ("user:read", "user:read:user"),
    ("user:read", "user:read:settings"),
];

/// The scopes `granted` lacks for the calls we make, named in the scheme the app uses: a
/// granular app is told granular names (`meeting:update:meeting:admin`), a classic one the
/// classic names.
pub fn missing_scopes(granted: &str, admin: bool) -> Vec<String> {
    let suffix = if admin { ":admin" } else { "" };
    let granted: Vec<&str> = granted.split_whitespace().collect();
    let granular_app = granted
        .iter()
        .any(|s| s.trim_end_matches(":admin").split(':').count() >= 3);
    let mut missing: Vec<String> = Vec::new();
    for (classic, granular) in NEEDED_SCOPES {
        let (classic, granular) = (format!("{classic}{suffix}"), format!("{granular}{suffix}"));
        if granted.contains(&classic.as_str()) || granted.contains(&granular.as_str()) {
            continue;
        }
        let name = if granular_app { granular } else { classic };
        if !missing.contains(&name) {
            missing.push(name);
        }
    }
    missing
}

#[derive(Debug)]
pub struct ZoomProvider {
    db: Db,
    keyring: Arc<Keyring>,
    api: ZoomApi,
    tokens: tokens::TokenLocks,
    /// How long a token refresh may hold the row (derived from the request timeout).
    lease_secs: i64,
}

pub(crate) struct AppSettings {
    pub mode: ZoomConnectionMode,
    pub creds: ClientCredentials,
    pub account_id: Option<String>,
    /// Which Zoom app the doctors' grants belong to (its client id); a grant stamped with
    /// another is of an app the clinic no longer uses.
    pub user_fp: String,
    /// Which credentials the account token comes from (client id, account id and the sealed
    /// secret, which changes whenever a secret is saved).
    pub account_fp: String,
}

/// A short, non-secret fingerprint of `parts`.
fn fingerprint(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl From<ZoomError> for ProviderError {
    fn from(error: ZoomError) -> Self {
        match error {
            ZoomError::InvalidClient => ProviderError::BadCredentials,
            ZoomError::InvalidGrant(_) => ProviderError::ReconnectNeeded,
            ZoomError::InvalidToken => ProviderError::ReconnectNeeded,
            ZoomError::MissingScopes(names) => {
                ProviderError::MissingScopes(names.split_whitespace().map(str::to_owned).collect())
            }
            ZoomError::InProgress => ProviderError::InProgress,
            ZoomError::Ended => ProviderError::Ended,
            ZoomError::NotFound { .. } => ProviderError::NotFound,
            ZoomError::RateLimited { retry_at, daily } => {
                ProviderError::RateLimited { retry_at, daily }
            }
            ZoomError::Rejected { message, code, .. } => {
                ProviderError::Rejected(format!("Zoom code {code}: {message}"))
            }
            ZoomError::Unavailable(detail) => ProviderError::Unavailable(detail),
        }
    }
}

fn store_error(error: impl std::fmt::Display) -> ProviderError {
    tracing::error!(%error, "zoom provider storage failure");
    ProviderError::Unavailable("internal storage error".into())
}

impl ZoomProvider {
    pub fn new(
        db: Db,
        keyring: Arc<Keyring>,
        oauth_base: &str,
        api_base: &str,
        timeout: std::time::Duration,
    ) -> Self {
        Self {
            db,
            keyring,
            api: ZoomApi::new(oauth_base, api_base, timeout),
            tokens: tokens::TokenLocks::default(),
            lease_secs: tokens::refresh_lease_secs(timeout),
        }
    }

    pub(crate) async fn settings(&self) -> Result<AppSettings, ProviderError> {
        let row = self
            .db
            .zoom_settings()
            .await
            .map_err(store_error)?
            .ok_or(ProviderError::NotConfigured)?;
        let secret = self
            .keyring
            .open(&row.client_secret_enc, Purpose::ZoomClientSecret, 1)
            .map_err(store_error)?;
        let user_fp = fingerprint(&["user", &row.client_id]);
        let account_fp = fingerprint(&[
            "account",
            row.mode.as_str(),
            &row.client_id,
            row.account_id.as_deref().unwrap_or_default(),
            &row.client_secret_enc,
        ]);
        Ok(AppSettings {
            mode: row.mode,
            creds: ClientCredentials {
                client_id: row.client_id,
                client_secret: secret,
            },
            account_id: row.account_id,
            user_fp,
            account_fp,
        })
    }

    /// Runs `call` with a valid token for `host` and the Zoom user to act as. A token Zoom
    /// rejects (401/124) is renewed once and the call retried once.
    #[tracing::instrument(skip_all)]
    async fn as_host<T, F, Fut>(&self, host: HostId, call: F) -> Result<T, ProviderError>
    where
        F: Fn(SecretString, String) -> Fut,
        Fut: std::future::Future<Output = Result<T, ZoomError>>,
    {
        let settings = self.settings().await?;
        let (token, version, zoom_user) = self.host_token(&settings, host, None).await?;
        match call(token, zoom_user).await {
            Err(ZoomError::InvalidToken) => {
                tracing::info!(
                    host = host.0,
                    "Zoom rejected the access token; renewing once"
                );
                let (token, _, zoom_user) = self.host_token(&settings, host, Some(version)).await?;
                call(token, zoom_user).await.map_err(ProviderError::from)
            }
            other => other.map_err(ProviderError::from),
        }
    }

    #[tracing::instrument(skip_all)]
    async fn host_token(
        &self,
        settings: &AppSettings,
        host: HostId,
        rejected_version: Option<i64>,
    ) -> Result<(SecretString, i64, String), ProviderError> {
        match settings.mode {
            ZoomConnectionMode::UserOauth => {
                self.user_token(settings, host, rejected_version).await
            }
            ZoomConnectionMode::ServerToServer => {
                let zoom_user = self
                    .db
                    .zoom_mapping(host.0)
                    .await
                    .map_err(store_error)?
                    .ok_or(ProviderError::NotConnected)?;
                let (token, version) = self.account_token(settings, rejected_version).await?;
                Ok((token, version, zoom_user))
            }
        }
    }
}

#[async_trait]
impl VideoProvider for ZoomProvider {
    #[tracing::instrument(skip_all)]
    async fn test_connection(&self) -> Result<ConnectionReport, ProviderError> {
        let started = Instant::now();
        let settings = self.settings().await?;
        let connected_as = match settings.mode {
            ZoomConnectionMode::UserOauth => {
                // Any loopback redirect is fine for the probe: it is refused before it matters.
                self.api
                    .probe_client(&settings.creds, "http://127.0.0.1/telehealth-probe")
                    .await?;
                format!("OAuth app {}", settings.creds.client_id)
            }
            ZoomConnectionMode::ServerToServer => {
                let scope = self.fresh_account_token_scope(&settings).await?;
                let missing = missing_scopes(&scope, true);
                if !missing.is_empty() {
                    return Err(ProviderError::MissingScopes(missing));
                }
                format!("account {}", settings.account_id.unwrap_or_default())
            }
        };
        Ok(ConnectionReport {
            connected_as,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn authorization_url(
        &self,
        state: &str,
        code_challenge: &str,
        redirect_uri: &str,
    ) -> Result<Option<String>, ProviderError> {
        let settings = self.settings().await?;
        Ok(match settings.mode {
            ZoomConnectionMode::UserOauth => Some(self.api.authorize_url(
                &settings.creds.client_id,
                redirect_uri,
                state,
                code_challenge,
            )),
            ZoomConnectionMode::ServerToServer => None,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn complete_connection(
        &self,
        host: HostId,
        code: &str,
        code_verifier: &SecretString,
        redirect_uri: &str,
    ) -> Result<HostAccount, ProviderError> {
        let settings = self.settings().await?;
        let grant = self
            .api
            .exchange_code(&settings.creds, code, redirect_uri, code_verifier)
            .await
            .map_err(|e| match e {
                // A refused code is not a broken connection: the doctor simply tries again.
                ZoomError::InvalidGrant(reason) => {
                    ProviderError::Rejected(format!("authorization refused: {reason}"))
                }
                other => other.into(),
            })?;
        let refresh = grant
            .refresh_token
            .ok_or_else(|| ProviderError::Unavailable("Zoom issued no refresh token".into()))?;
        // A grant that cannot do everything visits need is refused now, naming what the
        // clinic's Zoom app must add, rather than failing at the first visit.
        let missing = missing_scopes(&grant.scope, false);
        if !missing.is_empty() {
            if let Err(error) = self.api.revoke(&settings.creds, &grant.access_token).await {
                tracing::warn!(%error, "revoking an under-scoped grant failed");
            }
            return Err(ProviderError::MissingScopes(missing));
        }
        let user = self.api.get_user(&grant.access_token, "me").await?;
        self.db
            .upsert_zoom_connection(NewConnection {
                user_id: host.0,
                zoom_user_id: &user.id,
                zoom_email: &user.email,
                access_token_enc: self.keyring.seal(
                    grant.access_token.expose_secret(),
                    Purpose::ZoomAccessToken,
                    host.0,
                ),
                refresh_token_enc: self.keyring.seal(
                    refresh.expose_secret(),
                    Purpose::ZoomRefreshToken,
                    host.0,
                ),
                access_expires_at: crate::server::persistence::now_unix() + grant.expires_in,
                scope: &grant.scope,
                settings_fp: Some(&settings.user_fp),
            })
            .await
            .map_err(store_error)?;
        self.db
            .record_host_licence(host.0, licence_of(&user).as_str())
            .await
            .map_err(store_error)?;
        Ok(HostAccount {
            provider_user_id: user.id,
            email: user.email,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn check_host(&self, host: HostId) -> Result<HostReport, ProviderError> {
        let api = &self.api;
        let (user, settings) = self
            .as_host(host, |token, zoom_user| async move {
                let who = acting_user(zoom_user);
                let user = api.get_user(&token, &who).await?;
                let settings = api.user_settings(&token, &who, false).await?;
                Ok((user, settings))
            })
            .await?;
        let licence = licence_of(&user);
        self.db
            .record_host_licence(host.0, licence.as_str())
            .await
            .map_err(store_error)?;
        Ok(HostReport {
            account: HostAccount {
                provider_user_id: user.id,
                email: user.email,
            },
            licence,
            conflicts: host_conflicts(&settings),
        })
    }

    #[tracing::instrument(skip_all)]
    async fn disconnect(&self, host: HostId) -> Result<Disconnected, ProviderError> {
        let Some(row) = self.db.zoom_connection(host.0).await.map_err(store_error)? else {
            return Ok(Disconnected::NothingToRevoke);
        };
        // Revoke first, but forget the tokens whatever Zoom says: a copy we no longer hold
        // cannot leak, and the doctor asked for the connection to end. Zoom's revoke takes
        // the access token (`token=<access_token>`, shared/zoom/FACTS.md §1 "Revoke") and ends the grant.
        let outcome = match (
            self.settings().await,
            self.keyring
                .open(&row.access_token_enc, Purpose::ZoomAccessToken, host.0),
        ) {
            (Ok(settings), Ok(access)) => match self.api.revoke(&settings.creds, &access).await {
                Ok(()) => Disconnected::Revoked,
                Err(error) => {
                    tracing::warn!(host = host.0, %error, "revoking the Zoom grant failed; deleting it here anyway");
                    Disconnected::NotRevoked(format!(
                        "Zoom did not confirm the revocation: {error}"
                    ))
                }
            },
            _ => {
                tracing::warn!(
                    host = host.0,
                    "could not revoke the Zoom grant; deleting it here anyway"
                );
                Disconnected::NotRevoked("the stored grant could not be read".into())
            }
        };
        self.db
            .delete_zoom_connection(host.0)
            .await
            .map_err(store_error)?;
        Ok(outcome)
    }

    #[tracing::instrument(skip_all)]
    async fn create_meeting(
        &self,
        host: HostId,
        spec: &MeetingSpec,
    ) -> Result<CreatedMeeting, ProviderError> {
        let api = &self.api;
        let start_time = api::format_start_time(spec.start);
        let info = self
            .as_host(host, |token, zoom_user| {
                let start_time = start_time.clone();
                async move {
                    let body = meeting_body(spec, &start_time);
                    api.create_meeting(&token, &acting_user(zoom_user), &body)
                        .await
                }
            })
            .await?;
        Ok(CreatedMeeting {
            meeting_id: info.id,
            uuid: info.uuid,
            join_url: SecretString::from(info.join_url.unwrap_or_default()),
        })
    }

    #[tracing::instrument(skip_all)]
    async fn update_meeting(
        &self,
        host: HostId,
        meeting_id: i64,
        spec: &MeetingSpec,
    ) -> Result<(), ProviderError> {
        let api = &self.api;
        let start_time = api::format_start_time(spec.start);
        self.as_host(host, |token, _| {
            let start_time = start_time.clone();
            async move {
                api.update_meeting(&token, meeting_id, &meeting_body(spec, &start_time))
                    .await
            }
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn delete_meeting(&self, host: HostId, meeting_id: i64) -> Result<(), ProviderError> {
        let api = &self.api;
        self.as_host(host, |token, _| async move {
            api.delete_meeting(&token, meeting_id).await
        })
        .await
    }

    #[tracing::instrument(skip_all)]
    async fn passcode_rules(&self, host: HostId) -> Result<PasscodeRules, ProviderError> {
        let api = &self.api;
        let rule = self
            .as_host(host, |token, zoom_user| async move {
                let who = acting_user(zoom_user);
                let security = api.user_settings(&token, &who, true).await?;
                match security
                    .meeting_security
                    .and_then(|s| s.meeting_password_requirement)
                {
                    Some(rule) => Ok(rule),
                    // Older accounts report the policy only in the full settings.
                    None => Ok(api
                        .user_settings(&token, &who, false)
                        .await?
                        .schedule_meeting
                        .and_then(|s| s.meeting_password_requirement)
                        .unwrap_or_default()),
                }
            })
            .await?;
        Ok(PasscodeRules {
            min_length: rule.length,
            max_length: api::PASSCODE_MAX_LEN,
            letter: rule.have_letter,
            number: rule.have_number,
            special: rule.have_special_character,
            upper_and_lower: rule.have_upper_and_lower_characters,
            numeric_only: rule.only_allow_numeric,
            no_sequences_of: rule.consecutive_characters_length,
            specials: api::PASSCODE_SPECIALS,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn find_meeting(
        &self,
        host: HostId,
        marker: &str,
    ) -> Result<Option<FoundMeeting>, ProviderError> {
        let api = &self.api;
        let meetings = self
            .as_host(host, |token, zoom_user| async move {
                api.list_meetings(&token, &acting_user(zoom_user)).await
            })
            .await?;
        Ok(meetings
            .into_iter()
            .find(|m| m.agenda.as_deref().is_some_and(|a| a.contains(marker)))
            .map(|m| FoundMeeting {
                meeting_id: m.id,
                uuid: m.uuid,
                join_url: SecretString::from(m.join_url.unwrap_or_default()),
            }))
    }

    #[tracing::instrument(skip_all)]
    async fn check_meeting(
        &self,
        host: HostId,
        meeting_id: i64,
        passcode: &SecretString,
    ) -> Result<MeetingCheck, ProviderError> {
        let api = &self.api;
        let (info, security) = self
            .as_host(host, |token, zoom_user| async move {
                let info = api.get_meeting(&token, meeting_id).await?;
                let security = api
                    .user_settings(&token, &acting_user(zoom_user), true)
                    .await?;
                Ok((info, security))
            })
            .await?;
        let broken = contract_breaks(&info, &security, passcode);
        let applied = info.settings.as_ref().and_then(|s| {
            Some(MeetingPreferences {
                host_video: s.host_video?,
                participant_video: s.participant_video?,
                mute_upon_entry: s.mute_upon_entry?,
            })
        });
        Ok(MeetingCheck {
            uuid: info.uuid,
            broken,
            join_url: SecretString::from(info.join_url.unwrap_or_default()),
            applied,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn start_link(
        &self,
        host: HostId,
        meeting_id: i64,
    ) -> Result<SecretString, ProviderError> {
        let api = &self.api;
        let info = self
            .as_host(host, |token, _| async move {
                api.get_meeting(&token, meeting_id).await
            })
            .await?;
        info.start_url
            .map(SecretString::from)
            .ok_or_else(|| ProviderError::Unavailable("Zoom returned no start link".into()))
    }
}

/// The Zoom user a call acts as: the mapped user (Server-to-Server) or the token's own.
fn acting_user(zoom_user: String) -> String {
    if zoom_user.is_empty() {
        "me".to_owned()
    } else {
        zoom_user
    }
}

fn licence_of(user: &api::ZoomUser) -> Licence {
    match user.user_type {
        Some(1) => Licence::Basic,
        _ => Licence::Licensed,
    }
}

/// The safeguards a read-back meeting breaks. A field Zoom leaves out is not taken as
/// broken (older accounts lack the newer fields), except the ones patients depend on.
fn contract_breaks(
    info: &MeetingInfo,
    host: &UserSettings,
    passcode: &SecretString,
) -> Vec<Safeguard> {
    let s = info.settings.clone().unwrap_or_default();
    let c = &api::CONTRACT;
    let security = host.meeting_security.clone().unwrap_or_default();
    let join_url = info.join_url.as_deref().unwrap_or_default();
    let differs = |value: Option<bool>, wanted: bool| value.is_some_and(|v| v != wanted);
    let checks = [
        (
            Safeguard::NoRecording,
            s.auto_recording
                .as_deref()
                .is_some_and(|r| r != c.auto_recording),
        ),
        (
            Safeguard::NoAiSummary,
            differs(s.auto_start_meeting_summary, c.auto_start_meeting_summary),
        ),
        (
            Safeguard::NoAiQuestions,
            differs(
                s.auto_start_ai_companion_questions,
                c.auto_start_ai_companion_questions,
            ),
        ),
        (Safeguard::WaitingRoom, s.waiting_room != Some(true)),
        (Safeguard::HostFirst, s.join_before_host == Some(true)),
        (
            Safeguard::OurPasscode,
            info.password.as_deref() != Some(passcode.expose_secret()),
        ),
        (
            Safeguard::PasscodeInLink,
            !join_url.contains("pwd=") || security.embed_password_in_join_link == Some(false),
        ),
        // The host's `encryption_type` is only the default for new meetings; ours says
        // enhanced, so the meeting's own value is what counts.
        (
            Safeguard::BrowserJoinable,
            s.encryption_type.as_deref() == Some("e2ee"),
        ),
        (
            Safeguard::NoSignIn,
            s.meeting_authentication == Some(true)
                || security.only_authenticated_can_join_from_webclient == Some(true),
        ),
        (
            Safeguard::NoRegistration,
            s.approval_type
                .is_some_and(|a| a != i64::from(c.approval_type)),
        ),
        (
            Safeguard::NoPersistentChat,
            differs(
                s.continuous_meeting_chat.and_then(|c| c.enable),
                c.continuous_meeting_chat.enable,
            ),
        ),
        (Safeguard::NoPersonalRoom, s.use_pmi == Some(true)),
    ];
    checks
        .into_iter()
        .filter(|(_, broken)| *broken)
        .map(|(safeguard, _)| safeguard)
        .collect()
}

/// The host's defaults that differ from the contract (pre-flight, before any visit).
fn host_conflicts(settings: &UserSettings) -> Vec<Safeguard> {
    let schedule = settings.schedule_meeting.clone().unwrap_or_default();
    let in_meeting = settings.in_meeting.clone().unwrap_or_default();
    let recording = settings.recording.clone().unwrap_or_default();
    let security = settings.meeting_security.clone().unwrap_or_default();
    let checks = [
        (
            Safeguard::NoRecording,
            recording
                .auto_recording
                .as_deref()
                .is_some_and(|r| r != "none"),
        ),
        (
            Safeguard::NoAiSummary,
            in_meeting.auto_start_meeting_summary == Some(true),
        ),
        (
            Safeguard::NoAiQuestions,
            in_meeting.auto_start_ai_companion_questions == Some(true),
        ),
        (
            Safeguard::WaitingRoom,
            security.waiting_room.or(in_meeting.waiting_room) == Some(false),
        ),
        (
            Safeguard::PasscodeInLink,
            security
                .embed_password_in_join_link
                .or(schedule.embed_password_in_join_link)
                == Some(false),
        ),
        (
            Safeguard::BrowserJoinable,
            security.encryption_type.as_deref() == Some("e2ee")
                || in_meeting.e2e_encryption == Some(true),
        ),
        (
            Safeguard::NoSignIn,
            security.only_authenticated_can_join_from_webclient == Some(true),
        ),
        (
            Safeguard::NoPersistentChat,
            schedule.continuous_meeting_chat.and_then(|c| c.enable) == Some(true),
        ),
        (
            Safeguard::NoPersonalRoom,
            schedule.use_pmi_for_scheduled_meetings == Some(true),
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, broken)| *broken)
        .map(|(safeguard, _)| safeguard)
        .collect()
}

fn meeting_body<'a>(spec: &'a MeetingSpec, start_time: &str) -> MeetingBody<'a> {
    MeetingBody {
        topic: &spec.topic,
        kind: 2,
        start_time: start_time.to_owned(),
        duration: spec.duration_minutes,
        timezone: &spec.time_zone,
        agenda: &spec.agenda,
        password: spec.passcode.expose_secret(),
        settings: api::SentSettings {
            contract: &api::CONTRACT,
            host_video: spec.preferences.host_video,
            participant_video: spec.preferences.participant_video,
            mute_upon_entry: spec.preferences.mute_upon_entry,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::missing_scopes;

    #[test]
    fn missing_scopes_are_named_in_the_apps_own_scheme() {
        let classic = "meeting:write:admin meeting:read:admin user:read:admin";
        assert!(missing_scopes(classic, true).is_empty());
        let granular = "meeting:write:meeting:admin meeting:read:meeting:admin \
            meeting:delete:meeting:admin meeting:read:list_meetings:admin \
            user:read:user:admin user:read:settings:admin";
        assert_eq!(
            missing_scopes(granular, true),
            ["meeting:update:meeting:admin"]
        );
        assert_eq!(
            missing_scopes("meeting:write meeting:read", false),
            ["user:read"]
        );
    }
}
