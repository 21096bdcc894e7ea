//! Doctors' preferences (how their video visits start) and the clinic's defaults. Only a
//! doctor sets their own; only an admin sets the defaults and what doctors may change. The
//! rules live in `server::preferences`.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::types::preferences::{
    ClinicPreferencesView, MyPreferencesView, PreferenceField, PreferenceValues, ReminderLeads,
};

#[cfg(feature = "ssr")]
fn parse_values(
    visit_minutes: &str,
    host_video: bool,
    participant_video: bool,
    mute_upon_entry: bool,
    reminder_leads: &str,
) -> Result<PreferenceValues, AppError> {
    PreferenceValues::parse(
        visit_minutes,
        host_video,
        participant_video,
        mute_upon_entry,
        reminder_leads,
    )
    .map_err(|(field, message)| AppError::validation(field, message))
}

#[server(prefix = "/api", endpoint = "admin/preferences")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn clinic_preferences() -> Result<ClinicPreferencesView, AppError> {
    use crate::domain::Role;
    use crate::server::{auth::CallContext, preferences};
    let ctx = CallContext::get().await?;
    ctx.require(&[Role::Admin]).await?;
    preferences::clinic_view(&ctx.state).await
}

/// Saves the clinic's defaults. `doctor_may_change` lists the field keys doctors may set for
/// themselves, comma-separated (empty: none).
#[server(prefix = "/api", endpoint = "admin/preferences/save")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_clinic_preferences(
    visit_minutes: String,
    host_video: bool,
    participant_video: bool,
    mute_upon_entry: bool,
    reminder_leads: String,
    doctor_may_change: String,
) -> Result<ClinicPreferencesView, AppError> {
    use crate::domain::Role;
    use crate::server::{auth::CallContext, preferences};
    use crate::types::preferences::parse_field_list;
    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let values = parse_values(
        &visit_minutes,
        host_video,
        participant_video,
        mute_upon_entry,
        &reminder_leads,
    )?;
    let may = parse_field_list(&doctor_may_change)
        .map_err(|e| AppError::validation("doctor_may_change", e))?;
    preferences::save_clinic(&ctx.state, &admin, values, may).await
}

/// The calling doctor's preferences, the clinic's values and what Zoom forced.
#[server(prefix = "/api", endpoint = "preferences")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn my_preferences() -> Result<MyPreferencesView, AppError> {
    use crate::domain::Role;
    use crate::server::{auth::CallContext, preferences};
    let ctx = CallContext::get().await?;
    let doctor = ctx.require(&[Role::Doctor]).await?;
    preferences::mine(&ctx.state, &doctor).await
}

/// Saves the calling doctor's preferences. Every field is sent; one the clinic does not let
/// doctors change must carry the clinic's value (403 otherwise).
#[server(prefix = "/api", endpoint = "preferences/save")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn save_my_preferences(
    visit_minutes: String,
    host_video: bool,
    participant_video: bool,
    mute_upon_entry: bool,
    reminder_leads: String,
) -> Result<MyPreferencesView, AppError> {
    use crate::domain::Role;
    use crate::server::{auth::CallContext, preferences};
    let ctx = CallContext::get().await?;
    let doctor = ctx.require(&[Role::Doctor]).await?;
    let values = parse_values(
        &visit_minutes,
        host_video,
        participant_video,
        mute_upon_entry,
        &reminder_leads,
    )?;
    preferences::save_mine(&ctx.state, &doctor, values).await
}
