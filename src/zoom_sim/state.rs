//! The simulator's memory: apps, users, grants, tokens, meetings, counters and faults.

use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub token_ttl_secs: u64,
    pub rate_limit_per_sec: u32,
    pub daily_meeting_limit: u32,
    /// Base of the start and join URLs; defaults to the address the simulator listens on.
    pub public_url: Option<String>,
    /// Scopes granted to Server-to-Server tokens (an app configured with fewer is a common
    /// set-up mistake the admin's connection test must name).
    pub account_scopes: String,
    /// The account locks meeting settings, as a Zoom admin can: the waiting room is forced
    /// off and Zoom generates the passcode, whatever the request asked for.
    pub locked_settings: bool,
    /// Scopes granted to user-managed tokens: classic by default; a granular app's names
    /// (`meeting:write:meeting`, `meeting:update:meeting`, …) when a test asks for one.
    pub user_scopes: String,
    /// Where and how events are sent (`--webhook-url`, `--webhook-secret`, `/_sim/webhooks`).
    pub webhooks: super::webhooks::WebhookConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            token_ttl_secs: 3600,
            rate_limit_per_sec: 30,
            daily_meeting_limit: 100,
            public_url: None,
            account_scopes: "meeting:write:admin meeting:read:admin user:read:admin".into(),
            locked_settings: false,
            user_scopes: "meeting:write meeting:read user:read".into(),
            webhooks: super::webhooks::WebhookConfig::default(),
        }
    }
}

pub const ACCOUNT_ID: &str = "demo-account";

#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: String,
    /// Server-to-Server apps get account tokens; the others run the authorization-code flow.
    pub server_to_server: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct PasscodeRule {
    pub length: u32,
    pub have_letter: bool,
    pub have_number: bool,
    pub have_special_character: bool,
    pub only_allow_numeric: bool,
    pub have_upper_and_lower_characters: bool,
    pub consecutive_characters_length: u32,
    pub weak_enhance_detection: bool,
}

/// A host's own meeting defaults and the settings their Zoom admin locked. Since 2026-03-15
/// Zoom fills every field a create omits from these; a locked field keeps its value here
/// whatever the API sends. The simulator's defaults are the friendly ones; tests and the
/// demo's `/_sim/host-settings` make them unfriendly.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct HostSettings {
    pub auto_recording: String,
    pub auto_start_meeting_summary: bool,
    pub auto_start_ai_companion_questions: bool,
    pub who_will_receive_summary: i64,
    pub encryption_type: String,
    pub meeting_authentication: bool,
    pub only_authenticated_can_join_from_webclient: bool,
    pub embed_password_in_join_link: bool,
    pub waiting_room: bool,
    pub join_before_host: bool,
    pub continuous_meeting_chat: bool,
    pub approval_type: i64,
    pub private_meeting: bool,
    pub use_pmi: bool,
    pub host_video: bool,
    pub participant_video: bool,
    pub mute_upon_entry: bool,
    /// Setting names (as above) that the account locks.
    pub locked: BTreeSet<String>,
}

impl Default for HostSettings {
    fn default() -> Self {
        Self {
            auto_recording: "none".into(),
            auto_start_meeting_summary: false,
            auto_start_ai_companion_questions: false,
            who_will_receive_summary: 1,
            encryption_type: "enhanced_encryption".into(),
            meeting_authentication: false,
            only_authenticated_can_join_from_webclient: false,
            embed_password_in_join_link: true,
            waiting_room: true,
            join_before_host: false,
            continuous_meeting_chat: false,
            approval_type: 2,
            private_meeting: false,
            use_pmi: false,
            host_video: true,
            participant_video: true,
            mute_upon_entry: false,
            locked: BTreeSet::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimUser {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default)]
    pub passcode_rule: PasscodeRule,
    /// Zoom's user type: 1 Basic (free: 40-minute meetings, no BAA), 2 Licensed.
    #[serde(default = "licensed", rename = "type")]
    pub user_type: i64,
    #[serde(default)]
    pub settings: HostSettings,
}

fn licensed() -> i64 {
    2
}

fn default_timezone() -> String {
    "UTC".into()
}

/// Who a token acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A user-managed grant: acts as one user.
    User { user_id: String, grant: u64 },
    /// A Server-to-Server token: acts for the whole account.
    Account,
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub principal: Principal,
    pub expires_at: i64,
    /// Space-separated, as the token response said.
    pub scopes: String,
}

#[derive(Debug, Clone)]
pub struct PendingCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub challenge: Option<String>,
    pub challenge_method: String,
    pub expires_at: i64,
    pub used: bool,
}

#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: String,
    pub user_id: String,
    /// The one refresh token that still works; rotation replaces it.
    pub live_refresh: Option<String>,
    pub revoked: bool,
}

