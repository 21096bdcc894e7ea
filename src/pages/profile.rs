use super::RequireRole;
use crate::api::profile::ChangePassword;
use crate::api::Me;
use crate::components::field::{server_error_for, server_error_general, TextField};
use crate::components::submission::SubmissionOf;
use crate::domain::NewPassword;
use leptos::prelude::*;

#[component]
pub fn ProfilePage() -> impl IntoView {
    view! { <RequireRole roles=&[] content=|me: Me| view! { <PasswordForm me /> } /> }
}

#[component]
fn PasswordForm(me: Me) -> impl IntoView {
    let action = SubmissionOf::<ChangePassword>::new();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let last_error = move || action.value().get().and_then(Result::err);

    let new_error = Signal::derive(move || {
        let typed = new.get();
        if typed.is_empty() {
            return server_error_for(last_error, "new_password").get();
        }
        NewPassword::parse(&typed).err().map(|e| e.0)
    });
    let confirm_error = Signal::derive(move || {
        let typed = confirm.get();
        (!typed.is_empty() && typed != new.get()).then(|| "The two passwords differ.".to_owned())
    });
    let current_error = server_error_for(last_error, "current_password");
    let general_error = server_error_general(last_error, &["current_password", "new_password"]);
    let ready = move || {
        !current.get().is_empty()
            && NewPassword::parse(&new.get()).is_ok()
            && confirm.get() == new.get()
    };
    let done = move || matches!(action.value().get(), Some(Ok(())));

    Effect::new(move |_| {
        if done() {
            current.set(String::new());
            new.set(String::new());
            confirm.set(String::new());
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if ready() {
            action.dispatch(ChangePassword {
                current_password: current.get_untracked(),
                new_password: new.get_untracked(),
            });
        }
    };

    view! {
        <section class="card narrow">
            <h1>"Your profile"</h1>
            <dl class="facts">
                <dt>"Email"</dt><dd>{me.email.to_string()}</dd>
                <dt>"Role"</dt><dd>{me.role.label()}</dd>
                {me.time_zone.map(|z| view! { <dt>"Time zone"</dt><dd>{z.to_string()}</dd> })}
            </dl>
            <h2>"Change password"</h2>
            <form method="post" action="/api/profile/password" on:submit=on_submit novalidate>
                <TextField label="Current password" name="current_password" value=current error=current_error kind="password" autocomplete="current-password" />
                <TextField label="New password" name="new_password" value=new error=new_error kind="password" autocomplete="new-password" />
                <TextField label="Repeat new password" name="confirm_password" value=confirm error=confirm_error kind="password" autocomplete="new-password" />
                <p class="error" role="alert">{move || general_error.get()}</p>
                <Show when=done>
                    <p class="success" role="status">"Password changed. Your other sessions have ended."</p>
                </Show>
                <button type="submit" disabled=move || !ready() || action.pending().get()>"Change password"</button>
            </form>
        </section>
    }
}
