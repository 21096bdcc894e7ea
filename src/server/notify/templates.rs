//! The texts of the mails, each with a plain-text and a simple HTML part. They carry no
//! health data and no Zoom link: no reason for the visit, no join link, no passcode. Mails
//! are forwarded and read on shared screens; they point to the visit's page, behind sign-in.

use crate::domain::TimeZone;
use crate::server::persistence::{AppointmentRow, Person};
use std::time::Duration;

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What a visit mail announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitNews {
    Booked,
    Changed,
    Cancelled,
    /// The visit is now with another doctor (to the one who had it).
    Reassigned,
    Reminder(Duration),
}

pub use crate::html::escape as esc;

pub fn greeting(person: &Person) -> String {
    match &person.name {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_owned(),
    }
}

/// "24 hours", "15 minutes", "1 day".
pub fn lead_words(lead: Duration) -> String {
    let secs = lead.as_secs();
    let (n, unit) = if secs.is_multiple_of(86_400) {
        (secs / 86_400, "day")
    } else if secs.is_multiple_of(3600) {
        (secs / 3600, "hour")
    } else if secs.is_multiple_of(60) {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Paragraphs and one link as both parts of a mail.
pub fn compose(
    subject: String,
    greeting: &str,
    paragraphs: &[String],
    link: (&str, &str),
) -> Rendered {
    let (label, url) = link;
    let mut text = format!("{greeting}\n\n");
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">\
         <p>{}</p>",
        esc(greeting)
    );
    for paragraph in paragraphs {
        text.push_str(paragraph);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", esc(paragraph)));
    }
    text.push_str(&format!(
        "{label}: {url}\n\n-- \nThis message was sent by your clinic's video visit service.\n"
    ));
    html.push_str(&format!(
        "<p><a href=\"{}\">{}</a></p><p style=\"color:#666;font-size:small\">This message was \
         sent by your clinic's video visit service.</p></body></html>",
        esc(url),
        esc(label)
    ));
    Rendered {
        subject,
        text,
        html,
    }
}

/// A mail about a visit to `to`, who is its patient or (`other` being the patient) its doctor.
pub fn visit_mail(
    news: VisitNews,
    visit: &AppointmentRow,
    to: &Person,
    other: &str,
    page_url: &str,
) -> Rendered {
    let zone: TimeZone = to.time_zone.unwrap_or(visit.start.booked_in());
    let when = visit.start.display_in(zone);
    let minutes = visit.length.minutes();
    let (subject, first) = match news {
        VisitNews::Booked => (
            format!("Video visit booked: {when}"),
            format!("Your video visit with {other} is booked for {when} ({minutes} minutes)."),
        ),
        VisitNews::Changed => (
            format!("Video visit changed: now {when}"),
            format!(
                "Your video visit has changed. It is now with {other} on {when} ({minutes} minutes)."
            ),
        ),
        VisitNews::Cancelled => (
            format!("Video visit cancelled: {when}"),
            format!("Your video visit with {other} on {when} is cancelled."),
        ),
        VisitNews::Reassigned => (
            format!("Video visit moved to another doctor: {when}"),
            format!(
                "The video visit with {other} on {when} is now with another doctor; it is off your calendar."
            ),
        ),
        VisitNews::Reminder(lead) => (
            format!("Reminder: video visit in {}", lead_words(lead)),
            format!("Your video visit with {other} starts in {}, on {when}.", lead_words(lead)),
        ),
    };
    let mut paragraphs = vec![first];
    match news {
        VisitNews::Cancelled | VisitNews::Reassigned => paragraphs
            .push("The attached calendar update removes it from your calendar.".to_owned()),
        _ => {
            paragraphs.push(
                "To join, sign in and open the visit's page: the video opens 15 minutes before the start."
                    .to_owned(),
            );
            if !matches!(news, VisitNews::Reminder(_)) {
                paragraphs.push(
                    "The attached calendar invitation keeps your calendar up to date.".to_owned(),
                );
            }
        }
    }
    compose(
        subject,
        &greeting(to),
        &paragraphs,
        ("Open the visit", page_url),
    )
}