/// The settings a meeting ended up with, after the host's defaults and locks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeetingSettings {
    pub waiting_room: bool,
    pub join_before_host: bool,
    pub auto_recording: String,
    pub auto_start_meeting_summary: bool,
    pub auto_start_ai_companion_questions: bool,
    pub who_will_receive_summary: i64,
    pub encryption_type: String,
    pub meeting_authentication: bool,
    pub continuous_meeting_chat: bool,
    pub approval_type: i64,
    pub private_meeting: bool,
    pub use_pmi: bool,
    pub host_video: bool,
    pub participant_video: bool,
    pub mute_upon_entry: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Meeting {
    pub id: i64,
    pub uuid: String,
    pub host_id: String,
    pub host_email: String,
    pub topic: String,
    #[serde(rename = "type")]
    pub kind: i64,
    pub start_time: String,
    pub duration: i64,
    pub timezone: String,
    pub agenda: String,
    pub password: String,
    pub created_at: String,
    #[serde(flatten)]
    pub settings: MeetingSettings,
    /// `waiting`, `started` or `ended`.
    pub status: String,
    pub deleted: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    pub token_grants: u64,
    pub refreshes: u64,
    pub refresh_failures: u64,
    pub account_tokens: u64,
    pub revocations: u64,
    /// Revocations asked with an access token (Zoom documents `token=<access_token>`).
    pub revocations_with_access_token: u64,
    pub meetings_created: u64,
    pub meetings_updated: u64,
    pub meetings_deleted: u64,
    pub api_requests: u64,
    pub rate_limited: u64,
    pub faults_injected: u64,
    pub scope_refusals: u64,
    /// Faults of the `*-after-apply` kinds: the change was made, then the answer failed.
    pub faults_after_apply: u64,
    /// Creates Zoom carried out whose answer never reached the caller: a fault after apply
    /// (or `drop_after_apply`) hit a create that had made its meeting.
    pub creates_unanswered: u64,
    /// Creates made while answers were held (`/_sim/hold`): each reached Zoom, and its answer
    /// waited for the release (or for a caller that had gone).
    pub creates_held: u64,
    /// Webhook deliveries the endpoint accepted (2xx), refused or missed, and redeliveries.
    pub webhooks_delivered: u64,
    pub webhooks_failed: u64,
    pub webhooks_retried: u64,
}

