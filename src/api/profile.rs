use crate::error::AppError;
use leptos::prelude::*;

/// Changes the caller's own password. Every other session of the caller ends; this one stays.
/// The current password is checked under the same limits as a login (a stolen session must
/// not become a way to guess the password), and wrong guesses count against both.
#[server(prefix = "/api", endpoint = "profile/password")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use crate::domain::NewPassword;
    use crate::server::audit::{self, Action, Actor, Entry, Outcome};
    use crate::server::auth::{session, throttle::Attempts, CallContext};
    use crate::server::internal;
    use crate::server::persistence::ThrottleScope;
    use secrecy::SecretString;

    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let new_password =
        NewPassword::parse(&new_password).map_err(|e| AppError::validation("new_password", e.0))?;
    let db = &ctx.state.db;
    let settings = &ctx.state.settings;
    let address = crate::server::client_ip::throttle_key(ctx.client_ip().await?);
    let mut attempts = Attempts::new(db, settings.login_failure_window);
    attempts
        .count(
            ThrottleScope::Address,
            &address,
            settings.login_max_failures_per_address,
        )
        .await?;
    attempts
        .count(
            ThrottleScope::Account,
            user.email.as_str(),
            settings.login_max_failures_per_account,
        )
        .await?;
    let stored = db
        .password_hash_of(user.id)
        .await
        .map_err(internal("loading a password hash"))?;
    let hashing = &ctx.state.hashing;
    let matches = match hashing
        .verify(SecretString::from(current_password), stored)
        .await
    {
        Ok(matches) => matches,
        Err(error) => {
            attempts.withdraw().await?;
            return Err(error.into_app_error("verifying a password"));
        }
    };
    if !matches {
        let entry = Entry::new(
            Actor::User(user.id),
            Action::PasswordChange,
            user.email.as_str(),
            Outcome::Refused,
        )
        .detail("wrong current password");
        audit::record(db, entry).await.ok();
        return Err(AppError::validation(
            "current_password",
            "Your current password is not correct.",
        ));
    }
    attempts.withdraw().await?;
    db.clear_login_failures(ThrottleScope::Account, user.email.as_str())
        .await
        .map_err(internal("clearing login failures"))?;
    let hash = hashing
        .hash(new_password)
        .await
        .map_err(|e| e.into_app_error("hashing a password"))?;
    let epoch = db
        .set_password(user.id, &hash)
        .await
        .map_err(internal("storing a password"))?
        .ok_or(AppError::Unauthorized)?;
    session::adopt_epoch(&ctx.session, epoch).await?;
    let entry = Entry::new(
        Actor::User(user.id),
        Action::PasswordChange,
        user.email.as_str(),
        Outcome::Ok,
    );
    audit::record(db, entry).await.ok();
    Ok(())
}
