use super::RequireRole;
use crate::api::users::{list_users, CreateUser, UpdateUser};
use crate::api::{ProfileFields, UserView};
use crate::components::field::{
    form_field_error, server_error_for, server_error_general, TextField,
};
use crate::components::resource::resource;
use crate::components::submission::SubmissionOf;
use crate::domain::{NewPassword, Role};
use leptos::prelude::*;

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    view! { <RequireRole roles=&[Role::Admin] content=|_| view! { <UsersAdmin /> } /> }
}

#[component]
fn UsersAdmin() -> impl IntoView {
    let create = SubmissionOf::<CreateUser>::new();
    let update = SubmissionOf::<UpdateUser>::new();
    let users = resource(
        move || (create.version().get(), update.version().get()),
        |_| list_users(),
    );
    let editing = RwSignal::new(None::<UserView>);
    Effect::new(move |_| {
        if let Some(Ok(_)) = update.value().get() {
            editing.set(None);
        }
    });

    view! {
        <section class="card">
            <h1>"Users"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading users…"</p> }>
                {move || users.get().map(|result| match result {
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="users" data-testid="users-table">
                            <thead><tr><th>"Email"</th><th>"Role"</th><th>"Name"</th><th>"Time zone"</th><th>"Status"</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|user| user_row(user, editing, update)).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Transition>
        </section>
        {move || match editing.get() {
            Some(user) => view! {
                <section class="card">
                    <h2>"Edit " {user.email.to_string()}</h2>
                    <UserForm existing=Some(user) create update on_cancel=move |_| editing.set(None) />
                </section>
            }.into_any(),
            None => view! {
                <section class="card">
                    <h2>"New user"</h2>
                    <UserForm existing=None create update on_cancel=|_| () />
                </section>
            }.into_any(),
        }}
    }
}

fn user_row(
    user: UserView,
    editing: RwSignal<Option<UserView>>,
    update: SubmissionOf<UpdateUser>,
) -> impl IntoView {
    let toggle = {
        let user = user.clone();
        move |_| {
            update.dispatch(UpdateUser {
                id: user.id,
                email: user.email.to_string(),
                role: user.role.to_string(),
                display_name: user.display_name.as_ref().map(|n| n.to_string()),
                time_zone: user.time_zone.as_ref().map(|z| z.to_string()),
                active: !user.active,
            });
        }
    };
    let edit = {
        let user = user.clone();
        move |_| editing.set(Some(user.clone()))
    };
    view! {
        <tr class:inactive=!user.active data-email=user.email.to_string()>
            <td>{user.email.to_string()}</td>
            <td>{user.role.label()}</td>
            <td>{user.display_name.map(|n| n.to_string()).unwrap_or_default()}</td>
            <td>{user.time_zone.map(|z| z.to_string()).unwrap_or_default()}</td>
            <td>{if user.active { "active" } else { "deactivated" }}</td>
            <td class="actions">
                <button class="link" on:click=edit>"Edit"</button>
                <button class="link" on:click=toggle>{if user.active { "Deactivate" } else { "Reactivate" }}</button>
            </td>
        </tr>
    }
}

/// Create and edit share one form; edit has no password field (people change their own).
#[component]
fn UserForm(
    existing: Option<UserView>,
    create: SubmissionOf<CreateUser>,
    update: SubmissionOf<UpdateUser>,
    #[prop(into)] on_cancel: Callback<()>,
) -> impl IntoView {
    let is_edit = existing.is_some();
    let email = RwSignal::new(
        existing
            .as_ref()
            .map(|u| u.email.to_string())
            .unwrap_or_default(),
    );
    let role = RwSignal::new(
        existing
            .as_ref()
            .map(|u| u.role.to_string())
            .unwrap_or_else(|| "patient".into()),
    );
    let name = RwSignal::new(
        existing
            .as_ref()
            .and_then(|u| u.display_name.as_ref())
            .map(|n| n.to_string())
            .unwrap_or_default(),
    );
    let zone = RwSignal::new(
        existing
            .as_ref()
            .and_then(|u| u.time_zone.as_ref())
            .map(|z| z.to_string())
            .unwrap_or_default(),
    );
    let password = RwSignal::new(String::new());
    let submitted = RwSignal::new(false);
    let existing_id = existing.as_ref().map(|u| u.id);
    let existing_active = existing.as_ref().map(|u| u.active).unwrap_or(true);

    let parsed = Memo::new(move |_| {
        ProfileFields::parse(
            &email.get(),
            &role.get(),
            Some(&name.get()),
            Some(&zone.get()),
        )
    });
    let last_error = move || {
        if is_edit {
            update.value().get().and_then(Result::err)
        } else {
            create.value().get().and_then(Result::err)
        }
    };
    // A field's problem is shown once something was typed into it, or after a submit attempt.
    let field_error = move |field: &'static str, typed: RwSignal<String>| {
        form_field_error(parsed, field, typed, submitted, last_error)
    };
    // A patient created without a password is mailed an invitation to choose one.
    let invites = move || Role::parse(&role.get()).ok() == Some(Role::Patient);
    let password_error = Signal::derive(move || {
        let typed = password.get();
        if typed.is_empty() && (!submitted.get() || invites()) {
            return server_error_for(last_error, "password").get();
        }
        NewPassword::parse(&typed).err().map(|e| e.0)
    });
    let general_error = server_error_general(
        last_error,
        &["email", "role", "display_name", "time_zone", "password"],
    );
    let role_value = move || Role::parse(&role.get()).ok();
    let shows_name = move || role_value().is_some_and(Role::has_display_name);
    let shows_zone = move || role_value().is_some_and(Role::has_time_zone);

    Effect::new(move |_| {
        if !is_edit {
            if let Some(Ok(_)) = create.value().get() {
                email.set(String::new());
                name.set(String::new());
                zone.set(String::new());
                password.set(String::new());
                submitted.set(false);
            }
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submitted.set(true);
        let fields_ok = parsed.with_untracked(|p| p.is_ok());
        let optional =
            |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        match existing_id {
            Some(id) if fields_ok => {
                update.dispatch(UpdateUser {
                    id,
                    email: email.get_untracked(),
                    role: role.get_untracked(),
                    display_name: optional(name),
                    time_zone: optional(zone),
                    active: existing_active,
                });
            }
            None if fields_ok
                && (NewPassword::parse(&password.get_untracked()).is_ok()
                    || (password.get_untracked().is_empty()
                        && Role::parse(&role.get_untracked()).ok() == Some(Role::Patient))) =>
            {
                create.dispatch(CreateUser {
                    email: email.get_untracked(),
                    role: role.get_untracked(),
                    display_name: optional(name),
                    time_zone: optional(zone),
                    password: password.get_untracked(),
                });
            }
            _ => {}
        }
    };
    let pending = move || create.pending().get() || update.pending().get();

    view! {
        <form class="user-form" method="post" action=if is_edit { "/api/admin/users/update" } else { "/api/admin/users/create" } on:submit=on_submit novalidate data-testid=if is_edit { "edit-user-form" } else { "new-user-form" }>
            <TextField label="Email" name="email" value=email error=field_error("email", email) kind="email" />
            <div class="field">
                <label for="field-role">"Role"</label>
                <select id="field-role" name="role" prop:value=move || role.get() on:change=move |ev| role.set(event_target_value(&ev))>
                    {Role::ALL.iter().map(|r| view! { <option value=r.as_str() selected=move || role.get() == r.as_str()>{r.label()}</option> }).collect_view()}
                </select>
            </div>
            <Show when=shows_name>
                <TextField label="Display name (shown to patients)" name="display_name" value=name error=field_error("display_name", name) />
            </Show>
            <Show when=shows_zone>
                <div class="field">
                    <crate::components::zone::ZoneField label="Time zone" name="time_zone" value=zone error=field_error("time_zone", zone) prefer_browser=!is_edit />
                </div>
            </Show>
            <Show when=move || !is_edit>
                <TextField label="Initial password (patients: leave empty to mail an invitation)" name="password" value=password error=password_error kind="password" autocomplete="new-password" />
            </Show>
            <p class="error" role="alert" data-testid="form-error">{move || general_error.get()}</p>
            <Show when=move || !is_edit && matches!(create.value().get(), Some(Ok(_)))>
                <p class="success" role="status">"User created."</p>
            </Show>
            <div class="buttons">
                <button type="submit" disabled=pending>{if is_edit { "Save changes" } else { "Create user" }}</button>
                <Show when=move || is_edit>
                    <button type="button" class="link" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </Show>
            </div>
        </form>
    }
}
