//! Typed configuration, layered: built-in defaults, then an optional TOML file, then the
//! environment. Every variable is documented in `.env.example`.

use crate::server::client_ip::{self, IpNet, ProxyHeader};
use secrecy::SecretString;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {source}")]
    File {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseBackend {
    Sqlite,
    Postgres,
}

/// A database URL; `Debug` hides any password in it.
#[derive(Clone)]
pub struct DatabaseUrl {
    url: SecretString,
    backend: DatabaseBackend,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let backend = if raw.starts_with("sqlite:") {
            DatabaseBackend::Sqlite
        } else if raw.starts_with("postgres:") || raw.starts_with("postgresql:") {
            DatabaseBackend::Postgres
        } else {
            return Err(ConfigError::Invalid {
                name: "DATABASE_URL",
                reason: "must start with sqlite: or postgres:".into(),
            });
        };
        Ok(Self {
            url: SecretString::from(raw.to_owned()),
            backend,
        })
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.backend
    }

    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.url.expose_secret()
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({:?}, <redacted>)", self.backend)
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    /// The URL people use to reach the app; decides cookie security and the allowed Origin.
    pub public_url: String,
    pub demo_mode: bool,
    pub session_idle_timeout: Duration,
    pub session_absolute_timeout: Duration,
    pub login_max_failures_per_account: u32,
    pub login_max_failures_per_address: u32,
    pub login_failure_window: Duration,
    pub max_body_bytes: usize,
    pub log_format: LogFormat,
    /// Key for encrypting Zoom credentials at rest (used from the Zoom connection step on).
    pub encryption_key: Option<SecretString>,
    /// Retired keys, still accepted for reading until `rotate-key` has re-sealed everything.
    pub encryption_old_keys: Option<SecretString>,
    pub zoom_oauth_base_url: String,
    pub zoom_api_base_url: String,
    /// How long a doctor has to finish Zoom's consent page (default 10 minutes).
    pub oauth_state_ttl: Duration,
    /// How long one call to Zoom may take before it counts as failed.
    pub zoom_request_timeout: Duration,
    /// How many meeting jobs one app instance runs at once.
    pub meeting_workers: usize,
    /// How long a worker holds a claimed job before another instance may take it over.
    pub meeting_job_lease: Duration,
    /// The longest wait between two attempts of a failing job (backoff doubles up to this).
    pub meeting_retry_max: Duration,
    /// How often a meeting blocked by a Zoom account lock is checked again by itself.
    pub meeting_blocked_recheck: Duration,
    /// How long after a visit's end its meeting is removed at Zoom (forwarded links die).
    pub meeting_close_after: Duration,
    /// Peers (the TLS proxy) whose `trusted_proxy_header` names the client; nobody else's is
    /// read. Empty: the connection's peer is the client.
    pub trusted_proxies: Vec<IpNet>,
    pub trusted_proxy_header: ProxyHeader,
    /// Password hashes computed at once (19 MiB of memory each); more wait, then get 503.
    pub password_hash_concurrency: usize,
    /// Answer a session's repeated visit list or page within the same second from memory
    /// (`server::response_cache`; SQLite only). Off only to measure a render's own cost.
    pub response_cache: bool,
    /// How long a request waits for a free hashing slot before it gets 503.
    pub password_hash_wait: Duration,
    /// A patient's own upcoming (not yet ended, not cancelled) visits at most.
    pub patient_max_open_visits: u32,
    /// Bookings and reschedules a patient may make in 24 hours (each costs a Zoom call).
    pub patient_max_daily_changes: u32,
    /// Zoom's daily limit of meeting creates and updates per host (100); updates that only
    /// carry a doctor's changed preferences use at most three quarters of it a day.
    pub zoom_daily_meeting_limit: u32,
    /// Outside demo mode, serve an `http://` PUBLIC_URL anyway (a local trial only).
    pub allow_insecure_http: bool,
    /// Mail: the SMTP server (none: mail waits in the outbox), sender, reminder leads.
    pub mail: MailSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// The file layer: every field optional, names as in the environment but lower-case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLayer {
    database_url: Option<String>,
    public_url: Option<String>,
    demo_mode: Option<bool>,
    session_idle_timeout_secs: Option<u64>,
    session_absolute_timeout_secs: Option<u64>,
    login_max_failures_per_account: Option<u32>,
    login_max_failures_per_address: Option<u32>,
    login_failure_window_secs: Option<u64>,
    max_body_bytes: Option<usize>,
    log_format: Option<LogFormat>,
    zoom_oauth_base_url: Option<String>,
    zoom_api_base_url: Option<String>,
    oauth_state_ttl_secs: Option<u64>,
    zoom_request_timeout_secs: Option<u64>,
    meeting_workers: Option<usize>,
    meeting_job_lease_secs: Option<u64>,
    meeting_retry_max_secs: Option<u64>,
    meeting_blocked_recheck_secs: Option<u64>,
    meeting_close_after_secs: Option<u64>,
    trusted_proxies: Option<String>,
    trusted_proxy_header: Option<String>,
    password_hash_concurrency: Option<usize>,
    response_cache: Option<bool>,
    password_hash_wait_ms: Option<u64>,
    patient_max_open_visits: Option<u32>,
    patient_max_daily_changes: Option<u32>,
    zoom_daily_meeting_limit: Option<u32>,
    allow_insecure_http: Option<bool>,
}

