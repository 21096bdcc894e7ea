use super::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A normalised (trimmed, lower-cased) email address. Case-insensitive matching matters:
/// a doctor who types `Dr.Who@Clinic.org` must reach the account created as `dr.who@clinic.org`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err(ParseError::new("Enter an email address."));
        }
        if value.len() > Self::MAX_LEN {
            return Err(ParseError::new("That email address is too long."));
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err(ParseError::new("An email address needs an @."));
        };
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && value
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '<' && c != '>' && c != '"' && c != ',');
        if !well_formed {
            return Err(ParseError::new("That does not look like an email address."));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            Email::parse("  Dr.Who@Clinic.ORG ").unwrap().as_str(),
            "dr.who@clinic.org"
        );
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "plain",
            "a@b",
            "@clinic.org",
            "a@@clinic.org",
            "a b@clinic.org",
            "a@.org",
            "a@clinic..org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn rejects_overlong_addresses() {
        let long = format!("{}@clinic.org", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
