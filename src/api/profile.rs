use crate::error::AppError;
use leptos::prelude::*;

/// Changes the caller's own password. Every other session of the caller ends; this one stays.
#[server(prefix = "/api", endpoint = "profile/password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use crate::domain::NewPassword;
    use crate::server::auth::{password, session, CallContext};
    use crate::server::internal;
    use crate::server::persistence::NewAuditEntry;
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
    let _ = db
        .append_audit(NewAuditEntry {
            actor_id: Some(user.id),
            action: "password.change",
            subject: user.email.as_str(),
            outcome: "ok",
            detail: None,
        })
        .await;
    Ok(())
}
