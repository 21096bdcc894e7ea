//! Accounts as the browser sees them, and the profile form's fields.

use crate::domain::{DisplayName, Email, Role, TimeZone};
use serde::{Deserialize, Serialize};

/// The logged-in person as the browser may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub id: i64,
    pub email: Email,
    pub role: Role,
    pub display_name: Option<DisplayName>,
    pub time_zone: Option<TimeZone>,
}

/// An account as the admin's user list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub email: Email,
    pub role: Role,
    pub display_name: Option<DisplayName>,
    pub time_zone: Option<TimeZone>,
    pub active: bool,
}

/// Profile fields as typed into a form, parsed the same way in the browser (as you type)
/// and on the server (authoritatively). Empty optional fields count as absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFields {
    pub email: Email,
    pub role: Role,
    pub display_name: Option<DisplayName>,
    pub time_zone: Option<TimeZone>,
}

/// Per-field problems, keyed by the form field's name.
pub type FieldErrors = Vec<(&'static str, String)>;

impl ProfileFields {
    pub fn parse(
        email: &str,
        role: &str,
        display_name: Option<&str>,
        time_zone: Option<&str>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let email = Email::parse(email)
            .map_err(|e| errors.push(("email", e.0)))
            .ok();
        let role = Role::parse(role)
            .map_err(|e| errors.push(("role", e.0)))
            .ok();
        let present = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let display_name = present(display_name);
        let time_zone = present(time_zone);

        let display_name = match (role, display_name) {
            (Some(r), None) if r.has_display_name() => {
                errors.push((
                    "display_name",
                    "A doctor needs a name patients will see.".into(),
                ));
                None
            }
            (Some(r), Some(_)) if !r.has_display_name() => None,
            (_, Some(name)) => DisplayName::parse(&name)
                .map_err(|e| errors.push(("display_name", e.0)))
                .ok(),
            (_, None) => None,
        };
        let time_zone = match (role, time_zone) {
            (Some(r), None) if r.has_time_zone() => {
                errors.push((
                    "time_zone",
                    "Choose the time zone this person lives in.".into(),
                ));
                None
            }
            (Some(r), Some(_)) if !r.has_time_zone() => None,
            (_, Some(zone)) => TimeZone::parse(&zone)
                .map_err(|e| errors.push(("time_zone", e.0)))
                .ok(),
            (_, None) => None,
        };
        match (email, role) {
            (Some(email), Some(role)) if errors.is_empty() => Ok(Self {
                email,
                role,
                display_name,
                time_zone,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctors_need_a_name_and_a_time_zone() {
        let errors = ProfileFields::parse("d@clinic.org", "doctor", Some(" "), None).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["display_name", "time_zone"]);
    }

    #[test]
    fn staff_fields_that_do_not_apply_are_dropped() {
        let parsed = ProfileFields::parse(
            "r@clinic.org",
            "receptionist",
            Some("Rita"),
            Some("Europe/Paris"),
        )
        .unwrap();
        assert_eq!(parsed.display_name, None);
        assert_eq!(parsed.time_zone, None);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let errors = ProfileFields::parse("nope", "wizard", None, None).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["email", "role"]);
    }
}
