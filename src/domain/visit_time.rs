use super::{ParseError, TimeZone};
use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, Timelike as _, Utc};
use serde::{Deserialize, Serialize};

/// When a visit starts: the exact instant (UTC) and the IANA zone it was booked in. Each viewer
/// sees it in their own zone; storing the zone name rather than an offset keeps a visit
/// booked before a DST change at the right wall-clock time for the person who booked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(Copy))]
pub struct VisitStart {
    at: DateTime<Utc>,
    booked_in: TimeZone,
}

impl VisitStart {
    /// Parses a wall-clock time typed in `zone` (`YYYY-MM-DDTHH:MM`, as an HTML
    /// `datetime-local` input sends it). A time skipped by a DST change is refused; a time that
    /// happens twice (clocks going back) means the first occurrence, as calendars do.
    pub fn parse_local(raw: &str, zone: TimeZone) -> Result<Self, ParseError> {
        let raw = raw.trim();
        let naive = parse_wall_clock(raw)
            .ok_or_else(|| ParseError::new("Enter a date and time like 2026-03-29T09:30."))?;
        let at = match instants(&zone, naive) {
            LocalResult::Single(t) => t,
            LocalResult::Ambiguous(first, _) => first,
            LocalResult::None if !zone_known_here(&zone) => {
                return Err(ParseError::new(format!(
                    "This browser does not know the time zone {zone}: choose another one, or \
                     update the browser."
                )))
            }
            LocalResult::None => {
                return Err(ParseError::new(format!(
                    "{:02}:{:02} on {} does not exist in {zone}: the clocks skip it for daylight \
                     saving time.",
                    naive.hour(),
                    naive.minute(),
                    &raw[..10],
                )))
            }
        };
        Ok(Self {
            at,
            booked_in: zone,
        })
    }

    pub fn from_utc(at: DateTime<Utc>, booked_in: TimeZone) -> Self {
        Self { at, booked_in }
    }

    pub fn utc(&self) -> DateTime<Utc> {
        self.at
    }

    // A copy on the server; in the browser a zone is a name, so a clone.
    #[allow(clippy::clone_on_copy)]
    pub fn booked_in(&self) -> TimeZone {
        self.booked_in.clone()
    }

    /// The start as a viewer in `zone` reads it, with the zone's abbreviation.
    #[cfg(feature = "ssr")]
    pub fn display_in(&self, zone: TimeZone) -> String {
        use chrono::format::{Item, StrftimeItems};
        use std::sync::LazyLock;
        // Parsed once: a list of 500 formats a thousand of these, and parsing the pattern
        // each time cost as much as the formatting.
        static PATTERN: LazyLock<Vec<Item<'static>>> = LazyLock::new(|| {
            StrftimeItems::new("%a %-d %b %Y, %H:%M %Z")
                .parse()
                .expect("a valid pattern")
        });
        self.at
            .with_timezone(&zone.tz())
            .format_with_items(PATTERN.iter())
            .to_string()
    }

    /// The start as a viewer in `zone` reads it, with the browser's abbreviation of the zone.
    #[cfg(not(feature = "ssr"))]
    pub fn display_in(&self, zone: TimeZone) -> String {
        super::intl::display(zone.name(), self.at)
    }
}

/// A wall-clock time as an HTML `datetime-local` input sends it: `YYYY-MM-DDTHH:MM`, seconds
/// optional. Read by hand, the same way on the server and in the browser: chrono's format-string
/// parser, which did this before, was 2% of the browser's bundle.
fn parse_wall_clock(raw: &str) -> Option<NaiveDateTime> {
    let bytes = raw.as_bytes();
    let number = |from: usize, to: usize| -> Option<u32> {
        bytes.get(from..to)?.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':')];
    if !separators.iter().all(|&(at, c)| bytes.get(at) == Some(&c)) {
        return None;
    }
    let second = match bytes.len() {
        16 => 0,
        19 if bytes[16] == b':' => number(17, 19)?,
        _ => return None,
    };
    NaiveDate::from_ymd_opt(
        i32::try_from(number(0, 4)?).ok()?,
        number(5, 7)?,
        number(8, 10)?,
    )?
    .and_hms_opt(number(11, 13)?, number(14, 16)?, second)
}

