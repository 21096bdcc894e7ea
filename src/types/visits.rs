//! What the visit pages and the visit server functions exchange.

use super::FieldErrors;
use crate::domain::{MeetingState, TimeZone, VisitLength, VisitStart, JOIN_OPENS_BEFORE_SECS};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingView {
    pub state: MeetingState,
    /// Why it is pending or failed, for staff; patients get a plain-language state only.
    pub reason: Option<String>,
    /// Zoom overrode a setting we asked for (waiting room, passcode).
    pub warning: Option<String>,
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitView {
    pub id: String,
    pub doctor_id: i64,
    pub doctor: String,
    pub patient_id: i64,
    pub patient: String,
    /// Unix seconds; the browser counts down to it.
    pub starts_at: i64,
    pub ends_at: i64,
    /// The start in the viewer's own zone, e.g. "Tue 24 Nov 2026, 09:30 CET".
    pub local_start: String,
    pub viewer_zone: TimeZone,
    /// The zone the visit was booked in, and the start as it reads there.
    pub booked_zone: TimeZone,
    pub booked_start: String,
    pub duration_minutes: u32,
    pub reason: Option<String>,
    pub cancelled: bool,
    pub meeting: MeetingView,
    pub can_start: bool,
    pub can_join: bool,
    pub can_retry: bool,
    pub can_change: bool,
    pub can_change_doctor: bool,
    /// What Zoom told us about the meeting itself (webhooks): waiting, in progress, ended.
    pub live: LiveView,
}

/// The meeting's life as Zoom reports it through webhooks, for the visit pages and the
/// doctor's day view. Times are already in the viewer's zone ("10:02").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveView {
    pub state: LiveState,
    /// Set while the patient sits in Zoom's waiting room (cleared on admit or leave).
    pub waiting_since: Option<String>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveState {
    /// Nothing has happened in Zoom yet.
    #[default]
    Scheduled,
    /// The patient is in the waiting room.
    Waiting,
    InProgress,
    Ended,
    /// The visit's end passed and the meeting never started (shown to staff).
    NoShow,
}

impl VisitView {
    pub fn join_opens_at(&self) -> i64 {
        self.starts_at - JOIN_OPENS_BEFORE_SECS
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: i64,
    pub label: String,
    pub time_zone: Option<String>,
    /// A doctor's default visit length in minutes (the booking form preselects it).
    #[serde(default)]
    pub default_minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingChoices {
    pub doctors: Vec<Choice>,
    /// Empty for a patient, who books for themself.
    pub patients: Vec<Choice>,
    pub default_zone: String,
}

/// A link handed out at the moment of the click and not kept anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingLink {
    pub url: String,
}

/// The time fields of a booking or reschedule form, parsed the same way as you type and on
/// the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(Copy))]
pub struct VisitTimeFields {
    pub start: VisitStart,
    pub length: VisitLength,
}

impl VisitTimeFields {
    pub fn parse(start: &str, zone: &str, length: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let zone = TimeZone::parse(zone)
            .map_err(|e| errors.push(("zone", e.0)))
            .ok();
        let start = zone.and_then(|zone| {
            VisitStart::parse_local(start, zone)
                .map_err(|e| errors.push(("start", e.0)))
                .ok()
        });
        let length = VisitLength::parse(length)
            .map_err(|e| errors.push(("duration", e.0)))
            .ok();
        match (start, length) {
            (Some(start), Some(length)) if errors.is_empty() => Ok(Self { start, length }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_fields_report_each_problem() {
        let errors = VisitTimeFields::parse("2026-03-29T02:30", "Europe/Berlin", "3").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["start", "duration"]);
        let errors = VisitTimeFields::parse("2026-03-29T09:30", "Mars/Base", "30").unwrap_err();
        assert_eq!(errors[0].0, "zone");
        assert!(VisitTimeFields::parse("2026-03-29T09:30", "Europe/Berlin", "30").is_ok());
    }
}
