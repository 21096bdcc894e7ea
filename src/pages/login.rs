use crate::api::auth::Login;
use crate::app::Auth;
use crate::components::field::{server_error_for, server_error_general, TextField};
use crate::domain::Email;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

/// Only local paths are followed after login, so a crafted link cannot send someone who just
/// logged in to another site (open redirect).
fn safe_return_path(next: Option<String>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path
        }
        _ => "/".to_owned(),
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = Auth::use_context();
    let query = use_query_map();
    let navigate = use_navigate();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submitted = RwSignal::new(false);

    let last_error = move || auth.login.value().get().and_then(Result::err);
    let email_error = Signal::derive(move || {
        let typed = email.get();
        if typed.is_empty() && !submitted.get() {
            return None;
        }
        Email::parse(&typed).err().map(|e| e.0)
    });
    let email_field_error = Signal::derive(move || {
        email_error
            .get()
            .or_else(|| server_error_for(last_error, "email").get())
    });
    let password_error = Signal::derive(move || {
        if submitted.get() && password.get().is_empty() {
            Some("Enter your password.".to_owned())
        } else {
            server_error_for(last_error, "password").get()
        }
    });
    let general_error = server_error_general(last_error, &["email", "password"]);

    // Only a login made on this visit to the page counts, not one from earlier in the session.
    let logins_before = auth.login.version().get_untracked();
    Effect::new(move |_| {
        if auth.login.version().get() == logins_before {
            return;
        }
        if let Some(Ok(_)) = auth.login.value().get() {
            let next = safe_return_path(query.with_untracked(|q| q.get("next")));
            navigate(&next, Default::default());
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submitted.set(true);
        if Email::parse(&email.get_untracked()).is_ok() && !password.get_untracked().is_empty() {
            auth.login.dispatch(Login {
                email: email.get_untracked(),
                password: password.get_untracked(),
            });
        }
    };

    view! {
        <section class="card narrow">
            <h1>"Log in"</h1>
            <form method="post" action="/api/auth/login" on:submit=on_submit novalidate>
                <TextField label="Email" name="email" value=email error=email_field_error kind="email" autocomplete="username" />
                <TextField label="Password" name="password" value=password error=password_error kind="password" autocomplete="current-password" />
                <p class="error" role="alert" data-testid="login-error">{move || general_error.get()}</p>
                <button type="submit" disabled=move || auth.login.pending().get()>
                    {move || if auth.login.pending().get() { "Logging in…" } else { "Log in" }}
                </button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return_path;

    #[test]
    fn only_local_return_paths_are_followed() {
        assert_eq!(
            safe_return_path(Some("/admin/users".into())),
            "/admin/users"
        );
        assert_eq!(safe_return_path(Some("//evil.example".into())), "/");
        assert_eq!(safe_return_path(Some("https://evil.example".into())), "/");
        assert_eq!(safe_return_path(Some("/\\evil.example".into())), "/");
        assert_eq!(safe_return_path(None), "/");
    }
}
