use super::UserView;
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn user_conflict(error: crate::server::persistence::StoreError) -> AppError {
    use crate::server::persistence::{StoreError, LAST_ACTIVE_ADMIN};
    match error {
        StoreError::Conflict(name) if name == LAST_ACTIVE_ADMIN => AppError::conflict(
            "This is the last active admin: make another account an active admin first.",
        ),
        StoreError::Conflict(_) => AppError::conflict("Another account already uses this email."),
        other => crate::server::internal("saving a user")(other),
    }
}

/// Every account, for the admin's user page.
#[server(prefix = "/api", endpoint = "admin/users/list")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
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
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn create_user(
    email: String,
    role: String,
    display_name: Option<String>,
    time_zone: Option<String>,
    #[server(default)] password: String,
) -> Result<UserView, AppError> {
    use super::ProfileFields;
    use crate::domain::{NewPassword, Role};
    use crate::server::audit::{self, Action, Actor, Entry, Outcome};
    use crate::server::auth::CallContext;
    use crate::server::persistence::NewUser;

    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let fields =
        ProfileFields::parse(&email, &role, display_name.as_deref(), time_zone.as_deref())?;
    // A patient created without a password is invited by mail to choose one; until then
    // the account holds a random password nobody knows.
    let invite = fields.role == Role::Patient && password.is_empty();
    let password = if invite {
        NewPassword::parse(&crate::server::notify::links::unusable_password())
    } else {
        NewPassword::parse(&password)
    }
    .map_err(|e| AppError::validation("password", e.0))?;
    let hash = ctx
        .state
        .hashing
        .hash(password)
        .await
        .map_err(|e| e.into_app_error("hashing a password"))?;
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
        .map_err(user_conflict)?;
    let entry = Entry::new(
        Actor::User(admin.id),
        Action::UserCreate,
        user.email.as_str(),
        Outcome::Ok,
    )
    .detail(user.role.as_str());
    audit::record(&ctx.state.db, entry).await.ok();
    if invite {
        crate::server::notify::links::invite(&ctx.state, &user).await?;
    }
    Ok(UserView::from(user))
}

/// Edits an account, including activating or deactivating it. An admin cannot lock themself
/// out: their own role and active flag cannot be changed here.
#[server(prefix = "/api", endpoint = "admin/users/update")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
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
    use crate::server::audit::{self, Action, Actor, Entry, Outcome};
    use crate::server::auth::CallContext;
    use crate::server::internal;
    use crate::server::persistence::UserUpdate;

    let ctx = CallContext::get().await?;
    let admin = ctx.require(&[Role::Admin]).await?;
    let fields =
        ProfileFields::parse(&email, &role, display_name.as_deref(), time_zone.as_deref())?;
    if id == admin.id && (fields.role != Role::Admin || !active) {
        return Err(AppError::conflict(
            "You cannot remove your own admin access; ask another admin.",
        ));
    }
    let before = ctx
        .state
        .db
        .user_by_id(id)
        .await
        .map_err(internal("loading a user"))?
        .ok_or_else(|| AppError::not_found("That user"))?;
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
        .map_err(user_conflict)?
        .ok_or_else(|| AppError::not_found("That user"))?;
    let action = match (before.active, updated.active) {
        (true, false) => Action::UserDeactivate,
        (false, true) => Action::UserReactivate,
        _ => Action::UserUpdate,
    };
    let entry = Entry::new(
        Actor::User(admin.id),
        action,
        updated.email.as_str(),
        Outcome::Ok,
    )
    .detail(updated.role.as_str());
    audit::record(&ctx.state.db, entry).await.ok();
    Ok(UserView::from(updated))
}
