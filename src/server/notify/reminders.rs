//! When reminders are due. Pure: the scheduler passes the clock's "now", so tests (and a
//! restart after a long stop) decide with any moment they like.

use std::time::Duration;

/// The reminder due at `now` for a visit starting at `starts_at` (Unix seconds) that last
/// changed at `changed_at`: the shortest lead whose moment has come. None before the first
/// moment and from the start on; none either when that moment came before the last change (a
/// visit booked or moved 10 minutes ahead gets no "24 hours" reminder: its confirmation or
/// change mail is the news). Leads count real seconds, so across a DST change "24 hours
/// before" is 24 hours before, whatever the wall clock says. The caller queues a reminder
/// once per (visit, start, lead), which is what keeps restarts and reschedules from
/// repeating one.
///
/// Per-doctor leads (doctor preferences) would be passed here instead of the clinic's.
pub fn due_lead(starts_at: i64, changed_at: i64, leads: &[Duration], now: i64) -> Option<Duration> {
    if now >= starts_at {
        return None;
    }
    leads
        .iter()
        .copied()
        .filter(|lead| starts_at - lead.as_secs() as i64 <= now)
        .min()
        .filter(|lead| starts_at - lead.as_secs() as i64 >= changed_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone as _, Utc};

    const DAY: Duration = Duration::from_secs(86_400);
    const QUARTER: Duration = Duration::from_secs(900);
    const LEADS: [Duration; 2] = [DAY, QUARTER];

    /// Every moment in [from, to) at which `due_lead` first answers each lead.
    fn firings(start: i64, changed: i64, from: i64, to: i64) -> Vec<(i64, Duration)> {
        let mut sent: Vec<(i64, Duration)> = Vec::new();
        for now in from..to {
            if let Some(lead) = due_lead(start, changed, &LEADS, now) {
                if !sent.iter().any(|(_, l)| *l == lead) {
                    sent.push((now, lead));
                }
            }
        }
        sent
    }

    #[test]
    fn reminders_fire_once_each_at_their_instants_across_a_dst_change() {
        // Berlin moves its clocks forward at 01:00 UTC on 28 March 2027: a visit at 10:00
        // CEST on the 28th is 08:00 UTC; 24 hours before is 09:00 CET on the 27th.
        let start = Utc
            .with_ymd_and_hms(2027, 3, 28, 8, 0, 0)
            .unwrap()
            .timestamp();
        let booked = start - 3 * 86_400;
        let fired = firings(start, booked, start - 2 * 86_400, start + 3600);
        let day_before = Utc
            .with_ymd_and_hms(2027, 3, 27, 8, 0, 0)
            .unwrap()
            .timestamp();
        assert_eq!(fired, vec![(day_before, DAY), (start - 900, QUARTER)]);
        let local = chrono::DateTime::from_timestamp(day_before, 0)
            .unwrap()
            .with_timezone(&chrono_tz::Europe::Berlin);
        assert_eq!(local.format("%d %H:%M %Z").to_string(), "27 09:00 CET");
    }

    #[test]
    fn a_visit_booked_inside_a_lead_gets_only_the_later_reminders() {
        let start = 1_900_000_000;
        let booked = start - 3600;
        assert_eq!(
            firings(start, booked, booked, start + 60),
            vec![(start - 900, QUARTER)]
        );
        let booked_late = start - 600;
        assert_eq!(firings(start, booked_late, booked_late, start + 60), vec![]);
    }

    #[test]
    fn nothing_is_due_from_the_start_on_or_after_a_long_stop_only_the_latest_lead() {
        let start = 1_900_000_000;
        let booked = start - 10 * 86_400;
        assert_eq!(due_lead(start, booked, &LEADS, start), None);
        assert_eq!(due_lead(start, booked, &LEADS, start + 10), None);
        // Down through both moments: back 5 minutes before, only the 15-minute one is due.
        assert_eq!(due_lead(start, booked, &LEADS, start - 300), Some(QUARTER));
        assert_eq!(due_lead(start, booked, &[], start - 300), None);
    }
}
