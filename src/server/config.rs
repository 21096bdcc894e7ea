//! Typed configuration, layered: built-in defaults, then an optional TOML file, then the
//! environment. Every variable is documented in `.env.example`.

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
