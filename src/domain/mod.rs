//! Domain types shared by the server and the browser. Each one is parsed once at the
//! boundary; code past that point never handles raw strings. No I/O lives here.

mod email;
// The browser's time zones; compiled into the server's tests too, which check its rendering of
// a time against the server's (there every zone reads as UTC).
#[cfg(any(not(feature = "ssr"), test))]
#[cfg_attr(feature = "ssr", allow(dead_code))]
mod intl;
mod join_window;
mod names;
mod password;
mod role;
mod timezone;
mod visit;
mod visit_time;
mod zoom;

pub use email::Email;
pub use join_window::{JoinWindow, JOIN_OPENS_BEFORE_SECS};
pub use names::DisplayName;
pub use password::NewPassword;
pub use role::Role;
pub use timezone::TimeZone;
pub use visit::{MeetingState, VisitId, VisitLength};
pub use visit_time::VisitStart;
pub use zoom::{ZoomConnectionMode, ZoomIdentifier};

/// Why a piece of input was rejected, phrased for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