pub const DEFAULT_CONFIG_FILE: &str = "telehealth.toml";

impl Settings {
    /// Reads the process environment and, if present, the config file it names
    /// (`APP_CONFIG_FILE`, default `telehealth.toml`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(|name| std::env::var(name).ok())
    }

    pub fn load(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let file = match env("APP_CONFIG_FILE") {
            Some(path) => read_file_layer(Path::new(&path))?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                read_file_layer(Path::new(DEFAULT_CONFIG_FILE))?
            }
            None => FileLayer::default(),
        };

        let database_url = env("DATABASE_URL")
            .or(file.database_url)
            .unwrap_or_else(|| "sqlite:data/telehealth.db?mode=rwc".to_owned());
        let public_url = env("PUBLIC_URL")
            .or(file.public_url)
            .unwrap_or_else(|| "http://127.0.0.1:3000".to_owned());
        let public_url = public_url.trim_end_matches('/').to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "PUBLIC_URL",
                reason: "must start with http:// or https://".into(),
            });
        }

        let mail = MailSettings::load(&env, &public_url)?;
        let settings = Settings {
            database_url: DatabaseUrl::parse(&database_url)?,
            public_url,
            demo_mode: parse_env(&env, "DEMO_MODE")?
                .or(file.demo_mode)
                .unwrap_or(false),
            session_idle_timeout: Duration::from_secs(
                parse_env(&env, "SESSION_IDLE_TIMEOUT_SECS")?
                    .or(file.session_idle_timeout_secs)
                    .unwrap_or(30 * 60),
            ),
            session_absolute_timeout: Duration::from_secs(
                parse_env(&env, "SESSION_ABSOLUTE_TIMEOUT_SECS")?
                    .or(file.session_absolute_timeout_secs)
                    .unwrap_or(12 * 60 * 60),
            ),
            login_max_failures_per_account: parse_env(&env, "LOGIN_MAX_FAILURES_PER_ACCOUNT")?
                .or(file.login_max_failures_per_account)
                .unwrap_or(5),
            login_max_failures_per_address: parse_env(&env, "LOGIN_MAX_FAILURES_PER_ADDRESS")?
                .or(file.login_max_failures_per_address)
                .unwrap_or(20),
            login_failure_window: Duration::from_secs(
                parse_env(&env, "LOGIN_FAILURE_WINDOW_SECS")?
                    .or(file.login_failure_window_secs)
                    .unwrap_or(15 * 60),
            ),
            max_body_bytes: parse_env(&env, "MAX_BODY_BYTES")?
                .or(file.max_body_bytes)
                .unwrap_or(64 * 1024),
            log_format: match env("LOG_FORMAT").as_deref() {
                Some("json") => LogFormat::Json,
                Some("pretty") => LogFormat::Pretty,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        name: "LOG_FORMAT",
                        reason: format!("{other:?} is not json or pretty"),
                    })
                }
                None => file.log_format.unwrap_or(LogFormat::Pretty),
            },
            encryption_key: env("ENCRYPTION_KEY").map(SecretString::from),
            encryption_old_keys: env("ENCRYPTION_OLD_KEYS").map(SecretString::from),
            zoom_oauth_base_url: env("ZOOM_OAUTH_BASE_URL")
                .or(file.zoom_oauth_base_url)
                .unwrap_or_else(|| "https://zoom.us".to_owned()),
            zoom_api_base_url: env("ZOOM_API_BASE_URL")
                .or(file.zoom_api_base_url)
                .unwrap_or_else(|| "https://api.zoom.us/v2".to_owned()),
            oauth_state_ttl: Duration::from_secs(
                parse_env(&env, "OAUTH_STATE_TTL_SECS")?
                    .or(file.oauth_state_ttl_secs)
                    .unwrap_or(600),
            ),
            zoom_request_timeout: Duration::from_secs(
                parse_env(&env, "ZOOM_REQUEST_TIMEOUT_SECS")?
                    .or(file.zoom_request_timeout_secs)
                    .unwrap_or(15),
            ),
            meeting_workers: parse_env(&env, "MEETING_WORKERS")?
                .or(file.meeting_workers)
                .unwrap_or(4),
            meeting_job_lease: Duration::from_secs(
                parse_env(&env, "MEETING_JOB_LEASE_SECS")?
                    .or(file.meeting_job_lease_secs)
                    .unwrap_or(120),
            ),
            meeting_retry_max: Duration::from_secs(
                parse_env(&env, "MEETING_RETRY_MAX_SECS")?
                    .or(file.meeting_retry_max_secs)
                    .unwrap_or(300),
            ),
            meeting_blocked_recheck: Duration::from_secs(
                parse_env(&env, "MEETING_BLOCKED_RECHECK_SECS")?
                    .or(file.meeting_blocked_recheck_secs)
                    .unwrap_or(900),
            ),
            meeting_close_after: Duration::from_secs(
                parse_env(&env, "MEETING_CLOSE_AFTER_SECS")?
                    .or(file.meeting_close_after_secs)
                    .unwrap_or(30 * 60),
            ),
            trusted_proxies: client_ip::parse_list(
                &env("TRUSTED_PROXIES")
                    .or(file.trusted_proxies)
                    .unwrap_or_default(),
            )
            .map_err(|reason| ConfigError::Invalid {
                name: "TRUSTED_PROXIES",
                reason,
            })?,
            trusted_proxy_header: ProxyHeader::parse(
                &env("TRUSTED_PROXY_HEADER")
                    .or(file.trusted_proxy_header)
                    .unwrap_or_else(|| "x-forwarded-for".to_owned()),
            )
            .map_err(|reason| ConfigError::Invalid {
                name: "TRUSTED_PROXY_HEADER",
                reason,
            })?,
            response_cache: parse_env(&env, "RESPONSE_CACHE")?
                .or(file.response_cache)
                .unwrap_or(true),
            password_hash_concurrency: parse_env(&env, "PASSWORD_HASH_CONCURRENCY")?
                .or(file.password_hash_concurrency)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()) * 2),
            password_hash_wait: Duration::from_millis(
                parse_env(&env, "PASSWORD_HASH_WAIT_MS")?
                    .or(file.password_hash_wait_ms)
                    .unwrap_or(2000),
            ),
            patient_max_open_visits: parse_env(&env, "PATIENT_MAX_OPEN_VISITS")?
                .or(file.patient_max_open_visits)
                .unwrap_or(5),
            patient_max_daily_changes: parse_env(&env, "PATIENT_MAX_DAILY_CHANGES")?
                .or(file.patient_max_daily_changes)
                .unwrap_or(20),
            zoom_daily_meeting_limit: parse_env(&env, "ZOOM_DAILY_MEETING_LIMIT")?
                .or(file.zoom_daily_meeting_limit)
                .unwrap_or(100),
            allow_insecure_http: parse_env(&env, "ALLOW_INSECURE_HTTP")?
                .or(file.allow_insecure_http)
                .unwrap_or(false),
            mail,
        };
        for (name, url) in [
            ("ZOOM_OAUTH_BASE_URL", &settings.zoom_oauth_base_url),
            ("ZOOM_API_BASE_URL", &settings.zoom_api_base_url),
        ] {
            let parsed = reqwest::Url::parse(url).map_err(|e| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ConfigError::Invalid {
                    name,
                    reason: "must be an http(s) URL".into(),
                });
            }
        }
        if settings.session_idle_timeout.is_zero() || settings.session_absolute_timeout.is_zero() {
            return Err(ConfigError::Invalid {
                name: "SESSION_*_TIMEOUT_SECS",
                reason: "must be greater than zero".into(),
            });
        }
        if settings.zoom_request_timeout.is_zero() || settings.meeting_workers == 0 {
            return Err(ConfigError::Invalid {
                name: "ZOOM_REQUEST_TIMEOUT_SECS / MEETING_WORKERS",
                reason: "must be greater than zero".into(),
            });
        }
        if settings.password_hash_concurrency == 0
            || settings.patient_max_open_visits == 0
            || settings.patient_max_daily_changes == 0
        {
            return Err(ConfigError::Invalid {
                name: "PASSWORD_HASH_CONCURRENCY / PATIENT_MAX_*",
                reason: "must be greater than zero".into(),
            });
        }
        if settings.zoom_daily_meeting_limit == 0 {
            return Err(ConfigError::Invalid {
                name: "ZOOM_DAILY_MEETING_LIMIT",
                reason: "must be greater than zero".into(),
            });
        }
        if settings.meeting_job_lease < settings.create_fence() + Duration::from_secs(5) {
            return Err(ConfigError::Invalid {
                name: "MEETING_JOB_LEASE_SECS",
                reason: format!(
                    "must be at least {} s: four Zoom request timeouts plus a margin, so a \
                     worker's lease outlives every request it sends",
                    (settings.create_fence() + Duration::from_secs(5)).as_secs()
                ),
            });
        }
        Ok(settings)
    }

    /// Outside demo mode, nothing that carries patient data or secrets may travel in clear:
    /// the app's own URL (session cookies), Zoom (tokens, client secret) and the database.
    /// Checked when the server starts; each refusal names the setting to change.
    pub fn require_secure_transport(&self) -> Result<(), ConfigError> {
        if self.demo_mode {
            return Ok(());
        }
        if !self.uses_https() && !self.allow_insecure_http {
            return Err(ConfigError::Invalid {
                name: "PUBLIC_URL",
                reason: format!(
                    "{} is not https:// — set PUBLIC_URL to the https:// address of your TLS \
                     proxy (session cookies would otherwise travel in clear), or set \
                     ALLOW_INSECURE_HTTP=true for a local trial without patient data",
                    self.public_url
                ),
            });
        }
        for (name, url) in [
            ("ZOOM_OAUTH_BASE_URL", &self.zoom_oauth_base_url),
            ("ZOOM_API_BASE_URL", &self.zoom_api_base_url),
        ] {
            // The simulator on this machine (a trial, the tests) crosses no network.
            let local = reqwest::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(is_loopback))
                .unwrap_or(false);
            if !url.starts_with("https://") && !local {
                return Err(ConfigError::Invalid {
                    name,
                    reason: format!(
                        "{url} is not https:// — Zoom tokens and secrets would travel in clear; \
                         set {name} to Zoom's https:// URL (or leave it unset); only the \
                         simulator on this machine (127.0.0.1, localhost) may use http://"
                    ),
                });
            }
        }
        self.require_secure_database()
    }

    /// A PostgreSQL server on another machine must be reached over TLS: `sslmode=require` at
    /// least (`verify-ca` or `verify-full` also check its certificate). Outside demo mode.
    pub fn require_secure_database(&self) -> Result<(), ConfigError> {
        if self.demo_mode || self.database_url.backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let Ok(url) = reqwest::Url::parse(self.database_url.expose()) else {
            return Ok(());
        };
        let host = url.host_str().unwrap_or("");
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let query = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        // No host in the URL (or a `host=` of a socket directory) means a Unix socket.
        let socket = host.is_empty()
            || query("host").is_some_and(|h| h.starts_with('/'))
            || host.starts_with('%');
        if socket || is_loopback(host) {
            return Ok(());
        }
        match query("sslmode").as_deref() {
            Some("require" | "verify-ca" | "verify-full") => Ok(()),
            other => Err(ConfigError::Invalid {
                name: "DATABASE_URL",
                reason: format!(
                    "the PostgreSQL server {host} is not on this machine, and sslmode is {} — \
                     add ?sslmode=verify-full (or at least sslmode=require) so patient data \
                     does not cross the network in clear",
                    other.unwrap_or("not set")
                ),
            }),
        }
    }

    /// How long a create request can still be in flight after a worker decides to send it:
    /// a token refresh, the call, and the one renewal-and-retry after a rejected token.
    pub fn create_fence(&self) -> Duration {
        self.zoom_request_timeout * 4 + Duration::from_secs(2)
    }

    /// The keys that seal secrets at rest. Demo mode may run without one (with a published
    /// demo key, announced); anything else refuses to start, rather than store Zoom secrets
    /// in plaintext or under a guessable key.
    pub fn keyring(&self) -> Result<crate::server::crypto::Keyring, ConfigError> {
        use crate::server::crypto::Keyring;
        match (&self.encryption_key, self.demo_mode) {
            (Some(key), _) => Keyring::new(key, self.encryption_old_keys.as_ref()).map_err(|e| {
                ConfigError::Invalid {
                    name: "ENCRYPTION_KEY",
                    reason: e.to_string(),
                }
            }),
            (None, true) => Ok(Keyring::demo()),
            (None, false) => Err(ConfigError::Invalid {
                name: "ENCRYPTION_KEY",
                reason: "is required outside demo mode; create one with `telehealth generate-key`"
                    .into(),
            }),
        }
    }

    /// Where Zoom sends the doctor back after consent; must be registered in the Zoom app.
    pub fn oauth_redirect_url(&self) -> String {
        format!("{}/api/zoom/callback", self.public_url)
    }

    pub fn uses_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The origin (scheme://host[:port]) browsers send in `Origin` for our own pages.
    pub fn public_origin(&self) -> &str {
        let after_scheme = self.public_url.find("://").map(|i| i + 3).unwrap_or(0);
        match self.public_url[after_scheme..].find('/') {
            Some(slash) => &self.public_url[..after_scheme + slash],
            None => &self.public_url,
        }
    }

    pub fn session_cookie_name(&self) -> &'static str {
        // `__Host-` makes the browser refuse the cookie unless it is Secure, host-only and
        // path=/, so a sibling subdomain cannot plant or overwrite it.
        if self.uses_https() {
            "__Host-telehealth"
        } else {
            "telehealth_session"
        }
    }
}

