//! Zoom as a `VideoProvider`: user-managed OAuth (each doctor connects their own Zoom user)
//! or Server-to-Server OAuth (one account token; the admin maps doctors to Zoom users).

pub mod api;
mod tokens;

use super::{
    ConnectionReport, CreatedMeeting, Disconnected, FoundMeeting, HostAccount, HostId,
    MeetingCheck, MeetingSpec, PasscodeRules, ProviderError, VideoProvider,
};
use crate::domain::ZoomConnectionMode;
use crate::server::crypto::{Keyring, Purpose};
use crate::server::persistence::{Db, NewConnection};
use api::{ClientCredentials, MeetingBody, MeetingSettings, ZoomApi, ZoomError};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Instant;

/// Scopes a Server-to-Server app needs, each as (classic, granular) alternatives.
const S2S_SCOPES: [(&str, &str); 3] = [
    ("meeting:write:admin", "meeting:write:meeting:admin"),
    ("meeting:read:admin", "meeting:read:meeting:admin"),
    ("user:read:admin", "user:read:user:admin"),
];

#[derive(Debug)]
pub struct ZoomProvider {
    db: Db,
    keyring: Arc<Keyring>,
    api: ZoomApi,
    tokens: tokens::TokenLocks,
}

pub(crate) struct AppSettings {
    pub mode: ZoomConnectionMode,
    pub creds: ClientCredentials,
    pub account_id: Option<String>,
}

impl From<ZoomError> for ProviderError {
    fn from(error: ZoomError) -> Self {
        match error {
            ZoomError::InvalidClient => ProviderError::BadCredentials,
            ZoomError::InvalidGrant(_) => ProviderError::ReconnectNeeded,
            ZoomError::InvalidToken => ProviderError::ReconnectNeeded,
            ZoomError::MissingScopes(message) => ProviderError::MissingScopes(vec![message]),
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
            .open(&row.client_secret_enc, Purpose::ZoomClientSecret)
            .map_err(store_error)?;
        Ok(AppSettings {
            mode: row.mode,
            creds: ClientCredentials {
                client_id: row.client_id,
                client_secret: secret,
            },
            account_id: row.account_id,
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
                let scope = self.account_token_scope(&settings).await?;
                let granted: Vec<&str> = scope.split_whitespace().collect();
                let missing: Vec<String> = S2S_SCOPES
                    .iter()
                    .filter(|(classic, granular)| {
                        !granted.contains(classic) && !granted.contains(granular)
                    })
                    .map(|(classic, _)| (*classic).to_owned())
                    .collect();
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
        let user = self.api.get_user(&grant.access_token, "me").await?;
        self.db
            .upsert_zoom_connection(NewConnection {
                user_id: host.0,
                zoom_user_id: &user.id,
                zoom_email: &user.email,
                access_token_enc: self
                    .keyring
                    .seal(grant.access_token.expose_secret(), Purpose::ZoomAccessToken),
                refresh_token_enc: self
                    .keyring
                    .seal(refresh.expose_secret(), Purpose::ZoomRefreshToken),
                access_expires_at: crate::server::persistence::now_unix() + grant.expires_in,
                scope: &grant.scope,
            })
            .await
            .map_err(store_error)?;
        Ok(HostAccount {
            provider_user_id: user.id,
            email: user.email,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn check_host(&self, host: HostId) -> Result<HostAccount, ProviderError> {
        let api = &self.api;
        let user = self
            .as_host(host, |token, zoom_user| async move {
                api.get_user(&token, &acting_user(zoom_user)).await
            })
            .await?;
        Ok(HostAccount {
            provider_user_id: user.id,
            email: user.email,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn disconnect(&self, host: HostId) -> Result<Disconnected, ProviderError> {
        let Some(row) = self.db.zoom_connection(host.0).await.map_err(store_error)? else {
            return Ok(Disconnected::NothingToRevoke);
        };
        // Revoke first, but forget the tokens whatever Zoom says: a copy we no longer hold
        // cannot leak, and the doctor asked for the connection to end.
        let outcome = match (
            self.settings().await,
            self.keyring
                .open(&row.refresh_token_enc, Purpose::ZoomRefreshToken),
        ) {
            (Ok(settings), Ok(refresh)) => match self.api.revoke(&settings.creds, &refresh).await {
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
        let settings = info.settings.clone().unwrap_or_default();
        let passcode_held = info.password.as_deref() == Some(spec.passcode.expose_secret());
        Ok(CreatedMeeting {
            meeting_id: info.id,
            uuid: info.uuid,
            join_url: SecretString::from(info.join_url.unwrap_or_default()),
            waiting_room: settings.waiting_room.unwrap_or(false),
            join_before_host: settings.join_before_host.unwrap_or(false),
            passcode_held,
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
                api.passcode_requirement(&token, &acting_user(zoom_user))
                    .await
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
        let info = self
            .as_host(host, |token, _| async move {
                api.get_meeting(&token, meeting_id).await
            })
            .await?;
        let settings = info.settings.unwrap_or_default();
        Ok(MeetingCheck {
            uuid: info.uuid,
            waiting_room: settings.waiting_room.unwrap_or(false),
            join_before_host: settings.join_before_host.unwrap_or(false),
            passcode_held: info.password.as_deref() == Some(passcode.expose_secret()),
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

fn meeting_body<'a>(spec: &'a MeetingSpec, start_time: &str) -> MeetingBody<'a> {
    MeetingBody {
        topic: &spec.topic,
        kind: 2,
        start_time: start_time.to_owned(),
        duration: spec.duration_minutes,
        timezone: &spec.time_zone,
        agenda: &spec.agenda,
        password: spec.passcode.expose_secret(),
        settings: MeetingSettings {
            waiting_room: true,
            join_before_host: false,
            approval_type: 2,
            meeting_authentication: false,
        },
    }
}
