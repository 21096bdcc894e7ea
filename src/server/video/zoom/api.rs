//! Zoom's HTTP endpoints, one small client: OAuth at `ZOOM_OAUTH_BASE_URL`, REST at
//! `ZOOM_API_BASE_URL`. It knows request and response shapes and turns Zoom's error answers
//! into `ZoomError`; it knows nothing about our database or token storage.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoomError {
    #[error("invalid client credentials")]
    InvalidClient,
    #[error("invalid grant: {0}")]
    InvalidGrant(String),
    /// 401 with code 124: expired, revoked or otherwise unusable access token.
    #[error("invalid access token")]
    InvalidToken,
    #[error("missing scopes: {0}")]
    MissingScopes(String),
    #[error("not found (code {code}): {message}")]
    NotFound { code: i64, message: String },
    #[error("rate limited")]
    RateLimited { retry_at: Option<i64>, daily: bool },
    #[error("rejected ({status}, code {code}): {message}")]
    Rejected {
        status: u16,
        code: i64,
        message: String,
    },
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 3002: the meeting is in progress (cannot be deleted now).
    #[error("meeting in progress")]
    InProgress,
    /// 3007: the meeting has ended (cannot be deleted any more).
    #[error("meeting has ended")]
    Ended,
}

/// The scope names in Zoom's "does not contain scopes:[a, b]" message, or the message itself.
pub fn missing_scopes(message: &str) -> Vec<String> {
    let listed = message
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(inside, _)| inside);
    match listed {
        Some(inside) => inside
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => vec![message.to_owned()],
    }
}

pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

impl ClientCredentials {
    fn basic(&self) -> String {
        let raw = format!("{}:{}", self.client_id, self.client_secret.expose_secret());
        format!("Basic {}", STANDARD.encode(raw))
    }
}

