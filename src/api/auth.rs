use super::Me;
use crate::error::AppError;
use leptos::prelude::*;

/// Logs in with email and password. Unknown email and wrong password are indistinguishable
/// (same answer, same time). Repeated failures per account or per client address answer 429;
/// every password check slot taken answers 503.
#[server(prefix = "/api", endpoint = "auth/login")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn login(email: String, password: String) -> Result<Me, AppError> {
    use crate::domain::Email;
    use crate::server::audit::{self, Action, Actor, Entry, Outcome};
    use crate::server::auth::{session, throttle::Attempts, CallContext};
    use crate::server::client_ip::throttle_key;
    use crate::server::internal;
    use crate::server::persistence::ThrottleScope;
    use secrecy::SecretString;

    let ctx = CallContext::get().await?;
    let db = &ctx.state.db;
    let settings = &ctx.state.settings;
    let client = ctx.client_ip().await?;
    // What failures are counted against (IPv6: the /64), and what the audit trail records.
    let address = throttle_key(client);
    let client = client.to_string();

    // Counted before the password is checked, so parallel guesses cannot exceed the limits.
    let mut attempts = Attempts::new(db, settings.login_failure_window);
    attempts
        .count(
            ThrottleScope::Address,
            &address,
            settings.login_max_failures_per_address,
        )
        .await?;
    let email = Email::parse(&email).map_err(|e| AppError::validation("email", e.0))?;
    attempts
        .count(
            ThrottleScope::Account,
            email.as_str(),
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
    let matches = match ctx
        .state
        .hashing
        .verify(SecretString::from(password), hash)
        .await
    {
        Ok(matches) => matches,
        Err(error) => {
            attempts.withdraw().await?;
            return Err(error.into_app_error("verifying a password"));
        }
    };
    let user = match user {
        Some(user) if matches && user.active => user,
        known => {
            // The attempts counted above stay: they were failures.
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
                    .detail(client.as_str());
                    audit::record(db, entry).await.ok();
                }
                None => {
                    let entry = Entry::new(Actor::Anonymous, Action::Login, "", Outcome::Refused)
                        .detail("unknown account");
                    audit::record_counted(db, entry).await.ok();
                }
            }
            tracing::info!(%client, "login refused");
            return Err(AppError::InvalidCredentials);
        }
    };

    attempts.withdraw().await?;
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
    .detail(client.as_str());
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
