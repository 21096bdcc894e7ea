use crate::server::config::LogFormat;
use tracing_subscriber::{fmt, EnvFilter};

/// Structured logs to stdout. `RUST_LOG` filters (default: info for us, warn for libraries).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    // A second init (tests spawning several apps in one process) is harmless.
    let _ = result;
}
