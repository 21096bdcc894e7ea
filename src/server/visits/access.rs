//! Who may see, host and attend a visit. Every server function and route that touches a visit
//! asks here; a visit outside the caller's view is "not found", the same answer as for an id
//! that does not exist, so ids cannot be probed.

use crate::domain::{Role, VisitId};
use crate::error::AppError;
use crate::server::audit::{self, Action, Actor, Entry, Outcome};
use crate::server::persistence::{AppointmentRow, UserRecord, Visibility};
use crate::server::{internal, AppState};

pub fn visibility(user: &UserRecord) -> Visibility {
    match user.role {
        Role::Admin | Role::Receptionist => Visibility::Everything,
        Role::Doctor => Visibility::DoctorOf(user.id),
        Role::Patient => Visibility::PatientOf(user.id),
    }
}

pub fn sees(user: &UserRecord, visit: &AppointmentRow) -> bool {
    sees_parties(user, visit.doctor.id, visit.patient.id)
}

/// `sees`, for a visit known only by its doctor and patient (the push stream's events).
pub fn sees_parties(user: &UserRecord, doctor_id: i64, patient_id: i64) -> bool {
    match visibility(user) {
        Visibility::Everything => true,
        Visibility::DoctorOf(id) => doctor_id == id,
        Visibility::PatientOf(id) => patient_id == id,
    }
}

/// The assigned doctor and admins: who may start the meeting or retry it.
pub fn hosts(user: &UserRecord, visit: &AppointmentRow) -> bool {
    user.role == Role::Admin || (user.role == Role::Doctor && visit.doctor.id == user.id)
}

/// The patient, the assigned doctor and admins: who may hold the join link.
pub fn attends(user: &UserRecord, visit: &AppointmentRow) -> bool {
    hosts(user, visit) || (user.role == Role::Patient && visit.patient.id == user.id)
}

/// Admins and receptionists give a visit to another doctor.
pub fn reassigns(user: &UserRecord) -> bool {
    matches!(user.role, Role::Admin | Role::Receptionist)
}

/// A visit id as typed in a URL or a form. One that does not parse names nothing.
pub fn parse_id(raw: &str) -> Result<VisitId, AppError> {
    VisitId::parse(raw).map_err(|_| AppError::not_found("appointment"))
}

/// The appointment `id` names, if `user` may see it; otherwise "not found".
///
/// A refusal is audited under `action` when given: with the visit as subject when it exists
/// (someone tried a real visit that is not theirs), otherwise as a counted entry, so random
/// ids cannot fill the audit table.
#[tracing::instrument(skip_all, fields(user_id = user.id, visit = %id))]
pub async fn load_visible(
    state: &AppState,
    user: &UserRecord,
    id: &VisitId,
    refusal: Option<Action>,
) -> Result<AppointmentRow, AppError> {
    let not_found = || AppError::not_found("appointment");
    let visit = state
        .db
        .appointment(id)
        .await
        .map_err(internal("loading an appointment"))?;
    match visit {
        Some(visit) if sees(user, &visit) => Ok(visit),
        Some(_) => {
            tracing::warn!(
                user_id = user.id,
                "refused an appointment outside the caller's view"
            );
            if let Some(action) = refusal {
                let entry = Entry::new(Actor::User(user.id), action, id.as_str(), Outcome::Refused)
                    .detail("not visible to the caller");
                audit::record(&state.db, entry).await.ok();
            }
            Err(not_found())
        }
        None => {
            if let Some(action) = refusal {
                let entry = Entry::new(Actor::User(user.id), action, "", Outcome::Refused)
                    .detail("no such visit");
                audit::record_counted(&state.db, entry).await.ok();
            }
            Err(not_found())
        }
    }
}
