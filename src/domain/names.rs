use super::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A person's name as shown to others (a doctor's on the patient's join page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(ParseError::new("Enter a name."));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ParseError::new(format!(
                "A name can have at most {} characters.",
                Self::MAX_CHARS
            )));
        }
        if value.chars().any(char::is_control) {
            return Err(ParseError::new("A name cannot contain control characters."));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DisplayName {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_accepts_unicode_names() {
        assert_eq!(
            DisplayName::parse("  Dr. Zoë Müller ").unwrap().as_str(),
            "Dr. Zoë Müller"
        );
    }

    #[test]
    fn rejects_empty_overlong_and_control_characters() {
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(DisplayName::parse("a\u{0007}b").is_err());
    }
}
