//! The one error type every server function returns. Each variant has an HTTP status; the
//! server rewrites the status of a failed server-function response from it (see
//! `server::http::map_api_error_status`). `Internal` carries no detail: the cause is logged
//! once on the server where it happened and the client only learns that something failed.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Sent as `{"kind": "not_found", "what": ...}` (the variant's name and its fields), read back
/// through [`WireError`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", from = "WireError")]
pub enum AppError {
    /// Not logged in, or the session ended.
    Unauthorized,
    /// A login with an unknown email or a wrong password; deliberately does not say which.
    InvalidCredentials,
    /// Logged in, but this role or this person may not do that.
    Forbidden,
    NotFound {
        what: String,
    },
    /// Input that could not be parsed; `field` names the form field when there is one.
    Validation {
        field: Option<String>,
        message: String,
    },
    /// The request itself was malformed (missing or undecodable arguments).
    BadRequest {
        message: String,
    },
    /// The change conflicts with what is stored (e.g. an email already in use).
    Conflict {
        message: String,
    },
    RateLimited {
        retry_after_secs: u64,
    },
    /// A limit on how much one person may do (e.g. a patient's bookings per day); the message
    /// says which and is safe to show.
    LimitReached {
        message: String,
        retry_after_secs: u64,
    },
    /// The server is saturated (every password-hashing slot is taken); try again shortly.
    Busy {
        retry_after_secs: u64,
    },
    /// A video provider (Zoom) did not answer usefully; the message is safe to show.
    ProviderUnavailable {
        message: String,
    },
    Internal,
}

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound { what: what.into() }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict {
            message: message.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized | AppError::InvalidCredentials => 401,
            AppError::Forbidden => 403,
            AppError::NotFound { .. } => 404,
            AppError::Validation { .. } | AppError::BadRequest { .. } => 400,
            AppError::Conflict { .. } => 409,
            AppError::RateLimited { .. } | AppError::LimitReached { .. } => 429,
            AppError::Busy { .. } => 503,
            AppError::ProviderUnavailable { .. } => 502,
            AppError::Internal => 500,
        }
    }

    /// The wait the client is asked for, sent as `Retry-After`.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after_secs }
            | AppError::LimitReached {
                retry_after_secs, ..
            }
            | AppError::Busy { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The form field an error belongs to, so a page can show it next to that field.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Validation { field, .. } => field.as_deref(),
            AppError::InvalidCredentials => Some("password"),
            _ => None,
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Unauthorized => f.write_str("Please log in."),
            AppError::InvalidCredentials => f.write_str("Email or password is incorrect."),
            AppError::Forbidden => f.write_str("You do not have access to this."),
            AppError::NotFound { what } => write!(f, "{what} was not found."),
            AppError::Validation { message, .. } => f.write_str(message),
            AppError::BadRequest { message } => write!(f, "Bad request: {message}"),
            AppError::Conflict { message } => f.write_str(message),
            AppError::RateLimited { retry_after_secs } => {
                let minutes = retry_after_secs.div_ceil(60);
                write!(f, "Too many attempts. Try again in {minutes} minute(s).")
            }
            AppError::LimitReached { message, .. } => f.write_str(message),
            AppError::Busy { .. } => {
                f.write_str("The server is busy right now. Please try again in a moment.")
            }
            AppError::ProviderUnavailable { message } => f.write_str(message),
            AppError::Internal => {
                f.write_str("Something went wrong on our side. Please try again.")
            }
        }
    }
}

impl std::error::Error for AppError {}

impl From<crate::domain::ParseError> for AppError {
    fn from(value: crate::domain::ParseError) -> Self {
        AppError::Validation {
            field: None,
            message: value.0,
        }
    }
}

/// The first problem of a form, next to its field.
impl From<crate::types::FieldErrors> for AppError {
    fn from(errors: crate::types::FieldErrors) -> Self {
        let (field, message) = errors
            .into_iter()
            .next()
            .unwrap_or(("form", "Invalid input.".into()));
        AppError::validation(field, message)
    }
}

/// An [`AppError`] as it arrives: every variant's fields in one flat record. serde reads an
/// internally tagged enum by buffering the whole object first, and that machinery was 2% of
/// the browser's bundle; this shape needs none of it. A field a variant lacks reads as empty,
/// a kind we do not know as `Internal`.
#[derive(Deserialize)]
struct WireError {
    kind: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    retry_after_secs: u64,
}

