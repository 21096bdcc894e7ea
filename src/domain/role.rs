use super::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Receptionist,
    Doctor,
    Patient,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Receptionist, Role::Doctor, Role::Patient];

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "receptionist" => Ok(Role::Receptionist),
            "doctor" => Ok(Role::Doctor),
            "patient" => Ok(Role::Patient),
            _ => Err(ParseError::new(
                "Role must be one of admin, receptionist, doctor, patient.",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Receptionist => "receptionist",
            Role::Doctor => "doctor",
            Role::Patient => "patient",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Receptionist => "Receptionist",
            Role::Doctor => "Doctor",
            Role::Patient => "Patient",
        }
    }

    /// Doctors and patients are seen across time zones (a patient abroad, a doctor at home),
    /// so their accounts carry one; staff accounts see the clinic's.
    pub fn has_time_zone(self) -> bool {
        matches!(self, Role::Doctor | Role::Patient)
    }

    /// Only doctors' names are shown to other people (on visits and join pages).
    pub fn has_display_name(self) -> bool {
        matches!(self, Role::Doctor)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_role() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
        assert!(Role::parse("superuser").is_err());
    }
}
