//! Limits on what one person may do to visits. Every booking and reschedule costs the doctor
//! one of Zoom's 100 meeting creates/updates per host per day, so a patient account (or a
//! script holding one) could otherwise use up that quota and leave the doctor's other patients
//! without meetings. Patients therefore get a number of upcoming visits
//! (`PATIENT_MAX_OPEN_VISITS`) and of bookings and reschedules per 24 hours
//! (`PATIENT_MAX_DAILY_CHANGES`); both are counted before the change, so parallel requests
//! cannot slip past them. Staff are not limited, and cancelling is always allowed. Nobody
//! books or moves a visit to a time that has passed.

use crate::domain::Role;
use crate::error::AppError;
use crate::server::persistence::UserRecord;
use crate::server::persistence::{now_unix, Counted, Db};
use crate::server::{internal, AppState};
use crate::types::visits::VisitTimeFields;

/// A start this far in the past is still accepted: the form has minute precision, and
/// booking "now" takes a moment.
pub const PAST_GRACE_SECS: i64 = 5 * 60;

/// Refuses a start time that has passed, on the `start` field.
pub fn not_in_the_past(times: &VisitTimeFields) -> Result<(), AppError> {
    if times.start.utc().timestamp() < now_unix() - PAST_GRACE_SECS {
        return Err(AppError::validation(
            "start",
            "That time has passed. Choose a time in the future.",
        ));
    }
    Ok(())
}

/// What a patient's change has counted, until it is known whether the change was made.
pub struct Counting<'a> {
    db: &'a Db,
    change: Option<i64>,
    open_place: Option<i64>,
}

impl Counting<'_> {
    /// The change was written (`true`) or not: a change not made does not count, and the
    /// open-visit place is now either a visit or free again.
    pub async fn finish(self, made: bool) {
        let mut ids = vec![self.open_place];
        if !made {
            ids.push(self.change);
        }
        for id in ids.into_iter().flatten() {
            if let Err(error) = self.db.withdraw_rate_event(id).await {
                // The claim expires by itself within a minute; the change after a day.
                tracing::warn!(%error, "withdrawing a visit limit event failed");
            }
        }
    }
}

async fn count_change<'a>(
    state: &'a AppState,
    user: &UserRecord,
) -> Result<Counting<'a>, AppError> {
    let db = &state.db;
    let mut counting = Counting {
        db,
        change: None,
        open_place: None,
    };
    if user.role != Role::Patient {
        return Ok(counting);
    }
    let limit = state.settings.patient_max_daily_changes;
    match db
        .count_visit_change(user.id, limit)
        .await
        .map_err(internal("counting a patient's visit changes"))?
    {
        Counted::Within(id) => counting.change = Some(id),
        Counted::Over { retry_after_secs } => {
            let hours = (retry_after_secs as u64).div_ceil(3600);
            return Err(AppError::LimitReached {
                message: format!(
                    "You have booked or moved {limit} visits in the last 24 hours, the most \
                     allowed online. Try again in about {hours} hour(s), or call the clinic."
                ),
                retry_after_secs: retry_after_secs as u64,
            });
        }
    }
    Ok(counting)
}

/// Before a patient books: one change of their daily allowance and one of their open-visit
/// places (409 when they hold all). Nothing for staff.
pub async fn before_booking<'a>(
    state: &'a AppState,
    user: &UserRecord,
) -> Result<Counting<'a>, AppError> {
    let mut counting = count_change(state, user).await?;
    if user.role != Role::Patient {
        return Ok(counting);
    }
    let limit = state.settings.patient_max_open_visits;
    let place = state
        .db
        .claim_open_visit(user.id, limit)
        .await
        .map_err(internal("counting a patient's open visits"));
    match place {
        Ok(Some(id)) => {
            counting.open_place = Some(id);
            Ok(counting)
        }
        outcome => {
            counting.finish(false).await;
            outcome?;
            Err(AppError::conflict(format!(
                "You already have {limit} upcoming visits, the most you can book yourself. \
                 Cancel one, or ask the clinic to book this one for you."
            )))
        }
    }
}

/// Before a patient moves a visit: one change of their daily allowance.
pub async fn before_reschedule<'a>(
    state: &'a AppState,
    user: &UserRecord,
) -> Result<Counting<'a>, AppError> {
    count_change(state, user).await
}