/// Tokens as Zoom issues them. Deliberately not `Serialize` or `Debug`-printable.
pub struct TokenGrant {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in: i64,
    pub scope: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: i64,
    #[serde(default)]
    scope: String,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct ApiErrorBody {
    code: Option<i64>,
    message: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ZoomUser {
    pub id: String,
    pub email: String,
    #[serde(default)]
    pub account_id: Option<String>,
    /// 1 Basic, 2 Licensed (older accounts also report 3 "On-prem"; treated as licensed).
    #[serde(default, rename = "type")]
    pub user_type: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct PasscodeRequirement {
    #[serde(default)]
    pub length: u32,
    #[serde(default)]
    pub have_letter: bool,
    #[serde(default)]
    pub have_number: bool,
    #[serde(default)]
    pub have_special_character: bool,
    #[serde(default)]
    pub have_upper_and_lower_characters: bool,
    #[serde(default)]
    pub only_allow_numeric: bool,
    #[serde(default)]
    pub consecutive_characters_length: u32,
}

/// `GET /users/{id}/settings`, the parts the privacy contract cares about. Every field is
/// optional: Zoom leaves out groups an app may not read, and newer fields are missing from
/// older accounts.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserSettings {
    #[serde(default)]
    pub schedule_meeting: Option<ScheduleMeeting>,
    #[serde(default)]
    pub in_meeting: Option<InMeeting>,
    #[serde(default)]
    pub recording: Option<Recording>,
    #[serde(default)]
    pub meeting_security: Option<MeetingSecurity>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScheduleMeeting {
    #[serde(default)]
    pub meeting_password_requirement: Option<PasscodeRequirement>,
    #[serde(default)]
    pub embed_password_in_join_link: Option<bool>,
    #[serde(default)]
    pub continuous_meeting_chat: Option<Enable>,
    #[serde(default)]
    pub use_pmi_for_scheduled_meetings: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Enable {
    #[serde(default)]
    pub enable: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InMeeting {
    #[serde(default)]
    pub waiting_room: Option<bool>,
    #[serde(default)]
    pub e2e_encryption: Option<bool>,
    #[serde(default)]
    pub auto_start_meeting_summary: Option<bool>,
    #[serde(default)]
    pub auto_start_ai_companion_questions: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Recording {
    #[serde(default)]
    pub auto_recording: Option<String>,
}

/// `?option=meeting_security`: one call that carries the passcode policy and the settings
/// that decide whether a patient can join from a link.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MeetingSecurity {
    #[serde(default)]
    pub embed_password_in_join_link: Option<bool>,
    #[serde(default)]
    pub encryption_type: Option<String>,
    #[serde(default)]
    pub waiting_room: Option<bool>,
    #[serde(default)]
    pub only_authenticated_can_join_from_webclient: Option<bool>,
    #[serde(default)]
    pub meeting_password_requirement: Option<PasscodeRequirement>,
}

#[derive(Serialize)]
pub struct MeetingBody<'a> {
    pub topic: &'a str,
    #[serde(rename = "type")]
    pub kind: u8,
    /// Always UTC with `Z`: unambiguous whatever the account's time zone.
    pub start_time: String,
    pub duration: u32,
    pub timezone: &'a str,
    pub agenda: &'a str,
    pub password: &'a str,
    pub settings: SentSettings<'a>,
}

/// What goes in `settings`: the whole contract, plus how the doctor wants the meeting to
/// start. The doctor's fields are distinct from every contract field, so no preference can
/// reach recording, AI Companion, the waiting room, the passcode or join before host.
#[derive(Debug, Serialize)]
pub struct SentSettings<'a> {
    #[serde(flatten)]
    pub contract: &'a MeetingSettings,
    pub host_video: bool,
    pub participant_video: bool,
    pub mute_upon_entry: bool,
}

/// The privacy contract in Zoom's field names (sources in docs/ZOOM.md). Sent whole on every
/// create and update: since 2026-03-15 Zoom fills each omitted field from the host's own
/// defaults, which may record, summarise or lock out patients.
#[derive(Debug, Serialize)]
pub struct MeetingSettings {
    pub waiting_room: bool,
    pub join_before_host: bool,
    /// 2: no registration.
    pub approval_type: u8,
    /// Patients have no Zoom accounts; the waiting room and our login-gated join page are
    /// the access control.
    pub meeting_authentication: bool,
    pub auto_recording: &'static str,
    pub encryption_type: &'static str,
    pub auto_start_meeting_summary: bool,
    pub auto_start_ai_companion_questions: bool,
    /// 1: only the host, should a summary ever be started by hand.
    pub who_will_receive_summary: u8,
    pub continuous_meeting_chat: ContinuousChat,
    /// Hides the topic on shared calendars.
    pub private_meeting: bool,
    /// A personal meeting ID would make every visit the same room.
    pub use_pmi: bool,
    /// No mails from Zoom to alternative hosts about the visit.
    pub email_notification: bool,
}

#[derive(Debug, Serialize)]
pub struct ContinuousChat {
    pub enable: bool,
}

/// The contract's values. `check_contract` compares a read-back meeting against the same.
pub const CONTRACT: MeetingSettings = MeetingSettings {
    waiting_room: true,
    join_before_host: false,
    approval_type: 2,
    meeting_authentication: false,
    auto_recording: "none",
    encryption_type: "enhanced_encryption",
    auto_start_meeting_summary: false,
    auto_start_ai_companion_questions: false,
    who_will_receive_summary: 1,
    continuous_meeting_chat: ContinuousChat { enable: false },
    private_meeting: true,
    use_pmi: false,
    email_notification: false,
};

/// A meeting as Zoom describes it. Its join and start links and passcode are secrets (the
/// start link logs anyone in as the host), so its `Debug` shows only whether they are present.
#[derive(Clone, Deserialize)]
pub struct MeetingInfo {
    pub id: i64,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default)]
    pub join_url: Option<String>,
    #[serde(default)]
    pub start_url: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub agenda: Option<String>,
    #[serde(default)]
    pub settings: Option<MeetingInfoSettings>,
}

impl std::fmt::Debug for MeetingInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |value: &Option<String>| value.as_ref().map(|_| "<redacted>");
        f.debug_struct("MeetingInfo")
            .field("id", &self.id)
            .field("uuid", &self.uuid)
            .field("join_url", &redacted(&self.join_url))
            .field("start_url", &redacted(&self.start_url))
            .field("password", &redacted(&self.password))
            .field("agenda", &self.agenda)
            .field("settings", &self.settings)
            .finish()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MeetingInfoSettings {
    #[serde(default)]
    pub waiting_room: Option<bool>,
    #[serde(default)]
    pub join_before_host: Option<bool>,
    #[serde(default)]
    pub approval_type: Option<i64>,
    #[serde(default)]
    pub meeting_authentication: Option<bool>,
    #[serde(default)]
    pub auto_recording: Option<String>,
    #[serde(default)]
    pub encryption_type: Option<String>,
    #[serde(default)]
    pub auto_start_meeting_summary: Option<bool>,
    #[serde(default)]
    pub auto_start_ai_companion_questions: Option<bool>,
    #[serde(default)]
    pub continuous_meeting_chat: Option<Enable>,
    #[serde(default)]
    pub use_pmi: Option<bool>,
    #[serde(default)]
    pub host_video: Option<bool>,
    #[serde(default)]
    pub participant_video: Option<bool>,
    #[serde(default)]
    pub mute_upon_entry: Option<bool>,
}

#[derive(Deserialize)]
struct MeetingList {
    #[serde(default)]
    meetings: Vec<MeetingInfo>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// Zoom's passcode limits: "maximum length of 10 characters", letters, digits and these.
pub const PASSCODE_MAX_LEN: u32 = 10;
pub const PASSCODE_SPECIALS: &str = "@-_*";

pub fn format_start_time(start: DateTime<Utc>) -> String {
    start.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Clone, Debug)]
pub struct ZoomApi {
    http: reqwest::Client,
    oauth_base: String,
    api_base: String,
}

impl ZoomApi {
    pub fn new(oauth_base: &str, api_base: &str, timeout: Duration) -> Self {
        // Redirects off: a token request that is redirected must fail, not be replayed with
        // our credentials elsewhere. Timeouts bound how long a visit waits on Zoom.
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout)
            .user_agent(concat!("telehealth/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client configuration is valid");
        Self {
            http,
            oauth_base: oauth_base.trim_end_matches('/').to_owned(),
            api_base: api_base.trim_end_matches('/').to_owned(),
        }
    }