impl From<WireError> for AppError {
    fn from(wire: WireError) -> Self {
        let WireError {
            kind,
            what,
            field,
            message,
            retry_after_secs,
        } = wire;
        match kind.as_str() {
            "unauthorized" => AppError::Unauthorized,
            "invalid_credentials" => AppError::InvalidCredentials,
            "forbidden" => AppError::Forbidden,
            "not_found" => AppError::NotFound { what },
            "validation" => AppError::Validation { field, message },
            "bad_request" => AppError::BadRequest { message },
            "conflict" => AppError::Conflict { message },
            "rate_limited" => AppError::RateLimited { retry_after_secs },
            "limit_reached" => AppError::LimitReached {
                message,
                retry_after_secs,
            },
            "busy" => AppError::Busy { retry_after_secs },
            "provider_unavailable" => AppError::ProviderUnavailable { message },
            _ => AppError::Internal,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The caller sent something we cannot decode: their mistake, say what it was.
            ServerFnErrorErr::Args(message) => AppError::BadRequest { message },
            ServerFnErrorErr::MissingArg(name) => AppError::BadRequest {
                message: format!("missing argument {name}"),
            },
            // On the server, these mean the request body could not be read or decoded.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(message) | ServerFnErrorErr::Request(message) => {
                AppError::BadRequest { message }
            }
            // In the browser, the server could not be reached or answered something unexpected.
            #[cfg(not(feature = "ssr"))]
            ServerFnErrorErr::Request(_) => AppError::ProviderUnavailable {
                message: "The server could not be reached. Check your connection.".into(),
            },
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failure");
                #[cfg(not(feature = "ssr"))]
                let _ = other;
                AppError::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_reveal_nothing() {
        let text = AppError::Internal.to_string();
        assert!(!text.to_lowercase().contains("sql"));
        assert_eq!(AppError::Internal.status(), 500);
    }

    #[test]
    fn limits_and_saturation_say_when_to_come_back() {
        let busy = AppError::Busy {
            retry_after_secs: 1,
        };
        assert_eq!((busy.status(), busy.retry_after_secs()), (503, Some(1)));
        let limit = AppError::LimitReached {
            message: "You have booked 20 visits today.".into(),
            retry_after_secs: 3600,
        };
        assert_eq!(
            (limit.status(), limit.retry_after_secs()),
            (429, Some(3600))
        );
        assert_eq!(limit.to_string(), "You have booked 20 visits today.");
        let json = serde_json::to_value(&limit).unwrap();
        assert_eq!(json["kind"], "limit_reached");
        assert_eq!(AppError::Forbidden.retry_after_secs(), None);
    }

    /// One of each variant. A new variant does not compile until the match below lists it: the
    /// reminder to add an example here too.
    fn one_of_each() -> Vec<AppError> {
        let all = vec![
            AppError::Unauthorized,
            AppError::InvalidCredentials,
            AppError::Forbidden,
            AppError::NotFound {
                what: "Visit".into(),
            },
            AppError::validation("start", "Enter a date and time."),
            AppError::Validation {
                field: None,
                message: "Invalid input.".into(),
            },
            AppError::BadRequest {
                message: "missing argument id".into(),
            },
            AppError::conflict("Someone else changed this visit."),
            AppError::RateLimited {
                retry_after_secs: 61,
            },
            AppError::LimitReached {
                message: "You have booked 20 visits today.".into(),
                retry_after_secs: 3600,
            },
            AppError::Busy {
                retry_after_secs: 1,
            },
            AppError::ProviderUnavailable {
                message: "Zoom is not answering.".into(),
            },
            AppError::Internal,
        ];
        for error in &all {
            match error {
                AppError::Unauthorized
                | AppError::InvalidCredentials
                | AppError::Forbidden
                | AppError::NotFound { .. }
                | AppError::Validation { .. }
                | AppError::BadRequest { .. }
                | AppError::Conflict { .. }
                | AppError::RateLimited { .. }
                | AppError::LimitReached { .. }
                | AppError::Busy { .. }
                | AppError::ProviderUnavailable { .. }
                | AppError::Internal => {}
            }
        }
        all
    }

    #[test]
    fn every_error_reads_back_as_it_was_sent() {
        for error in one_of_each() {
            let json = serde_json::to_string(&error).unwrap();
            let back: AppError = serde_json::from_str(&json).unwrap();
            assert_eq!(back, error, "{json}");
        }
        // The wire shape itself: the kind, then the variant's own fields.
        assert_eq!(
            serde_json::to_string(&AppError::validation("start", "Enter a date.")).unwrap(),
            r#"{"kind":"validation","field":"start","message":"Enter a date."}"#
        );
        assert_eq!(
            serde_json::to_string(&AppError::Forbidden).unwrap(),
            r#"{"kind":"forbidden"}"#
        );
    }

    #[test]
    fn an_error_of_a_kind_this_build_does_not_know_reads_as_internal() {
        let newer: AppError =
            serde_json::from_str(r#"{"kind":"payment_required","amount":3}"#).unwrap();
        assert_eq!(newer, AppError::Internal);
        assert!(serde_json::from_str::<AppError>(r#"{"message":"no kind"}"#).is_err());
    }

    #[test]
    fn undecodable_arguments_are_a_bad_request() {
        let err = AppError::from_server_fn_error(ServerFnErrorErr::Args("bad".into()));
        assert_eq!(err.status(), 400);
    }
}
