use super::UserView;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn fields_error(errors: super::FieldErrors) -> AppError {
    let (field, message) = errors
        .into_iter()
        .next()
        .unwrap_or(("form", "Invalid input.".into()));
    AppError::Validation {
        field: Some(field.to_owned()),
        message,
    }
}

#[cfg(feature = "ssr")]
fn email_conflict(error: crate::server::persistence::StoreError) -> AppError {
    use crate::server::persistence::StoreError;
    match error {
        StoreError::Conflict(_) => AppError::conflict("Another account already uses this email."),
        other => crate::server::internal("saving a user")(other),
    }
}

/// Every account, for the admin's user page.
#[server(prefix = "/api", endpoint = "admin/users/list")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    use crate::server::internal;
    let ctx = CallContext::get().await?;
    ctx.require(&[Role::Admin]).await?;
    let users = ctx
        .state
        .db
        .list_users()
        .await
        .map_err(internal("listing users"))?;
    Ok(users.into_iter().map(UserView::from).collect())
}

#[server(prefix = "/api", endpoint = "admin/users/create")]
pub async fn create_user(
    email: String,
    role: String,
    display_name: Option<String>,
    time_zone: Option<String>,
    password: String,
) -> Result<UserView, AppError> {
    use super::ProfileFields;
    use crate::domain::{NewPassword, Role};
    use crate::server::auth::{password as passwords, CallContext};
    use crate::server::internal;
    use crate::server::persistence::{NewAuditEntry, NewUser};

    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let fields = ProfileFields::parse(&email, &role, display_name.as_deref(), time_zone.as_deref())
        .map_err(fields_error)?;
    let password =
        NewPassword::parse(&password).map_err(|e| AppError::validation("password", e.0))?;
    let hash = passwords::hash(password)
        .await
        .map_err(internal("hashing a password"))?;
    let user = ctx
        .state
        .db
        .create_user(NewUser {
            email: fields.email,
            role: fields.role,
            display_name: fields.display_name,
            time_zone: fields.time_zone,
            password_hash: hash,
        })
        .await
        .map_err(email_conflict)?;
    let _ = ctx
        .state
        .db
        .append_audit(NewAuditEntry {
            actor_id: Some(admin.id),
            action: "user.create",
            subject: user.email.as_str(),
            outcome: "ok",
            detail: Some(user.role.as_str()),
        })
        .await;
    Ok(UserView::from(user))
}

/// Edits an account, including activating or deactivating it. An admin cannot lock themself
/// out: their own role and active flag cannot be changed here.
#[server(prefix = "/api", endpoint = "admin/users/update")]
pub async fn update_user(
    id: i64,
    email: String,
    role: String,
    display_name: Option<String>,
    time_zone: Option<String>,
    active: bool,
) -> Result<UserView, AppError> {
    use super::ProfileFields;
    use crate::domain::Role;
    use crate::server::auth::CallContext;
    use crate::server::persistence::{NewAuditEntry, UserUpdate};

    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let fields = ProfileFields::parse(&email, &role, display_name.as_deref(), time_zone.as_deref())
        .map_err(fields_error)?;
    if id == admin.id && (fields.role != Role::Admin || !active) {
        return Err(AppError::conflict(
            "You cannot remove your own admin access; ask another admin.",
        ));
    }
    let updated = ctx
        .state
        .db
        .update_user(
            id,
            UserUpdate {
                email: fields.email,
                role: fields.role,
                display_name: fields.display_name,
                time_zone: fields.time_zone,
                active,
            },
        )
        .await
        .map_err(email_conflict)?
        .ok_or_else(|| AppError::not_found("That user"))?;
    let _ = ctx
        .state
        .db
        .append_audit(NewAuditEntry {
            actor_id: Some(admin.id),
            action: if active {
                "user.update"
            } else {
                "user.deactivate"
            },
            subject: updated.email.as_str(),
            outcome: "ok",
            detail: Some(updated.role.as_str()),
        })
        .await;
    Ok(UserView::from(updated))
}
