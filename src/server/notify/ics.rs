//! The calendar invitation each visit mail carries (RFC 5545 with iTIP's `METHOD`). One `UID`
//! per visit (the same as the calendar file's download) and a `SEQUENCE` that grows with every
//! change, so a calendar updates or removes the entry it already has instead of adding one.
//! Like the calendar file, it links to the visit's page behind sign-in, never to Zoom.

use crate::domain::JOIN_OPENS_BEFORE_SECS;
use crate::server::persistence::AppointmentRow;
use crate::server::visits::calendar::{fold, stamp, text};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Add or update the entry.
    Request,
    /// Remove it.
    Cancel,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }

    /// The method an invitation was written with.
    pub fn of(ics: &str) -> Self {
        if ics.contains("\r\nMETHOD:CANCEL\r\n") {
            Method::Cancel
        } else {
            Method::Request
        }
    }
}

pub struct Invite<'a> {
    pub visit: &'a AppointmentRow,
    pub method: Method,
    /// Who the entry is with, from the recipient's side ("Dr. Lovelace", the patient's name).
    pub with: &'a str,
    pub organizer: &'a str,
    pub attendee: &'a str,
    pub page_url: &'a str,
    pub now: DateTime<Utc>,
}

pub fn uid(visit: &AppointmentRow) -> String {
    format!("{}@telehealth", visit.public_id)
}

pub fn render(invite: &Invite<'_>) -> String {
    let visit = invite.visit;
    let start = visit.start.utc();
    let end = DateTime::from_timestamp(visit.ends_at(), 0).unwrap_or(start);
    let status = match invite.method {
        Method::Request => "CONFIRMED",
        Method::Cancel => "CANCELLED",
    };
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Telehealth//Video visits//EN".to_owned(),
        format!("METHOD:{}", invite.method.as_str()),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", uid(visit)),
        // Every change bumps the visit's version: the calendar keeps the highest it has seen.
        format!("SEQUENCE:{}", visit.version),
        format!("DTSTAMP:{}", stamp(invite.now)),
        format!("DTSTART:{}", stamp(start)),
        format!("DTEND:{}", stamp(end)),
        format!(
            "SUMMARY:{}",
            text(&format!("Video visit with {}", invite.with))
        ),
        format!(
            "DESCRIPTION:{}",
            text(&format!(
                "Sign in and join from {} (it opens {} minutes before the start).",
                invite.page_url,
                JOIN_OPENS_BEFORE_SECS / 60
            ))
        ),
        format!("URL:{}", invite.page_url),
        format!("ORGANIZER:mailto:{}", invite.organizer),
        format!(
            "ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{}",
            invite.attendee
        ),
        format!("STATUS:{status}"),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    lines
        .iter()
        .map(|l| fold(l))
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}
