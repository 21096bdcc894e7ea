//! The admin's view of the mail outbox.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    /// `queued` (not sent yet: waiting, retrying, or no SMTP server), `sent` or `failed`.
    pub state: String,
    pub attempts: i64,
    /// Why the last attempt did not go out (the mail server's answer).
    pub last_error: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub has_invite: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxView {
    pub entries: Vec<OutboxEntry>,
    /// Whether an SMTP server is configured (without one, mail waits here).
    pub smtp_configured: bool,
    /// Demo mode: each mail's HTML and calendar file can be opened from the page.
    pub show_bodies: bool,
}
