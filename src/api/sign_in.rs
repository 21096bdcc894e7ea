//! "Email me a sign-in link" (patients; staff when `STAFF_SIGN_IN_LINKS=true`). The link
//! itself is used through the plain route `/api/auth/link` (see `server::routes::sign_in`).

use crate::error::AppError;
use leptos::prelude::*;

/// Queues a single-use sign-in link to `email` if it belongs to someone who may use one.
/// The answer is the same either way; 429 past the per-address and per-client limits.
/// `next`: the visit page to land on (`/visits/{id}`), otherwise the home page.
#[server(prefix = "/api", endpoint = "auth/sign-in-link")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn request_sign_in_link(
    email: String,
    #[server(default)] next: String,
) -> Result<(), AppError> {
    use crate::server::auth::CallContext;
    let ctx = CallContext::get().await?;
    let client = ctx.client_ip().await?;
    crate::server::notify::links::request(&ctx.state, client, &email, &next).await
}
