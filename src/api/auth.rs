use super::Me;
use crate::error::AppError;
use leptos::prelude::*;

/// Logs in with email and password. Unknown email and wrong password are indistinguishable
/// (same answer, same time). Repeated failures per account or per client address answer 429.
#[server(prefix = "/api", endpoint = "auth/login")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn login(email: String, password: String) -> Result<Me, AppError> {
    use crate::domain::Email;
    use crate::server::audit::{self, Action, Actor, Entry, Outcome};
    use crate::server::auth::{password as passwords, session, CallContext};
    use crate::server::internal;
    use crate::server::persistence::{now_unix, ThrottleScope};
    use axum::extract::ConnectInfo;
    use secrecy::SecretString;
    use std::net::SocketAddr;

    let ctx = CallContext::get().await?;
    let db = &ctx.state.db;
    let settings = &ctx.state.settings;
    let ConnectInfo(peer) = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .map_err(internal("reading the client address"))?;
    let address = peer.ip().to_string();
    let window = settings.login_failure_window.as_secs() as i64;

    let throttle = |scope, subject: String, limit: u32| async move {
        let (failures, oldest) = db
            .recent_login_failures(scope, &subject, window)
            .await
            .map_err(internal("counting login failures"))?;
        if failures >= i64::from(limit) {
            let retry_after = oldest
                .map(|t| t + window - now_unix())
                .unwrap_or(window)
                .max(1);
            return Err(AppError::RateLimited {
                retry_after_secs: retry_after as u64,
            });
        }
        Ok::<_, AppError>(())
    };
    throttle(
        ThrottleScope::Address,
        address.clone(),
        settings.login_max_failures_per_address,
    )
    .await?;

    let email = match Email::parse(&email) {
        Ok(email) => email,
        Err(e) => {
            db.record_login_failure(ThrottleScope::Address, &address)
                .await
                .map_err(internal("recording a login failure"))?;
            return Err(AppError::validation("email", e.0));
        }
    };
    throttle(
        ThrottleScope::Account,
        email.to_string(),
        settings.login_max_failures_per_account,
    )
    .await?;

    let found = db
        .credentials_by_email(&email)
        .await
        .map_err(internal("loading credentials"))?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let matches = passwords::verify(SecretString::from(password), hash)
        .await
        .map_err(internal("verifying a password"))?;
    let user = match user {
        Some(user) if matches && user.active => user,
        known => {
            db.record_login_failure(ThrottleScope::Account, email.as_str())
                .await
                .and(
                    db.record_login_failure(ThrottleScope::Address, &address)
                        .await,
                )
                .map_err(internal("recording a login failure"))?;
            // A failed login against a real account is recorded against it; one naming no
            // account is counted, so anonymous callers cannot fill the trail with subjects of
            // their choosing.
            match known {
                Some(_) => {
                    let entry = Entry::new(
                        Actor::Anonymous,
                        Action::Login,
                        email.as_str(),
                        Outcome::Refused,
                    )
                    .detail(address.as_str());
                    audit::record(db, entry).await.ok();
                }
                None => {
                    let entry = Entry::new(Actor::Anonymous, Action::Login, "", Outcome::Refused)
                        .detail("unknown account");
                    audit::record_counted(db, entry).await.ok();
                }
            }
            tracing::info!(%address, "login refused");
            return Err(AppError::InvalidCredentials);
        }
    };

    db.clear_login_failures(ThrottleScope::Account, email.as_str())
        .await
        .map_err(internal("clearing login failures"))?;
    session::log_in(&ctx.session, &user).await?;
    let entry = Entry::new(
        Actor::User(user.id),
        Action::Login,
        email.as_str(),
        Outcome::Ok,
    )
    .detail(address.as_str());
    audit::record(db, entry).await.ok();
    tracing::info!(user_id = user.id, role = %user.role, "logged in");
    Ok(Me::from(&user))
}

/// Ends the caller's session on the server. Harmless when nobody is logged in.
#[server(prefix = "/api", endpoint = "auth/logout")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::auth::{session, CallContext};
    let ctx = CallContext::get().await?;
    if let Ok(user) = ctx.user().await {
        tracing::info!(user_id = user.id, "logged out");
    }
    session::log_out(&ctx.session).await
}

/// Who is logged in, or `None`. Open to everyone: it is how a page learns it must ask for a login.
#[server(prefix = "/api", endpoint = "auth/me")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    use crate::server::auth::{session, CallContext};
    let ctx = CallContext::get().await?;
    let user = session::current_user(&ctx.session, &ctx.state.db).await?;
    Ok(user.as_ref().map(Me::from))
}
