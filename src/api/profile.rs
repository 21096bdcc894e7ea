use crate::error::AppError;
use leptos::prelude::*;

/// Changes the caller's own password. Every other session of the caller ends; this one stays.
#[server(prefix = "/api", endpoint = "profile/password")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use crate::domain::NewPassword;
    use crate::server::audit::{self, Action, Actor, Entry, Outcome};
    use crate::server::auth::{password, session, CallContext};
    use crate::server::internal;
    use secrecy::SecretString;

    let ctx = CallContext::get().await?;
    let user = ctx.user().await?;
    let new_password =
        NewPassword::parse(&new_password).map_err(|e| AppError::validation("new_password", e.0))?;
    let db = &ctx.state.db;
    let stored = db
        .password_hash_of(user.id)
        .await
        .map_err(internal("loading a password hash"))?;
    let matches = password::verify(SecretString::from(current_password), stored)
        .await
        .map_err(internal("verifying a password"))?;
    if !matches {
        return Err(AppError::validation(
            "current_password",
            "Your current password is not correct.",
        ));
    }
    let hash = password::hash(new_password)
        .await
        .map_err(internal("hashing a password"))?;
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