/// The instants `naive` stands for in `zone`: chrono-tz's rules on the server, the browser's
/// own (`Intl`) in the browser.
#[cfg(feature = "ssr")]
fn instants(zone: &TimeZone, naive: NaiveDateTime) -> LocalResult<DateTime<Utc>> {
    use chrono::TimeZone as _;
    zone.tz()
        .from_local_datetime(&naive)
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(not(feature = "ssr"))]
fn instants(zone: &TimeZone, naive: NaiveDateTime) -> LocalResult<DateTime<Utc>> {
    super::intl::from_local(zone.name(), naive)
}

/// Whether this side can work out times in `zone`. The server always can (it parsed the zone
/// with its tz database). The browser takes zones the server sent without asking `Intl`
/// (`TimeZone`), and an older browser may not know one: then it finds no instant at all, which
/// must not read as a daylight-saving gap.
#[cfg(feature = "ssr")]
fn zone_known_here(_zone: &TimeZone) -> bool {
    true
}

#[cfg(not(feature = "ssr"))]
fn zone_known_here(zone: &TimeZone) -> bool {
    super::intl::is_known(zone.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    #[test]
    fn a_berlin_booking_is_the_same_instant_for_a_new_york_patient() {
        let start = VisitStart::parse_local("2026-11-24T09:30", zone("Europe/Berlin")).unwrap();
        assert_eq!(start.utc().to_rfc3339(), "2026-11-24T08:30:00+00:00");
        assert_eq!(
            start.display_in(zone("Europe/Berlin")),
            "Tue 24 Nov 2026, 09:30 CET"
        );
        assert_eq!(
            start.display_in(zone("America/New_York")),
            "Tue 24 Nov 2026, 03:30 EST"
        );
    }

    #[test]
    fn across_the_dst_gap_between_europe_and_america_each_side_sees_its_own_time() {
        // 2026-03-15: New York is already on EDT (-4), Berlin still on CET (+1).
        let start = VisitStart::parse_local("2026-03-15T10:00", zone("America/New_York")).unwrap();
        assert_eq!(start.utc().to_rfc3339(), "2026-03-15T14:00:00+00:00");
        assert_eq!(
            start.display_in(zone("Europe/Berlin")),
            "Sun 15 Mar 2026, 15:00 CET"
        );
        // Two weeks later Berlin has moved to CEST (+2) too.
        let later = VisitStart::parse_local("2026-03-30T10:00", zone("America/New_York")).unwrap();
        assert_eq!(
            later.display_in(zone("Europe/Berlin")),
            "Mon 30 Mar 2026, 16:00 CEST"
        );
    }

    #[test]
    fn a_time_the_clocks_skip_is_refused_and_a_repeated_one_means_the_first() {
        let skipped =
            VisitStart::parse_local("2026-03-29T02:30", zone("Europe/Berlin")).unwrap_err();
        assert!(
            skipped
                .0
                .contains("02:30 on 2026-03-29 does not exist in Europe/Berlin"),
            "{skipped}"
        );
        let repeated = VisitStart::parse_local("2026-10-25T02:30", zone("Europe/Berlin")).unwrap();
        assert_eq!(
            repeated.utc().to_rfc3339(),
            "2026-10-25T00:30:00+00:00",
            "02:30 CEST, the first one"
        );
    }

    #[test]
    fn malformed_input_is_refused_with_an_example() {
        let error = VisitStart::parse_local("next tuesday", zone("UTC")).unwrap_err();
        assert!(error.0.contains("2026-03-29T09:30"));
        for raw in [
            "",
            "2026-03-29",
            "2026-03-29 09:30",
            "2026-03-29T9:30",
            "2026-3-29T09:30",
            "2026-03-29T09:30:",
            "2026-03-29T09:30:5",
            "2026-03-29T09:30:00Z",
            "2026-02-30T09:30",
            "2026-03-29T24:00",
            "2026-03-29T09:60",
            "2026-03-29T09:30:60",
            "+026-03-29T09:30",
            "2026-03-29T09:3\u{663}",
        ] {
            assert!(parse_wall_clock(raw).is_none(), "{raw:?} accepted");
        }
    }

    #[test]
    fn the_input_of_a_datetime_local_field_is_read_with_or_without_seconds() {
        let minutes = parse_wall_clock("2026-03-29T09:30").unwrap();
        assert_eq!(minutes.to_string(), "2026-03-29 09:30:00");
        let seconds = parse_wall_clock("2026-12-31T23:59:59").unwrap();
        assert_eq!(seconds.to_string(), "2026-12-31 23:59:59");
        let padded = VisitStart::parse_local("  2026-11-24T09:30 ", zone("UTC")).unwrap();
        assert_eq!(padded.utc().to_rfc3339(), "2026-11-24T09:30:00+00:00");
    }
}
