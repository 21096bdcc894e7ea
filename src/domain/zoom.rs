use super::ParseError;
use serde::{Deserialize, Serialize};

/// A Zoom identifier typed by an admin: an OAuth client id, an account id, or a Zoom user
/// (id or email). Printable ASCII without spaces, as Zoom issues them; checked here so a
/// pasted line break or a stray space is caught while typing, not by a failed call to Zoom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ZoomIdentifier(String);

impl ZoomIdentifier {
    pub const MAX_LEN: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(ParseError::new("This field is required."));
        }
        if value.len() > Self::MAX_LEN {
            return Err(ParseError::new("That is longer than any Zoom identifier."));
        }
        if !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ParseError::new(
                "Zoom identifiers have no spaces or special characters; check what was pasted.",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ZoomIdentifier {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ZoomIdentifier> for String {
    fn from(value: ZoomIdentifier) -> Self {
        value.0
    }
}

/// How the clinic connects to Zoom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoomConnectionMode {
    /// Each doctor connects their own Zoom user (user-managed OAuth).
    UserOauth,
    /// One Server-to-Server app for the account; the admin maps doctors to Zoom users.
    ServerToServer,
}

impl ZoomConnectionMode {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.trim() {
            "user_oauth" => Ok(Self::UserOauth),
            "server_to_server" => Ok(Self::ServerToServer),
            _ => Err(ParseError::new(
                "Choose user-managed OAuth or Server-to-Server.",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserOauth => "user_oauth",
            Self::ServerToServer => "server_to_server",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_refuse_spaces_and_empty_input() {
        assert_eq!(
            ZoomIdentifier::parse(" abc_123 ").unwrap().as_str(),
            "abc_123"
        );
        assert!(ZoomIdentifier::parse("").is_err());
        assert!(ZoomIdentifier::parse("ab c").is_err());
        assert!(ZoomIdentifier::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn modes_round_trip() {
        for mode in [
            ZoomConnectionMode::UserOauth,
            ZoomConnectionMode::ServerToServer,
        ] {
            assert_eq!(ZoomConnectionMode::parse(mode.as_str()).unwrap(), mode);
        }
        assert!(ZoomConnectionMode::parse("jwt").is_err());
    }
}