/// `localhost`, `127.x.x.x` or `::1` (with or without brackets): this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn read_file_layer(path: &Path) -> Result<FileLayer, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::File {
        path: path.to_owned(),
        source: Box::new(source),
    })
}

fn parse_env<T: std::str::FromStr>(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match env(name) {
        None => Ok(None),
        Some(raw) => raw
            .trim()
            .parse()
            .map(Some)
            .map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_are_embedded_sqlite_and_no_demo() {
        let settings = Settings::load(env_of(&[("APP_CONFIG_FILE", "/dev/null")])).unwrap();
        assert_eq!(settings.database_url.backend(), DatabaseBackend::Sqlite);
        assert!(!settings.demo_mode);
        assert_eq!(settings.session_idle_timeout, Duration::from_secs(1800));
        assert_eq!(
            settings.session_absolute_timeout,
            Duration::from_secs(43200)
        );
        assert_eq!(settings.zoom_api_base_url, "https://api.zoom.us/v2");
        assert_eq!(settings.session_cookie_name(), "telehealth_session");
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = std::env::temp_dir().join(format!("telehealth-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("t.toml");
        std::fs::write(&file, "demo_mode = true\nsession_idle_timeout_secs = 60\npublic_url = \"https://clinic.example/\"\n").unwrap();
        let path = file.to_string_lossy().to_string();
        let settings = Settings::load(env_of(&[
            ("APP_CONFIG_FILE", &path),
            ("SESSION_IDLE_TIMEOUT_SECS", "90"),
            ("DATABASE_URL", "postgres://u:secret@localhost/db"),
        ]))
        .unwrap();
        assert!(settings.demo_mode);
        assert_eq!(settings.session_idle_timeout, Duration::from_secs(90));
        assert_eq!(settings.database_url.backend(), DatabaseBackend::Postgres);
        assert_eq!(settings.public_origin(), "https://clinic.example");
        assert_eq!(settings.session_cookie_name(), "__Host-telehealth");
        assert!(!format!("{settings:?}").contains("secret"));
    }

    fn secure(pairs: &[(&str, &str)]) -> Result<(), String> {
        let mut all = vec![("APP_CONFIG_FILE", "/dev/null")];
        all.extend_from_slice(pairs);
        Settings::load(env_of(&all))
            .unwrap()
            .require_secure_transport()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn outside_demo_mode_nothing_travels_in_clear() {
        let https = ("PUBLIC_URL", "https://visits.clinic.example");
        let err = secure(&[]).unwrap_err();
        assert!(
            err.contains("PUBLIC_URL") && err.contains("ALLOW_INSECURE_HTTP"),
            "{err}"
        );
        assert!(secure(&[https]).is_ok());
        assert!(secure(&[("ALLOW_INSECURE_HTTP", "true")]).is_ok());
        assert!(secure(&[("DEMO_MODE", "true")]).is_ok());
        assert!(secure(&[
            ("DEMO_MODE", "true"),
            ("ZOOM_API_BASE_URL", "http://127.0.0.1:3002/v2"),
            ("DATABASE_URL", "postgres://u:p@db.internal/t"),
        ])
        .is_ok());

        for name in ["ZOOM_OAUTH_BASE_URL", "ZOOM_API_BASE_URL"] {
            let err = secure(&[https, (name, "http://zoom.example")]).unwrap_err();
            assert!(err.contains(name) && err.contains("https://"), "{err}");
            assert!(secure(&[https, (name, "http://127.0.0.1:3002")]).is_ok());
        }

        let remote = |url: &'static str| secure(&[https, ("DATABASE_URL", url)]);
        let err = remote("postgres://app:SECRETPW@db.internal:5432/t").unwrap_err();
        assert!(
            err.contains("DATABASE_URL") && err.contains("sslmode=require"),
            "{err}"
        );
        assert!(!err.contains("SECRETPW"), "{err}");
        assert!(remote("postgres://app:pw@db.internal/t?sslmode=prefer").is_err());
        assert!(remote("postgres://app:pw@db.internal/t?sslmode=disable").is_err());
        for ok in [
            "postgres://app:pw@db.internal/t?sslmode=require",
            "postgres://app:pw@db.internal/t?sslmode=verify-ca",
            "postgresql://app:pw@10.0.0.5/t?application_name=x&sslmode=verify-full",
            "postgres://app:pw@localhost/t",
            "postgres://app:pw@127.0.0.1:5432/t",
            "postgres://app:pw@[::1]:5432/t",
            "postgres:///t?host=/var/run/postgresql",
            "sqlite:data/t.db?mode=rwc",
        ] {
            assert!(remote(ok).is_ok(), "{ok}: {:?}", remote(ok));
        }
    }

    #[test]
    fn trusted_proxies_and_limits_are_parsed_and_checked() {
        let settings = Settings::load(env_of(&[
            ("APP_CONFIG_FILE", "/dev/null"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, ::1"),
            ("TRUSTED_PROXY_HEADER", "Forwarded"),
        ]))
        .unwrap();
        assert_eq!(settings.trusted_proxies.len(), 2);
        assert_eq!(settings.trusted_proxy_header, ProxyHeader::Forwarded);
        assert!(settings.password_hash_concurrency >= 2);
        assert_eq!(settings.patient_max_open_visits, 5);
        assert_eq!(settings.patient_max_daily_changes, 20);
        for (name, value) in [
            ("TRUSTED_PROXIES", "10.0.0.0/40"),
            ("TRUSTED_PROXY_HEADER", "x-real-ip"),
            ("PASSWORD_HASH_CONCURRENCY", "0"),
            ("PATIENT_MAX_OPEN_VISITS", "0"),
        ] {
            let err = Settings::load(env_of(&[("APP_CONFIG_FILE", "/dev/null"), (name, value)]))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(name.split('_').next().unwrap()),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn bad_values_are_reported_by_name() {
        let err = Settings::load(env_of(&[
            ("APP_CONFIG_FILE", "/dev/null"),
            ("SESSION_IDLE_TIMEOUT_SECS", "soon"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("SESSION_IDLE_TIMEOUT_SECS"));
        let err = Settings::load(env_of(&[
            ("APP_CONFIG_FILE", "/dev/null"),
            ("DATABASE_URL", "mysql://x"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"));
    }
}

/// How mail leaves the app. Read from the environment only (`SMTP_*`, `MAIL_*`); credentials
/// are secrets and never part of the URL. Reminder lead times are the doctors' preferences
/// (clinic default 24 h and 15 min), set on the Zoom pages.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// None: mail is kept in the outbox, shown as not sent, and nothing else changes.
    pub smtp: Option<SmtpSettings>,
    /// The sender, as `Name <address>` or a bare address.
    pub from: String,
    /// The longest wait between two attempts of a mail the server did not take.
    pub retry_max: Duration,
    /// How long a worker holds a mail it is sending; also bounds one SMTP exchange.
    pub lease: Duration,
    /// Whether staff (not only patients) may sign in with an emailed link.
    pub staff_sign_in_links: bool,
    /// Test controls (the reminder clock): only with a loopback `http://` PUBLIC_URL, so a
    /// real install cannot turn them on.
    pub test_controls: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtps://`: TLS from the first byte (port 465).
    Implicit,
    /// `smtp://` to another host: STARTTLS is required, never skipped.
    StartTls,
    /// `smtp://` to this machine (a local relay, the test sink): nothing crosses a network.
    Plain,
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<SecretString>,
}

impl MailSettings {
    fn load(env: &impl Fn(&str) -> Option<String>, public_url: &str) -> Result<Self, ConfigError> {
        let smtp = match env("SMTP_URL").filter(|u| !u.trim().is_empty()) {
            None => None,
            Some(raw) => Some(parse_smtp_url(&raw, env)?),
        };
        let public_host = reqwest::Url::parse(public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".into());
        let from =
            env("MAIL_FROM").unwrap_or_else(|| format!("Telehealth <no-reply@{public_host}>"));
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::Invalid {
                name: "MAIL_FROM",
                reason: format!("{from:?} is not an address like 'Clinic <visits@clinic.example>'"),
            });
        }
        let test_controls = parse_env(env, "TEST_CONTROLS")?.unwrap_or(false);
        if test_controls && !(public_url.starts_with("http://") && is_loopback(&public_host)) {
            return Err(ConfigError::Invalid {
                name: "TEST_CONTROLS",
                reason: "only for tests: needs an http:// PUBLIC_URL on 127.0.0.1 or localhost"
                    .into(),
            });
        }
        let lease = Duration::from_secs(parse_env(env, "MAIL_LEASE_SECS")?.unwrap_or(120));
        if lease < Duration::from_secs(10) {
            return Err(ConfigError::Invalid {
                name: "MAIL_LEASE_SECS",
                reason: "must be at least 10 s (it bounds one SMTP exchange)".into(),
            });
        }
        Ok(Self {
            smtp,
            from,
            retry_max: Duration::from_secs(
                parse_env(env, "MAIL_RETRY_MAX_SECS")?.unwrap_or(600).max(1),
            ),
            lease,
            staff_sign_in_links: parse_env(env, "STAFF_SIGN_IN_LINKS")?.unwrap_or(false),
            test_controls,
        })
    }
}

fn parse_smtp_url(
    raw: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<SmtpSettings, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "SMTP_URL",
        reason,
    };
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| invalid(e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        // The URL is logged and shown in errors; credentials go in their own secret settings.
        return Err(invalid(
            "must not carry credentials: set SMTP_USERNAME and SMTP_PASSWORD instead".into(),
        ));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid("names no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let (tls, default_port) = match url.scheme() {
        "smtps" => (SmtpTls::Implicit, 465),
        "smtp" if is_loopback(&host) => (SmtpTls::Plain, 25),
        "smtp" => (SmtpTls::StartTls, 587),
        other => {
            return Err(invalid(format!(
                "{other}:// is not smtp:// (STARTTLS) or smtps:// (implicit TLS)"
            )))
        }
    };
    let username = env("SMTP_USERNAME").filter(|u| !u.is_empty());
    let password = env("SMTP_PASSWORD")
        .filter(|p| !p.is_empty())
        .map(SecretString::from);
    if username.is_some() != password.is_some() {
        return Err(ConfigError::Invalid {
            name: "SMTP_USERNAME / SMTP_PASSWORD",
            reason: "set both or neither".into(),
        });
    }
    Ok(SmtpSettings {
        host,
        port: url.port().unwrap_or(default_port),
        tls,
        username,
        password,
    })
}
