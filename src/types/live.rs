//! What the live parts of the pages exchange with the server: the doctor's (or the clinic's)
//! day, and the session's remaining time for the logoff warning.

use super::visits::VisitView;
use serde::{Deserialize, Serialize};

/// Today's visits in the viewer's zone: a doctor's own, or the whole clinic's for staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayView {
    pub zone: String,
    /// e.g. "Thu 26 Nov 2026".
    pub date: String,
    pub visits: Vec<VisitView>,
}

/// How long the session lasts without activity from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLeft {
    pub expires_in: i64,
}
