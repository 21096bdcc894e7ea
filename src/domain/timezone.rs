use super::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An IANA time zone (e.g. `Europe/Berlin`). Stored by name so DST rules are applied at
/// the moment a time is shown, not frozen as an offset when it was booked.
///
/// On the server it is chrono-tz's zone (the tz database). The browser carries no tz database
/// (chrono-tz's tables were 30% of the raw wasm): there it is the name, checked against the
/// browser's own `Intl` as you type, and checked again by the server when it arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Copy))]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(Zone);

#[cfg(feature = "ssr")]
type Zone = chrono_tz::Tz;
#[cfg(not(feature = "ssr"))]
type Zone = String;

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(ParseError::new("Choose a time zone."));
        }
        Self::lookup(value)
            .ok_or_else(|| ParseError::new("Unknown time zone; use a name like Europe/Berlin."))
    }

    #[cfg(feature = "ssr")]
    fn lookup(name: &str) -> Option<Self> {
        name.parse::<chrono_tz::Tz>().ok().map(Self)
    }

    /// A zone the server sent to this page is known without asking `Intl`: the forms it
    /// prefills parse it again, and the browser's first zone check loads its time-zone data
    /// (90 ms with a 4x slower CPU, on the first click of a freshly loaded page).
    #[cfg(not(feature = "ssr"))]
    fn lookup(name: &str) -> Option<Self> {
        (from_server::sent(name) || super::intl::is_known(name)).then(|| Self(name.to_owned()))
    }

    #[cfg(feature = "ssr")]
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    #[cfg(not(feature = "ssr"))]
    pub fn name(&self) -> &str {
        &self.0
    }

    #[cfg(feature = "ssr")]
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<String> for TimeZone {
    type Error = ParseError;
    #[cfg(feature = "ssr")]
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }

    /// In the browser a zone read from the server was checked there already: it is taken as it
    /// is, so a browser whose own tz data is older still shows the page.
    #[cfg(not(feature = "ssr"))]
    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.trim().is_empty() {
            return Err(ParseError::new("Choose a time zone."));
        }
        from_server::remember(&value);
        Ok(Self(value))
    }
}

/// The zone names this page read from the server (a handful: the person's own, their visits').
#[cfg(not(feature = "ssr"))]
mod from_server {
    use std::cell::RefCell;

    const MAX: usize = 32;

    thread_local! {
        static NAMES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    pub fn remember(name: &str) {
        NAMES.with_borrow_mut(|names| {
            if names.len() < MAX && !names.iter().any(|known| known == name) {
                names.push(name.to_owned());
            }
        });
    }

    pub fn sent(name: &str) -> bool {
        NAMES.with_borrow(|names| names.iter().any(|known| known == name))
    }
}

impl From<TimeZone> for String {
    fn from(value: TimeZone) -> Self {
        value.name().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_iana_names_and_rejects_others() {
        assert_eq!(
            TimeZone::parse(" Europe/Berlin ").unwrap().name(),
            "Europe/Berlin"
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::parse("").is_err());
    }
}
