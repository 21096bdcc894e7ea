//! Appointments and their meetings. Each server function finds the caller, parses its input
//! and hands both to `server::visits::service`, which holds the rules: who may do what, the
//! store write, the meeting worker's wake-up and the audit entry. A visit outside the caller's
//! view is "not found"; one they see but may not act on is "forbidden". Start and join links
//! are fetched or decrypted only after those checks, and never appear in a refusal.

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::domain::{JoinWindow, JOIN_OPENS_BEFORE_SECS};
pub use crate::types::visits::{
    BookingChoices, Choice, MeetingLink, MeetingView, VisitTimeFields, VisitView,
};

/// The appointments the caller may see, from a week ago on, soonest first.
#[server(prefix = "/api", endpoint = "visits/list")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn list_visits() -> Result<Vec<VisitView>, AppError> {
    use crate::server::{auth::CallContext, visits::service};
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    service::list(&ctx.state, &user).await
}

#[server(prefix = "/api", endpoint = "visits/get")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(visit = %id)))]
pub async fn get_visit(id: String) -> Result<VisitView, AppError> {
    use crate::server::audit::{Action, Actor};
    use crate::server::{auth::CallContext, visits::service};
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let id = service::visit_id(&ctx.state, Actor::User(user.id), Action::VisitOpen, &id).await?;
    service::open(&ctx.state, &user, &id).await
}

/// Whom the caller may book for, and with whom.
#[server(prefix = "/api", endpoint = "visits/options")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn booking_options() -> Result<BookingChoices, AppError> {
    use crate::server::{auth::CallContext, visits::service};
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    service::booking_options(&ctx.state, &user).await
}

/// Books a video visit. Admins and receptionists book for anyone; a patient for themself
/// (`patient_id` omitted or their own); a doctor with themself for a patient they already see.
/// The appointment is saved at once; its Zoom meeting follows in the background.
#[server(prefix = "/api", endpoint = "visits/book")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn book_visit(
    doctor_id: i64,
    patient_id: Option<i64>,
    start: String,
    zone: String,
    duration: String,
    reason: Option<String>,
) -> Result<VisitView, AppError> {
    use crate::server::{auth::CallContext, visits::service};
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let times = VisitTimeFields::parse(&start, &zone, &duration)?;
    let booking = service::Booking::parse(doctor_id, patient_id, times, reason)?;
    service::book(&ctx.state, &user, booking).await
}

/// Moves a visit; Zoom's meeting follows (PATCH). Anyone who sees the visit may move it.
#[server(prefix = "/api", endpoint = "visits/reschedule")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(visit = %id)))]
pub async fn reschedule_visit(
    id: String,
    start: String,
    zone: String,
    duration: String,
) -> Result<VisitView, AppError> {
    use crate::server::{auth::CallContext, visits::access, visits::service};
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let id = access::parse_id(&id)?;
    let times = VisitTimeFields::parse(&start, &zone, &duration)?;
    service::reschedule(&ctx.state, &user, &id, times).await
}

/// Gives the visit to another doctor (admins and receptionists). Zoom cannot move a meeting
/// between users, so the old meeting is deleted and a new one created.
#[server(prefix = "/api", endpoint = "visits/change-doctor")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(visit = %id)))]
pub async fn change_doctor(id: String, doctor_id: i64) -> Result<VisitView, AppError> {
    use crate::server::{auth::CallContext, visits::access, visits::service};
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let id = access::parse_id(&id)?;
    service::change_doctor(&ctx.state, &user, &id, doctor_id).await
}

/// Cancels a visit; its Zoom meeting is deleted in the background.
#[server(prefix = "/api", endpoint = "visits/cancel")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(visit = %id)))]
pub async fn cancel_visit(id: String) -> Result<VisitView, AppError> {
    use crate::server::{auth::CallContext, visits::access, visits::service};
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let id = access::parse_id(&id)?;
    service::cancel(&ctx.state, &user, &id).await
}

/// Queues a failed meeting again (the assigned doctor or an admin, after fixing the cause).
#[server(prefix = "/api", endpoint = "visits/retry")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(visit = %id)))]
pub async fn retry_meeting(id: String) -> Result<VisitView, AppError> {
    use crate::server::{auth::CallContext, visits::access, visits::service};
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let id = access::parse_id(&id)?;
    service::retry(&ctx.state, &user, &id).await
}

/// A fresh host start link, fetched from Zoom now (it is never stored). Only the assigned
/// doctor and admins; every call, granted or refused, is audited.
#[server(prefix = "/api", endpoint = "visits/start")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(visit = %id)))]
pub async fn start_meeting(id: String) -> Result<MeetingLink, AppError> {
    use crate::server::audit::{Action, Actor};
    use crate::server::{auth::CallContext, visits::service};
    use secrecy::ExposeSecret;
    let ctx = CallContext::get().await?;
    let user = service::caller(&ctx.state, ctx.user().await, Action::MeetingStart).await?;
    let id = service::visit_id(&ctx.state, Actor::User(user.id), Action::MeetingStart, &id).await?;
    let url = service::start_link(&ctx.state, &user, &id).await?;
    Ok(MeetingLink {
        url: url.expose_secret().to_owned(),
    })
}

/// The join link, for the patient, the assigned doctor and admins, while the visit is open
/// (from 15 minutes before the start to its end). Every call is audited.
#[server(prefix = "/api", endpoint = "visits/join")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(visit = %id)))]
pub async fn join_meeting(id: String) -> Result<MeetingLink, AppError> {
    use crate::server::audit::{Action, Actor};
    use crate::server::{auth::CallContext, visits::service};
    use secrecy::ExposeSecret;
    let ctx = CallContext::get().await?;
    let user = service::caller(&ctx.state, ctx.user().await, Action::MeetingJoin).await?;
    let id = service::visit_id(&ctx.state, Actor::User(user.id), Action::MeetingJoin, &id).await?;
    let url = service::join_link(&ctx.state, &user, &id).await?;
    Ok(MeetingLink {
        url: url.expose_secret().to_owned(),
    })
}
