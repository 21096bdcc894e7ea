//! The simulator's memory: apps, users, grants, tokens, meetings, counters and faults.

use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

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
    pub waiting_room: bool,
    pub join_before_host: bool,
    pub deleted: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    pub token_grants: u64,
    pub refreshes: u64,
    pub refresh_failures: u64,
    pub account_tokens: u64,
    pub revocations: u64,
    pub meetings_created: u64,
    pub meetings_updated: u64,
    pub meetings_deleted: u64,
    pub api_requests: u64,
    pub rate_limited: u64,
    pub faults_injected: u64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Faults {
    pub latency_ms: u64,
    pub error_rate: f64,
    pub error_kinds: Vec<String>,
    pub drop_after_apply: bool,
    pub paths: Option<String>,
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
                }
            };
        Self {
            config,
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
        }
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

    pub fn issue_access(&mut self, principal: Principal) -> String {
        let token = format!("sim_at_{}", random_secret(48));
        let expires_at = now() + self.config.token_ttl_secs as i64;
        self.access.insert(
            token.clone(),
            AccessToken {
                principal,
                expires_at,
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

    /// The principal of a usable access token.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let access = self.access.get(token)?;
        if access.expires_at <= now() {
            return None;
        }
        if let Principal::User { grant, .. } = &access.principal {
            if self.grants.get(grant).is_none_or(|g| g.revoked) {
                return None;
            }
        }
        Some(access.principal.clone())
    }

    pub fn reset(&mut self) {
        let fresh = SimState::new(self.config.clone(), self.base_url.clone());
        let users = std::mem::take(&mut self.users);
        let apps = std::mem::take(&mut self.apps);
        *self = fresh;
        self.users = users;
        self.apps = apps;
    }
}
