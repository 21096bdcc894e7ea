//! Time zones in the browser, through its own tz database (`Intl.DateTimeFormat`): the wasm
//! carries no copy of one (chrono-tz's tables were 30% of the raw bundle). Built without `ssr`
//! only; the server parses every zone and time again with chrono-tz, so what the browser
//! accepts here is a preview of the server's answer, never the last word.

use chrono::{DateTime, Datelike as _, Duration, LocalResult, NaiveDateTime, Timelike as _, Utc};

/// Whether the browser knows `zone` as an IANA time zone.
pub fn is_known(zone: &str) -> bool {
    // Names start with a letter ("Europe/Berlin", "UTC"); this also refuses the numeric offsets
    // ("+01:00") newer browsers accept but the tz database does not.
    zone.starts_with(|c: char| c.is_ascii_alphabetic()) && imp::formatter(zone, false).is_some()
}

/// The zone's offset from UTC at `at`, in seconds.
pub fn offset_at(zone: &str, at: DateTime<Utc>) -> Option<i64> {
    let local = imp::local_time(zone, at)?;
    Some((local - at.naive_utc()).num_seconds())
}

/// The instants a wall-clock time in `zone` stands for: none in a DST gap, two when the clocks
/// go back (earlier first). A DST change never comes twice within two days, so the offsets a
/// day either side are the only candidates.
pub fn from_local(zone: &str, naive: NaiveDateTime) -> LocalResult<DateTime<Utc>> {
    let guess = naive.and_utc();
    let mut found: Vec<DateTime<Utc>> = Vec::with_capacity(2);
    for probe in [guess - Duration::days(1), guess + Duration::days(1)] {
        let Some(offset) = offset_at(zone, probe) else {
            continue;
        };
        let candidate = guess - Duration::seconds(offset);
        if offset_at(zone, candidate) == Some(offset) && !found.contains(&candidate) {
            found.push(candidate);
        }
    }
    found.sort();
    match found[..] {
        [one] => LocalResult::Single(one),
        [first, second] => LocalResult::Ambiguous(first, second),
        _ => LocalResult::None,
    }
}

/// `at` as read in `zone`, e.g. "Tue 24 Nov 2026, 03:30 EST" (the abbreviation is the
/// browser's: "GMT+1" where English has no common one).
pub fn display(zone: &str, at: DateTime<Utc>) -> String {
    let (local, name) = match (offset_at(zone, at), imp::short_name(zone, at)) {
        (Some(offset), Some(name)) => (at.naive_utc() + Duration::seconds(offset), name),
        _ => (at.naive_utc(), "UTC".to_owned()),
    };
    // Written out by hand: chrono's format strings would put their parser and formatter in
    // the browser's bundle for this one line. It reads as the server's "%a %-d %b %Y, %H:%M".
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {} {}, {:02}:{:02} {name}",
        WEEKDAYS[local.weekday().num_days_from_monday() as usize],
        local.day(),
        MONTHS[local.month0() as usize],
        local.year(),
        local.hour(),
        local.minute(),
    )
}

#[cfg(feature = "hydrate")]
mod imp {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    use js_sys::{Array, Function, Intl::DateTimeFormat, Object, Reflect};
    use wasm_bindgen::{JsCast, JsValue};

    /// A formatter for `zone` with numeric fields (and the zone's short name), or None if the
    /// browser does not know the zone (the constructor throws a RangeError, caught here).
    pub fn formatter(zone: &str, with_name: bool) -> Option<DateTimeFormat> {
        let intl = Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
        let constructor: Function = Reflect::get(&intl, &"DateTimeFormat".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let options = Object::new();
        let set = |key: &str, value: &str| Reflect::set(&options, &key.into(), &value.into());
        set("timeZone", zone).ok()?;
        set("hourCycle", "h23").ok()?;
        for field in ["year", "month", "day", "hour", "minute", "second"] {
            set(field, "numeric").ok()?;
        }
        if with_name {
            set("timeZoneName", "short").ok()?;
        }
        let args = Array::of2(&JsValue::from_str("en-US"), &options);
        Reflect::construct(&constructor, &args)
            .ok()
            .map(JsCast::unchecked_into)
    }

    fn parts(zone: &str, at: DateTime<Utc>, with_name: bool) -> Option<Vec<(String, String)>> {
        let format = formatter(zone, with_name)?;
        let date = js_sys::Date::new(&JsValue::from_f64(at.timestamp_millis() as f64));
        let parts = format.format_to_parts(&date);
        let mut out = Vec::with_capacity(parts.length() as usize);
        for part in parts.iter() {
            let kind = Reflect::get(&part, &"type".into()).ok()?.as_string()?;
            let value = Reflect::get(&part, &"value".into()).ok()?.as_string()?;
            out.push((kind, value));
        }
        Some(out)
    }

    pub fn local_time(zone: &str, at: DateTime<Utc>) -> Option<NaiveDateTime> {
        let parts = parts(zone, at, false)?;
        let field = |name: &str| -> Option<u32> {
            parts
                .iter()
                .find(|(kind, _)| kind == name)
                .and_then(|(_, value)| value.parse().ok())
        };
        NaiveDate::from_ymd_opt(field("year")? as i32, field("month")?, field("day")?)?.and_hms_opt(
            field("hour")?,
            field("minute")?,
            field("second")?,
        )
    }

    pub fn short_name(zone: &str, at: DateTime<Utc>) -> Option<String> {
        parts(zone, at, true)?
            .into_iter()
            .find(|(kind, _)| kind == "timeZoneName")
            .map(|(_, value)| value)
    }
}

/// Neither server nor browser (a plain host build of the library): every zone reads as UTC.
#[cfg(not(feature = "hydrate"))]
mod imp {
    use chrono::{DateTime, NaiveDateTime, Utc};

    pub fn formatter(_zone: &str, _with_name: bool) -> Option<()> {
        Some(())
    }

    pub fn local_time(_zone: &str, at: DateTime<Utc>) -> Option<NaiveDateTime> {
        Some(at.naive_utc())
    }

    pub fn short_name(_zone: &str, _at: DateTime<Utc>) -> Option<String> {
        Some("UTC".to_owned())
    }
}

#[cfg(all(test, not(feature = "hydrate")))]
mod tests {
    use chrono::{DateTime, Duration};

    /// Outside a browser every zone reads as UTC (see `imp`), so the browser's rendering can be
    /// checked against chrono's formatting of the same pattern here.
    #[test]
    fn the_browsers_rendering_of_a_start_reads_as_chronos() {
        let first = DateTime::from_timestamp(1_767_225_600, 0).unwrap(); // 2026-01-01 00:00 UTC
        for step in 0..400 {
            let at = first + Duration::hours(step * 23) + Duration::minutes(step * 7);
            let expected = at.format("%a %-d %b %Y, %H:%M UTC").to_string();
            assert_eq!(super::display("UTC", at), expected);
        }
    }
}
