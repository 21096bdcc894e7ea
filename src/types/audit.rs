//! The admin's audit page and its filters.

use super::FieldErrors;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub id: i64,
    pub at: i64,
    pub at_display: String,
    /// The person's email, or "system" (the meeting worker) or "anonymous".
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub outcome: String,
    pub detail: Option<String>,
    /// How many requests a counted entry stands for (1 for an ordinary entry).
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPageView {
    pub entries: Vec<AuditView>,
    /// Pass as `before` to get the next (older) page; `None` on the last page.
    pub next_before: Option<i64>,
}

macro_rules! names {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }
    };
}

names! {
    /// What was done. The text is what the audit table stores and the admin filters by.
    pub enum Action {
        Login => "login",
        PasswordChange => "password.change",
        UserCreate => "user.create",
        UserUpdate => "user.update",
        UserDeactivate => "user.deactivate",
        UserReactivate => "user.reactivate",
        ZoomSettings => "zoom.settings",
        ZoomTestConnection => "zoom.test_connection",
        ZoomMapDoctor => "zoom.map_doctor",
        ZoomConnect => "zoom.connect",
        ZoomDisconnect => "zoom.disconnect",
        ZoomRecheck => "zoom.recheck",
        PreferencesDefaults => "preferences.defaults",
        PreferencesSave => "preferences.save",
        ZoomWebhookSecret => "zoom.webhook_secret",
        ZoomDeauthorized => "zoom.deauthorized",
        VisitBook => "visit.book",
        VisitOpen => "visit.open",
        VisitList => "visit.list",
        VisitCalendar => "visit.calendar",
        VisitReschedule => "visit.reschedule",
        VisitChangeDoctor => "visit.change_doctor",
        VisitCancel => "visit.cancel",
        MeetingRetry => "meeting.retry",
        MeetingStart => "meeting.start",
        MeetingJoin => "meeting.join",
        MeetingCreate => "meeting.create",
        MeetingUpdate => "meeting.update",
        MeetingDelete => "meeting.delete",
        MeetingDeletedInZoom => "meeting.deleted_in_zoom",
        AuditExport => "audit.export",
    }
}

names! {
    /// How it ended.
    pub enum Outcome {
        Ok => "ok",
        /// The caller was not allowed, or the request could not be honoured as asked.
        Refused => "refused",
        /// Allowed, but something outside us (Zoom) failed.
        Failed => "failed",
        /// A multi-step action began (the doctor was sent to Zoom's consent page).
        Started => "started",
        /// The person said no at Zoom.
        Declined => "declined",
    }
}

/// Who acted, as the filter names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorFilter {
    Email(String),
    System,
    Anonymous,
}

/// The audit filters as typed, parsed the same way in the browser and on the server. Empty
/// fields mean "any"; dates are whole days in the admin's own time zone, both inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilterFields {
    pub actor: Option<ActorFilter>,
    pub action: Option<String>,
    pub visit: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl AuditFilterFields {
    pub fn parse(
        actor: &str,
        action: &str,
        visit: &str,
        from: &str,
        to: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let present = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        let actor = present(actor).map(|a| match a.to_lowercase().as_str() {
            "system" => ActorFilter::System,
            "anonymous" => ActorFilter::Anonymous,
            email => ActorFilter::Email(email.to_owned()),
        });
        let mut date = |field: &'static str, raw: &str| {
            present(raw).and_then(|d| {
                NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| errors.push((field, "Enter a date as YYYY-MM-DD.".into())))
                    .ok()
            })
        };
        let from = date("from", from);
        let to = date("to", to);
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                errors.push(("to", "The end date is before the start date.".into()));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            actor,
            action: present(action),
            visit: present(visit),
            from,
            to,
        })
    }
}

/// One CSV field (RFC 4180), defused against spreadsheet formula injection: a value that a
/// spreadsheet would evaluate (leading `=`, `+`, `-`, `@`, tab or carriage return) is
/// prefixed with an apostrophe, and any field with a comma, quote or line break is quoted.
pub fn csv_field(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_is_unique() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(*action));
        }
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(*outcome));
        }
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
    }

    #[test]
    fn filters_parse_dates_and_actors() {
        let f = AuditFilterFields::parse(" System ", "", "", "2026-11-01", "2026-11-02").unwrap();
        assert_eq!(f.actor, Some(ActorFilter::System));
        assert_eq!(f.action, None);
        let errors = AuditFilterFields::parse("", "", "", "yesterday", "").unwrap_err();
        assert_eq!(errors[0].0, "from");
        let errors = AuditFilterFields::parse("", "", "", "2026-11-02", "2026-11-01").unwrap_err();
        assert_eq!(errors[0].0, "to");
    }
}
