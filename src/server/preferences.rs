//! Doctors' preferences and the clinic's defaults: who may change what, and carrying a change
//! to the doctor's upcoming meetings (the meeting worker PATCHes them, within Zoom's daily
//! limit). Each function takes the state, the already authorized caller and parsed input, and
//! records its audit entry.

use crate::domain::Role;
use crate::error::AppError;
use crate::server::audit::{self, Action, Actor, Entry, Outcome};
use crate::server::persistence::{OwnPreferences, PreferencesRow, UserRecord};
use crate::server::{internal, AppState};
use crate::types::preferences::{
    forced_sentence, ClinicPreferencesView, MyPreferencesView, PreferenceField, PreferenceValues,
};

/// The subject of the clinic-wide entries in the audit trail.
const SUBJECT: &str = "preferences";

fn zoom_fields_differ(a: &PreferenceValues, b: &PreferenceValues) -> bool {
    a.differing(b)
        .into_iter()
        .any(PreferenceField::sent_to_zoom)
}

pub async fn clinic_view(state: &AppState) -> Result<ClinicPreferencesView, AppError> {
    // Any id will do: the clinic's row is the same for everybody.
    let row = state
        .db
        .preferences_of(0)
        .await
        .map_err(internal("reading the clinic's preferences"))?;
    Ok(ClinicPreferencesView {
        values: row.clinic,
        doctor_may_change: row.doctor_may_change,
    })
}

/// Saves the clinic's defaults and what doctors may change. Every doctor whose meetings now
/// start differently gets their upcoming meetings updated.
pub async fn save_clinic(
    state: &AppState,
    admin: &UserRecord,
    values: PreferenceValues,
    doctor_may_change: Vec<PreferenceField>,
) -> Result<ClinicPreferencesView, AppError> {
    let doctors: Vec<i64> = state
        .db
        .list_users()
        .await
        .map_err(internal("listing users"))?
        .into_iter()
        .filter(|u| u.role == Role::Doctor)
        .map(|u| u.id)
        .collect();
    let mut before = Vec::with_capacity(doctors.len());
    for &id in &doctors {
        let row = state
            .db
            .preferences_of(id)
            .await
            .map_err(internal("reading preferences"))?;
        before.push((id, row));
    }
    state
        .db
        .save_clinic_preferences(&values, &doctor_may_change)
        .await
        .map_err(internal("saving the clinic's preferences"))?;
    let mut queued = 0;
    for (id, old) in before {
        let new = PreferencesRow {
            clinic: values.clone(),
            doctor_may_change: doctor_may_change.clone(),
            ..old.clone()
        };
        if zoom_fields_differ(&old.effective(), &new.effective()) {
            queued += state
                .db
                .resend_preferences(id)
                .await
                .map_err(internal("queueing preference updates"))?;
        }
    }
    if queued > 0 {
        state.jobs_wake.notify_one();
    }
    let may: Vec<&str> = doctor_may_change.iter().map(|f| f.key()).collect();
    let entry = Entry::new(
        Actor::User(admin.id),
        Action::PreferencesDefaults,
        SUBJECT,
        Outcome::Ok,
    )
    .detail(format!(
        "{}; doctors may change: {}; {queued} upcoming meetings to update",
        values.describe(),
        if may.is_empty() {
            "nothing".into()
        } else {
            may.join(", ")
        }
    ));
    audit::record(&state.db, entry).await.ok();
    Ok(ClinicPreferencesView {
        values,
        doctor_may_change,
    })
}

fn my_view(row: PreferencesRow) -> MyPreferencesView {
    MyPreferencesView {
        effective: row.effective(),
        zoom_forces: row
            .zoom_forced
            .iter()
            .map(|(field, value)| forced_sentence(*field, *value))
            .filter(|s| !s.is_empty())
            .collect(),
        clinic: row.clinic,
        doctor_may_change: row.doctor_may_change,
    }
}

pub async fn mine(state: &AppState, doctor: &UserRecord) -> Result<MyPreferencesView, AppError> {
    let row = state
        .db
        .preferences_of(doctor.id)
        .await
        .map_err(internal("reading preferences"))?;
    Ok(my_view(row))
}

/// Saves the calling doctor's own preferences. The form always sends every field; a field the
/// clinic does not let doctors change must come back with the clinic's value, otherwise the
/// whole save is refused (403) and nothing changes.
pub async fn save_mine(
    state: &AppState,
    doctor: &UserRecord,
    values: PreferenceValues,
) -> Result<MyPreferencesView, AppError> {
    let row = state
        .db
        .preferences_of(doctor.id)
        .await
        .map_err(internal("reading preferences"))?;
    let may = |field: PreferenceField| row.doctor_may_change.contains(&field);
    let locked: Vec<PreferenceField> = values
        .differing(&row.clinic)
        .into_iter()
        .filter(|f| !may(*f))
        .collect();
    if !locked.is_empty() {
        let names: Vec<&str> = locked.iter().map(|f| f.key()).collect();
        let entry = Entry::new(
            Actor::User(doctor.id),
            Action::PreferencesSave,
            doctor.email.to_string(),
            Outcome::Refused,
        )
        .detail(format!("set by the clinic: {}", names.join(", ")));
        audit::record(&state.db, entry).await.ok();
        return Err(AppError::Forbidden);
    }
    let own = OwnPreferences {
        visit_minutes: may(PreferenceField::VisitMinutes).then_some(values.visit_minutes),
        host_video: may(PreferenceField::HostVideo).then_some(values.host_video),
        participant_video: may(PreferenceField::ParticipantVideo)
            .then_some(values.participant_video),
        mute_upon_entry: may(PreferenceField::MuteUponEntry).then_some(values.mute_upon_entry),
        reminder_leads: may(PreferenceField::ReminderLeads).then(|| values.reminder_leads.clone()),
    };
    let before = row.effective();
    let after = PreferencesRow {
        own: own.clone(),
        ..row.clone()
    }
    .effective();
    let resend = zoom_fields_differ(&before, &after);
    let queued = state
        .db
        .save_doctor_preferences(doctor.id, &own, resend)
        .await
        .map_err(internal("saving preferences"))?;
    if queued > 0 {
        state.jobs_wake.notify_one();
    }
    let entry = Entry::new(
        Actor::User(doctor.id),
        Action::PreferencesSave,
        doctor.email.to_string(),
        Outcome::Ok,
    )
    .detail(format!(
        "{}; {queued} upcoming meetings to update",
        after.describe()
    ));
    audit::record(&state.db, entry).await.ok();
    mine(state, doctor).await
}

/// Each doctor's default visit length, for the booking form.
pub async fn visit_lengths(state: &AppState) -> Result<Vec<(i64, u32)>, AppError> {
    let clinic = state
        .db
        .preferences_of(0)
        .await
        .map_err(internal("reading the clinic's preferences"))?;
    if !clinic
        .doctor_may_change
        .contains(&PreferenceField::VisitMinutes)
    {
        return Ok(Vec::new());
    }
    state
        .db
        .own_visit_minutes()
        .await
        .map_err(internal("reading visit lengths"))
}

/// The clinic's default visit length, for doctors without their own.
pub async fn clinic_visit_minutes(state: &AppState) -> Result<u32, AppError> {
    Ok(clinic_view(state).await?.values.visit_minutes)
}
