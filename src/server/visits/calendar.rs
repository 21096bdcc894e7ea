//! A visit as a calendar event (RFC 5545). The event links to the visit's page in this app,
//! not to Zoom: calendars are synced to third parties, and the join link (with its passcode)
//! should only be handed out to a logged-in attendee.

use crate::domain::JOIN_OPENS_BEFORE_SECS;
use crate::server::persistence::AppointmentRow;
use chrono::{DateTime, Utc};

pub(crate) fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// RFC 5545 TEXT: backslash, semicolon, comma and newline are escaped.
pub(crate) fn text(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// RFC 5545 lines are folded at 75 octets, continuing with a space.
pub(crate) fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out
}

pub fn render(visit: &AppointmentRow, public_url: &str) -> String {
    let start = visit.start.utc();
    let end = DateTime::from_timestamp(visit.ends_at(), 0).unwrap_or(start);
    let page = format!("{public_url}/visits/{}", visit.public_id);
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Telehealth//Video visits//EN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}@telehealth", visit.public_id),
        format!("DTSTAMP:{}", stamp(Utc::now())),
        format!("DTSTART:{}", stamp(start)),
        format!("DTEND:{}", stamp(end)),
        format!(
            "SUMMARY:{}",
            text(&format!("Video visit with {}", visit.doctor.label()))
        ),
        format!(
            "DESCRIPTION:{}",
            text(&format!(
                "Join from {page} (opens {} minutes before the start).",
                JOIN_OPENS_BEFORE_SECS / 60
            ))
        ),
        format!("URL:{page}"),
        format!(
            "STATUS:{}",
            if visit.cancelled {
                "CANCELLED"
            } else {
                "CONFIRMED"
            }
        ),
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