/// A request the app sent to the Meetings API, kept so tests can check what was sent.
#[derive(Debug, Clone, Serialize)]
pub struct SentRequest {
    pub method: String,
    pub path: String,
    pub body: serde_json::Value,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Faults {
    pub latency_ms: u64,
    pub error_rate: f64,
    /// Each injected fault is one of these, drawn at random: a status (`"500"`, `"503"`,
    /// `"429"`) or `"timeout"`, answered before the request reaches Zoom; or
    /// `"500-after-apply"`, `"lost-after-apply"` (no answer until the caller gives up) or
    /// `"reset-after-apply"` (the connection breaks), answered after the request was carried
    /// out, so a create has made its meeting although the caller hears of a failure.
    pub error_kinds: Vec<String>,
    pub drop_after_apply: bool,
    pub paths: Option<String>,
    /// Creates reach Zoom this much later than they were sent (the rest is unaffected).
    pub create_delay_ms: u64,
}

/// Create answers held back on demand (`/_sim/hold`): the meeting is made at once and its
/// answer waits until released, as when the caller dies with a create in flight.
#[derive(Debug)]
pub struct Hold {
    pub creates: bool,
    /// `true` while answers are held; set to `false` to release every waiting answer.
    pub release: tokio::sync::watch::Sender<bool>,
    /// Meetings whose create answers were held, oldest first.
    pub meetings: Vec<i64>,
    /// Answers waiting right now (a caller that went away stops the wait).
    pub waiting: u64,
}

impl Default for Hold {
    fn default() -> Self {
        Self {
            creates: false,
            release: tokio::sync::watch::channel(false).0,
            meetings: Vec::new(),
            waiting: 0,
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Issued {
    pub access_tokens: Vec<String>,
    pub refresh_tokens: Vec<String>,
    pub codes: Vec<String>,
}

#[derive(Debug)]
pub struct SimState {
    pub config: SimConfig,
    pub base_url: String,
    pub apps: Vec<OAuthApp>,
    pub users: Vec<SimUser>,
    pub codes: HashMap<String, PendingCode>,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, u64>,
    pub grants: HashMap<u64, Grant>,
    pub next_grant: u64,
    pub meetings: BTreeMap<i64, Meeting>,
    pub next_meeting: i64,
    pub counters: Counters,
    pub faults: Faults,
    /// (second, requests in it) for the per-second limit.
    pub qps_window: (i64, u32),
    /// (host user id, UTC day) -> create/update calls that day.
    pub daily: HashMap<(String, i64), u32>,
    pub issued: Issued,
    pub hold: Hold,
    /// Bodies of creates and updates, oldest first (bounded).
    pub sent: Vec<SentRequest>,
    pub webhooks: super::webhooks::WebhookState,
}

pub fn random_secret(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl SimState {
    pub fn new(config: SimConfig, base_url: String) -> Self {
        let strict = PasscodeRule {
            length: 8,
            have_letter: true,
            have_number: true,
            ..Default::default()
        };
        let relaxed = PasscodeRule {
            length: 6,
            ..Default::default()
        };
        let user =
            |id: &str, email: &str, first: &str, last: &str, tz: &str, rule: &PasscodeRule| {
                SimUser {
                    id: id.into(),
                    email: email.into(),
                    first_name: first.into(),
                    last_name: last.into(),
                    timezone: tz.into(),
                    passcode_rule: rule.clone(),
                    user_type: 2,
                    settings: HostSettings::default(),
                }
            };
        Self {
            base_url,
            apps: vec![
                OAuthApp {
                    client_id: "demo-oauth-client".into(),
                    client_secret: "demo-oauth-secret".into(),
                    server_to_server: false,
                },
                OAuthApp {
                    client_id: "demo-s2s-client".into(),
                    client_secret: "demo-s2s-secret".into(),
                    server_to_server: true,
                },
            ],
            users: vec![
                user(
                    "zu_ada",
                    "doctor@demo.clinic",
                    "Ada",
                    "Lovelace",
                    "Europe/Berlin",
                    &strict,
                ),
                user(
                    "zu_grace",
                    "grace@demo.clinic",
                    "Grace",
                    "Hopper",
                    "America/New_York",
                    &relaxed,
                ),
                user(
                    "zu_alan",
                    "alan@demo.clinic",
                    "Alan",
                    "Turing",
                    "Europe/London",
                    &relaxed,
                ),
            ],
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            grants: HashMap::new(),
            next_grant: 1,
            meetings: BTreeMap::new(),
            next_meeting: 81_234_567_890,
            counters: Counters::default(),
            faults: Faults::default(),
            qps_window: (0, 0),
            daily: HashMap::new(),
            issued: Issued::default(),
            hold: Hold::default(),
            sent: Vec::new(),
            webhooks: super::webhooks::WebhookState {
                config: config.webhooks.clone(),
                ..Default::default()
            },
            config,
        }
    }

    /// The host's settings as they are now: host-level ones (the passcode in invite links,
    /// sign-in for browser joins) apply to every meeting at once, old ones included.
    pub fn host_settings_of(&self, meeting: &Meeting) -> HostSettings {
        self.user(&meeting.host_id)
            .map(|u| u.settings.clone())
            .unwrap_or_default()
    }

    pub fn public_url(&self) -> String {
        self.config
            .public_url
            .clone()
            .unwrap_or_else(|| self.base_url.clone())
    }

    pub fn app(&self, client_id: &str) -> Option<&OAuthApp> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    /// A user by id or email (Zoom accepts both in paths).
    pub fn user(&self, id_or_email: &str) -> Option<&SimUser> {
        self.users
            .iter()
            .find(|u| u.id == id_or_email || u.email.eq_ignore_ascii_case(id_or_email))
    }

    pub fn issue_access(&mut self, principal: Principal, scopes: &str) -> String {
        let token = format!("sim_at_{}", random_secret(48));
        let expires_at = now() + self.config.token_ttl_secs as i64;
        self.access.insert(
            token.clone(),
            AccessToken {
                principal,
                expires_at,
                scopes: scopes.to_owned(),
            },
        );
        self.issued.access_tokens.push(token.clone());
        token
    }

    pub fn issue_refresh(&mut self, grant: u64) -> String {
        let token = format!("sim_rt_{}", random_secret(48));
        self.refresh.insert(token.clone(), grant);
        if let Some(g) = self.grants.get_mut(&grant) {
            g.live_refresh = Some(token.clone());
        }
        self.issued.refresh_tokens.push(token.clone());
        token
    }

    /// The principal and scopes of a usable access token.
    pub fn authenticate(&self, token: &str) -> Option<(Principal, String)> {
        let access = self.access.get(token)?;
        if access.expires_at <= now() {
            return None;
        }
        if let Principal::User { grant, .. } = &access.principal {
            if self.grants.get(grant).is_none_or(|g| g.revoked) {
                return None;
            }
        }
        Some((access.principal.clone(), access.scopes.clone()))
    }

    pub fn reset(&mut self) {
        let fresh = SimState::new(self.config.clone(), self.base_url.clone());
        let users = std::mem::take(&mut self.users);
        let apps = std::mem::take(&mut self.apps);
        // The endpoint is configuration, like the apps: it stays (in-flight events do not).
        let hooks = std::mem::take(&mut self.webhooks.config);
        *self = fresh;
        self.users = users;
        self.apps = apps;
        self.webhooks.config = hooks;
    }
}
