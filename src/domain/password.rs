use super::ParseError;
use std::fmt;

/// A password someone is choosing. It is deliberately not `Serialize` and its `Debug`
/// is redacted: the only thing that may happen to it is hashing.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// NIST SP 800-63B asks for at least 8; clinics hold health data, so we ask for 12.
    pub const MIN_CHARS: usize = 12;
    /// Argon2 hashes anything, but an unbounded input is a cheap way to burn server CPU.
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let count = raw.chars().count();
        if count < Self::MIN_CHARS {
            return Err(ParseError::new(format!(
                "Use at least {} characters.",
                Self::MIN_CHARS
            )));
        }
        if count > Self::MAX_CHARS {
            return Err(ParseError::new(format!(
                "Use at most {} characters.",
                Self::MAX_CHARS
            )));
        }
        if raw.trim().is_empty() {
            return Err(ParseError::new("A password cannot be only spaces."));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_length_bounds() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
        assert!(NewPassword::parse("            ").is_err());
        assert!(NewPassword::parse("correct horse battery").is_ok());
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let password = NewPassword::parse("correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
