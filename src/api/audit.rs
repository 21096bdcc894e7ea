//! The admin's audit trail: filtered, a page at a time. The CSV export of the same filters is
//! the plain route `GET /api/admin/audit.csv` (see `server::routes::audit_export`).

use crate::error::AppError;
use leptos::prelude::*;

pub use crate::types::audit::{AuditFilterFields, AuditPageView, AuditView};

/// One page of audit entries matching the filters, newest first (admins). Empty filters match
/// everything; `before` is the previous page's `next_before`.
#[server(prefix = "/api", endpoint = "admin/audit")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn audit_log(
    #[server(default)] actor: String,
    #[server(default)] action: String,
    #[server(default)] visit: String,
    #[server(default)] from: String,
    #[server(default)] to: String,
    #[server(default)] before: Option<i64>,
) -> Result<AuditPageView, AppError> {
    use crate::domain::Role;
    use crate::server::{audit, auth::CallContext};
    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let filter = AuditFilterFields::parse(&actor, &action, &visit, &from, &to)?;
    audit::search(&ctx.state.db, &admin, &filter, before).await
}
