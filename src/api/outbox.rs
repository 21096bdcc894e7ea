//! The admin's mail outbox: every mail the app queued, sent or gave up on, with the reason.
//! In demo mode the page also opens each mail (`GET /api/admin/outbox/{id}/message.html`,
//! `.../invite.ics`, see `server::routes::outbox`).

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::types::mail::{OutboxEntry, OutboxView};

/// The newest 200 mails, newest first (admins).
#[server(prefix = "/api", endpoint = "admin/outbox")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn outbox() -> Result<OutboxView, AppError> {
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    let ctx = CallContext::get().await?;
    ctx.require(&[Role::Admin]).await?;
    crate::server::notify::admin_outbox(&ctx.state).await
}
