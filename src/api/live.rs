//! The live parts of the pages. Paths under `/api/live/` are the pages' background re-reads
//! after a push event: they are checked like any other call but do not count as activity for
//! the idle timeout (`session::PASSIVE_PATHS`); the same reads made because the person opened
//! a page use the ordinary paths, which do.

use crate::error::AppError;
use crate::types::live::{DayView, SessionLeft};
use crate::types::visits::VisitView;
use leptos::prelude::*;

/// Today's visits with their live state: the doctor's own, the clinic's for staff.
#[server(prefix = "/api", endpoint = "visits/today")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn today_visits() -> Result<DayView, AppError> {
    use crate::server::{auth::CallContext, visits::day};
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    day::today(&ctx.state, &user).await
}

/// `today_visits`, re-read after a push event (not activity).
#[server(prefix = "/api", endpoint = "live/today")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn live_today() -> Result<DayView, AppError> {
    use crate::server::{auth::CallContext, visits::day};
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    day::today(&ctx.state, &user).await
}

/// `list_visits`, re-read after a push event (not activity).
#[server(prefix = "/api", endpoint = "live/visits")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn live_visits() -> Result<Vec<VisitView>, AppError> {
    use crate::server::{auth::CallContext, visits::service};
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    service::list(&ctx.state, &user).await
}

/// `get_visit`, re-read after a push event (not activity).
#[server(prefix = "/api", endpoint = "live/visit")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all, fields(visit = %id)))]
pub async fn live_visit(id: String) -> Result<VisitView, AppError> {
    use crate::server::audit::{Action, Actor};
    use crate::server::{auth::CallContext, visits::service};
    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let id = service::visit_id(&ctx.state, Actor::User(user.id), Action::VisitOpen, &id).await?;
    service::open(&ctx.state, &user, &id).await
}

/// "Stay signed in" on the logoff warning: an ordinary call, so it counts as activity; answers
/// the time the session now has.
#[server(prefix = "/api", endpoint = "session/stay")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn stay_signed_in() -> Result<SessionLeft, AppError> {
    use crate::server::auth::{session, session::Timeouts, CallContext};
    let ctx = CallContext::get().await?;
    ctx.user().await?;
    let settings = &ctx.state.settings;
    let timeouts = Timeouts {
        idle: settings.session_idle_timeout,
        absolute: settings.session_absolute_timeout,
    };
    Ok(SessionLeft {
        expires_in: session::seconds_left(&ctx.session, timeouts).await?,
    })
}

/// The IANA zone names for the time-zone fields, from the server's copy of the tz database
/// (the browser does not carry one).
#[server(prefix = "/api", endpoint = "time-zones")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn time_zones() -> Result<Vec<String>, AppError> {
    Ok(chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name().to_owned())
        .collect())
}
