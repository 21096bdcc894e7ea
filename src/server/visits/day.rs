//! The day view: today's visits (in the viewer's zone) with their live state, a doctor's own
//! or the whole clinic's for staff. Patients have no day view.

use super::{access, view};
use crate::domain::Role;
use crate::error::AppError;
use crate::server::audit::{self, Action, Actor, Entry, Outcome};
use crate::server::persistence::UserRecord;
use crate::server::{internal, AppState};
use crate::types::live::DayView;
use chrono::{Duration, TimeZone as _, Utc};

/// More visits than any clinic has in a day.
const DAY_LIMIT: i64 = 1000;

#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn today(state: &AppState, user: &UserRecord) -> Result<DayView, AppError> {
    if user.role == Role::Patient {
        return Err(AppError::Forbidden);
    }
    let zone = user.time_zone.map(|z| z.tz()).unwrap_or(chrono_tz::UTC);
    let date = Utc::now().with_timezone(&zone).date_naive();
    // The day's bounds as instants: a DST change makes the day 23 or 25 hours long.
    let bound = |day: chrono::NaiveDate| {
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists as a time");
        zone.from_local_datetime(&midnight)
            .earliest()
            // A zone whose clocks skip midnight starts that day an hour later.
            .or_else(|| {
                zone.from_local_datetime(&(midnight + Duration::hours(1)))
                    .earliest()
            })
            .map_or_else(|| midnight.and_utc().timestamp(), |t| t.timestamp())
    };
    let (from, until) = (bound(date), bound(date + Duration::days(1)));
    let visits = state
        .db
        .appointments(access::visibility(user), from, DAY_LIMIT)
        .await
        .map_err(internal("listing today's appointments"))?;
    let visits: Vec<_> = visits
        .iter()
        .filter(|v| v.start.utc().timestamp() < until && !v.cancelled)
        .map(|v| view::for_viewer(user, v))
        .collect();
    let entry = Entry::new(Actor::User(user.id), Action::VisitList, "", Outcome::Ok)
        .detail(format!("day view: {} visit(s)", visits.len()));
    audit::record(&state.db, entry).await.ok();
    Ok(DayView {
        zone: zone.name().to_owned(),
        date: date.format("%a %-d %b %Y").to_string(),
        visits,
    })
}
