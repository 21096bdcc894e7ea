use super::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How long a visit lasts, in minutes (5 to 240, the range a clinic books).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitLength(u32);

impl VisitLength {
    pub const MIN: u32 = 5;
    pub const MAX: u32 = 240;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let minutes: u32 = raw
            .trim()
            .parse()
            .map_err(|_| ParseError::new("Enter the length in minutes, e.g. 30."))?;
        Self::from_minutes(minutes)
    }

    pub fn from_minutes(minutes: u32) -> Result<Self, ParseError> {
        if (Self::MIN..=Self::MAX).contains(&minutes) {
            Ok(Self(minutes))
        } else {
            Err(ParseError::new(format!(
                "A visit lasts between {} and {} minutes.",
                Self::MIN,
                Self::MAX
            )))
        }
    }

    pub fn minutes(self) -> u32 {
        self.0
    }
}

/// An appointment's public identifier: random, so ids cannot be guessed or enumerated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VisitId(String);

impl VisitId {
    pub const LEN: usize = 22;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let raw = raw.trim();
        if raw.len() == Self::LEN && raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new("No such appointment."))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VisitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an appointment's video meeting stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingState {
    /// Zoom work is queued or being retried.
    Pending,
    Ready,
    /// Needs a person: the reason says what to fix, then retry.
    Failed,
    Cancelled,
    /// Zoom would not keep the clinic's privacy settings (an account lock): no join link
    /// for the patient; staff see what the clinic's Zoom admin must change. Re-checked on a
    /// timer and when the admin says it is fixed.
    Blocked,
    /// Removed at Zoom after the visit, so a forwarded link no longer works. The visit
    /// keeps its history.
    Closed,
}

impl MeetingState {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingState::Pending => "pending",
            MeetingState::Ready => "ready",
            MeetingState::Failed => "failed",
            MeetingState::Cancelled => "cancelled",
            MeetingState::Blocked => "blocked",
            MeetingState::Closed => "closed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Ok(match raw {
            "pending" => MeetingState::Pending,
            "ready" => MeetingState::Ready,
            "failed" => MeetingState::Failed,
            "cancelled" => MeetingState::Cancelled,
            "blocked" => MeetingState::Blocked,
            "closed" => MeetingState::Closed,
            other => return Err(ParseError::new(format!("unknown meeting state {other:?}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_outside_a_clinic_day_are_refused() {
        assert_eq!(VisitLength::parse("30").unwrap().minutes(), 30);
        assert!(VisitLength::parse("4").is_err());
        assert!(VisitLength::parse("241").is_err());
        assert!(VisitLength::parse("half an hour").is_err());
    }

    #[test]
    fn visit_ids_are_22_alphanumerics() {
        assert!(VisitId::parse("abcdefghijABCDEFGHIJ12").is_ok());
        assert!(VisitId::parse("1").is_err());
        assert!(VisitId::parse("abcdefghijABCDEFGHIJ1/").is_err());
    }

    #[test]
    fn states_round_trip() {
        for state in [
            MeetingState::Pending,
            MeetingState::Ready,
            MeetingState::Failed,
            MeetingState::Cancelled,
            MeetingState::Blocked,
            MeetingState::Closed,
        ] {
            assert_eq!(MeetingState::parse(state.as_str()).unwrap(), state);
        }
    }
}