    pub fn authorize_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
        state: &str,
        code_challenge: &str,
    ) -> String {
        let mut url = reqwest::Url::parse(&format!("{}/oauth/authorize", self.oauth_base))
            .expect("the OAuth base URL was validated at startup");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("code_challenge", code_challenge)
            // Zoom defaults to `plain` when the method is omitted.
            .append_pair("code_challenge_method", "S256");
        url.into()
    }

    #[tracing::instrument(skip_all)]
    async fn token_request(
        &self,
        creds: &ClientCredentials,
        form: &[(&str, &str)],
    ) -> Result<TokenGrant, ZoomError> {
        let response = self
            .http
            .post(format!("{}/oauth/token", self.oauth_base))
            .header(reqwest::header::AUTHORIZATION, creds.basic())
            .form(form)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if status.is_success() {
            let body: TokenResponse = response
                .json()
                .await
                .map_err(|e| ZoomError::Unavailable(format!("token response: {e}")))?;
            return Ok(TokenGrant {
                access_token: SecretString::from(body.access_token),
                refresh_token: body.refresh_token.map(SecretString::from),
                expires_in: body.expires_in,
                scope: body.scope,
            });
        }
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(api_error(response).await);
        }
        let body: OAuthErrorBody = response.json().await.unwrap_or(OAuthErrorBody {
            error: None,
            reason: None,
        });
        let reason = body.reason.unwrap_or_default();
        Err(match (status, body.error.as_deref()) {
            (StatusCode::UNAUTHORIZED, _) | (_, Some("invalid_client")) => ZoomError::InvalidClient,
            (_, Some("invalid_grant")) | (_, Some("invalid_request")) => {
                ZoomError::InvalidGrant(reason)
            }
            (_, error) => ZoomError::Rejected {
                status: status.as_u16(),
                code: 0,
                message: format!("{}: {reason}", error.unwrap_or("oauth error")),
            },
        })
    }

    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        creds: &ClientCredentials,
        code: &str,
        redirect_uri: &str,
        verifier: &SecretString,
    ) -> Result<TokenGrant, ZoomError> {
        self.token_request(
            creds,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier.expose_secret()),
            ],
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn refresh(
        &self,
        creds: &ClientCredentials,
        refresh_token: &SecretString,
    ) -> Result<TokenGrant, ZoomError> {
        self.token_request(
            creds,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose_secret()),
            ],
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn account_token(
        &self,
        creds: &ClientCredentials,
        account_id: &str,
    ) -> Result<TokenGrant, ZoomError> {
        self.token_request(
            creds,
            &[
                ("grant_type", "account_credentials"),
                ("account_id", account_id),
            ],
        )
        .await
    }

    /// Checks client credentials without a user: a code that cannot exist is refused as
    /// `invalid_grant` when the credentials are right and as `invalid_client` when they are not.
    #[tracing::instrument(skip_all)]
    pub async fn probe_client(
        &self,
        creds: &ClientCredentials,
        redirect_uri: &str,
    ) -> Result<(), ZoomError> {
        let probe = SecretString::from("probe-verifier-0000000000000000000000000000000");
        match self
            .exchange_code(creds, "telehealth-credential-probe", redirect_uri, &probe)
            .await
        {
            Err(ZoomError::InvalidGrant(_)) => Ok(()),
            Ok(_) => Ok(()),
            Err(other) => Err(other),
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn revoke(
        &self,
        creds: &ClientCredentials,
        token: &SecretString,
    ) -> Result<(), ZoomError> {
        let response = self
            .http
            .post(format!("{}/oauth/revoke", self.oauth_base))
            .header(reqwest::header::AUTHORIZATION, creds.basic())
            .form(&[("token", token.expose_secret())])
            .send()
            .await
            .map_err(transport)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(api_error(response).await)
        }
    }

    fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &SecretString,
    ) -> reqwest::RequestBuilder {
        // Since 2023 Zoom accepts access tokens only in the Authorization header.
        self.http
            .request(method, format!("{}{path}", self.api_base))
            .bearer_auth(token.expose_secret())
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_user(&self, token: &SecretString, user: &str) -> Result<ZoomUser, ZoomError> {
        let response = self
            .api(
                reqwest::Method::GET,
                &format!("/users/{}", path_segment(user)),
                token,
            )
            .send()
            .await
            .map_err(transport)?;
        json_or_error(response).await
    }

    /// The host's settings: the whole set, or with `security_only` just the
    /// `meeting_security` group (cheaper, and what every read-back needs).
    #[tracing::instrument(skip_all)]
    pub async fn user_settings(
        &self,
        token: &SecretString,
        user: &str,
        security_only: bool,
    ) -> Result<UserSettings, ZoomError> {
        let mut path = format!("/users/{}/settings", path_segment(user));
        if security_only {
            path.push_str("?option=meeting_security");
        }
        let response = self
            .api(reqwest::Method::GET, &path, token)
            .send()
            .await
            .map_err(transport)?;
        json_or_error(response).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn create_meeting(
        &self,
        token: &SecretString,
        user: &str,
        body: &MeetingBody<'_>,
    ) -> Result<MeetingInfo, ZoomError> {
        let response = self
            .api(
                reqwest::Method::POST,
                &format!("/users/{}/meetings", path_segment(user)),
                token,
            )
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        json_or_error(response).await
    }

    /// Every upcoming meeting of `user`, following `next_page_token` (bounded, so a host
    /// with an unexpectedly huge calendar cannot keep a worker busy forever).
    #[tracing::instrument(skip_all)]
    pub async fn list_meetings(
        &self,
        token: &SecretString,
        user: &str,
    ) -> Result<Vec<MeetingInfo>, ZoomError> {
        let mut meetings = Vec::new();
        let mut page_token = String::new();
        for _ in 0..20 {
            let mut path = format!(
                "/users/{}/meetings?type=scheduled&page_size=300",
                path_segment(user)
            );
            if !page_token.is_empty() {
                path.push_str("&next_page_token=");
                path.push_str(&path_segment(&page_token));
            }
            let response = self
                .api(reqwest::Method::GET, &path, token)
                .send()
                .await
                .map_err(transport)?;
            let page: MeetingList = json_or_error(response).await?;
            meetings.extend(page.meetings);
            match page.next_page_token {
                Some(next) if !next.is_empty() => page_token = next,
                _ => break,
            }
        }
        Ok(meetings)
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_meeting(
        &self,
        token: &SecretString,
        meeting_id: i64,
    ) -> Result<MeetingInfo, ZoomError> {
        let response = self
            .api(
                reqwest::Method::GET,
                &format!("/meetings/{meeting_id}"),
                token,
            )
            .send()
            .await
            .map_err(transport)?;
        json_or_error(response).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_meeting(
        &self,
        token: &SecretString,
        meeting_id: i64,
        body: &MeetingBody<'_>,
    ) -> Result<(), ZoomError> {
        let response = self
            .api(
                reqwest::Method::PATCH,
                &format!("/meetings/{meeting_id}"),
                token,
            )
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        empty_or_error(response).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_meeting(
        &self,
        token: &SecretString,
        meeting_id: i64,
    ) -> Result<(), ZoomError> {
        let response = self
            .api(
                reqwest::Method::DELETE,
                &format!("/meetings/{meeting_id}"),
                token,
            )
            .send()
            .await
            .map_err(transport)?;
        empty_or_error(response).await
    }
}

/// A user id or email as one path segment.
fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn transport(error: reqwest::Error) -> ZoomError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    ZoomError::Unavailable(kind.to_owned())
}

async fn json_or_error<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, ZoomError> {
    if response.status().is_success() {
        response
            .json()
            .await
            .map_err(|e| ZoomError::Unavailable(format!("unexpected response: {e}")))
    } else {
        Err(api_error(response).await)
    }
}

async fn empty_or_error(response: Response) -> Result<(), ZoomError> {
    if response.status().is_success() {
        Ok(())
    } else {
        Err(api_error(response).await)
    }
}

/// Zoom's `Retry-After` is seconds on per-second limits and an ISO-8601 instant on daily ones.
fn parse_retry_after(value: &str, now: i64) -> Option<i64> {
    if let Ok(seconds) = value.trim().parse::<i64>() {
        return Some(now + seconds.max(0));
    }
    DateTime::parse_from_rfc3339(value.trim())
        .ok()
        .map(|t| t.timestamp())
}

async fn api_error(response: Response) -> ZoomError {
    let status = response.status();
    let headers = response.headers().clone();
    let body: ApiErrorBody = response.json().await.unwrap_or(ApiErrorBody {
        code: None,
        message: None,
    });
    let code = body.code.unwrap_or(0);
    let message = body.message.unwrap_or_default();
    let daily_message = message.contains("daily rate limit");
    // Zoom's missing-scope answer is keyed on its code: third parties saw it with 400, the
    // docs give no status.
    if code == 4711 {
        return ZoomError::MissingScopes(missing_scopes(&message).join(" "));
    }
    match status {
        StatusCode::TOO_MANY_REQUESTS => {
            let now = Utc::now().timestamp();
            let retry_at = headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, now));
            let daily = daily_message
                || headers
                    .get("x-ratelimit-type")
                    .and_then(|v| v.to_str().ok())
                    == Some("Daily-limit");
            ZoomError::RateLimited { retry_at, daily }
        }
        // Zoom has also answered the daily create/update cap with code 300.
        _ if code == 300 && daily_message => ZoomError::RateLimited {
            retry_at: None,
            daily: true,
        },
        StatusCode::UNAUTHORIZED if code == 4700 && message.contains("scope") => {
            ZoomError::MissingScopes(message)
        }
        StatusCode::UNAUTHORIZED => ZoomError::InvalidToken,
        StatusCode::BAD_REQUEST if code == 124 => ZoomError::InvalidToken,
        StatusCode::FORBIDDEN if message.to_lowercase().contains("scope") => {
            ZoomError::MissingScopes(message)
        }
        StatusCode::NOT_FOUND => ZoomError::NotFound { code, message },
        _ if code == 3002 => ZoomError::InProgress,
        _ if code == 3007 => ZoomError::Ended,
        s if s.is_server_error() => ZoomError::Unavailable(format!("Zoom answered {}", s.as_u16())),
        s => ZoomError::Rejected {
            status: s.as_u16(),
            code,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_scopes_are_read_from_zooms_message() {
        assert_eq!(
            missing_scopes(
                "Invalid access token, does not contain scopes:[meeting:update:meeting:admin]."
            ),
            ["meeting:update:meeting:admin"]
        );
        assert_eq!(
            missing_scopes("does not contain scopes:[a:b, c:d]"),
            ["a:b", "c:d"]
        );
        assert_eq!(missing_scopes("scope problem"), ["scope problem"]);
    }

    #[test]
    fn retry_after_is_seconds_or_an_instant() {
        assert_eq!(parse_retry_after("5", 1000), Some(1005));
        assert_eq!(
            parse_retry_after("2026-11-23T00:00:00Z", 0),
            Some(1_795_392_000)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }

    #[test]
    fn start_times_are_utc_with_z() {
        let start = DateTime::parse_from_rfc3339("2026-03-29T01:30:00+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_start_time(start), "2026-03-29T00:30:00Z");
    }

    #[test]
    fn user_ids_and_emails_are_escaped_as_one_segment() {
        assert_eq!(path_segment("doctor@demo.clinic"), "doctor@demo.clinic");
        assert_eq!(path_segment("a/b?c"), "a%2Fb%3Fc");
    }

    #[test]
    fn the_authorize_url_asks_for_s256_explicitly() {
        let api = ZoomApi::new(
            "https://zoom.us",
            "https://api.zoom.us/v2",
            Duration::from_secs(15),
        );
        let url = api.authorize_url("cid", "http://127.0.0.1:3000/api/zoom/callback", "st", "ch");
        assert!(url.starts_with("https://zoom.us/oauth/authorize?response_type=code&client_id=cid"));
        assert!(url.contains("code_challenge_method=S256"));
        assert!(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fapi%2Fzoom%2Fcallback"));
    }
}
