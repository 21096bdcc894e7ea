use crate::api::auth::Login;
use crate::api::sign_in::RequestSignInLink;
use crate::app::Auth;
use crate::components::field::{server_error_for, server_error_general, TextField};
use crate::components::submission::SubmissionOf;
use crate::domain::Email;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

/// Only local paths are followed after login, so a crafted link cannot send someone who just
/// logged in to another site (open redirect). Browsers read `\\` as `/` and silently drop
/// tabs and newlines, so `/\\evil.example` and `/<tab>/evil.example` both mean
/// `//evil.example`, another host: a path is followed only if it has no control characters,
/// spaces or backslashes, and neither it nor its percent-decoded form starts with two slashes
/// (or a slash and a backslash) or holds a control character.
fn safe_return_path(next: Option<String>) -> String {
    let local = |path: &str| {
        path.starts_with('/')
            && !path.starts_with("//")
            && !path.starts_with("/\\")
            && !path.chars().any(char::is_control)
    };
    match next {
        Some(path)
            if local(&path)
                && !path.chars().any(|c| c.is_whitespace() || c == '\\')
                && local(&percent_decoded(&path)) =>
        {
            path
        }
        _ => "/".to_owned(),
    }
}

/// `%XX` sequences decoded once (invalid ones kept as they are).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
    let link = SubmissionOf::<RequestSignInLink>::new();
    let link_answer = move || {
        match link.value().get() {
        Some(Ok(())) => Some(
            "If this address belongs to a patient account, a sign-in link is on its way. It works once, for 15 minutes."
                .to_owned(),
        ),
        Some(Err(error)) => Some(error.to_string()),
        None => None,
    }
    };
    let on_link = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submitted.set(true);
        if Email::parse(&email.get_untracked()).is_ok() {
            link.dispatch(RequestSignInLink {
                email: email.get_untracked(),
                next: query.with_untracked(|q| q.get("next")).unwrap_or_default(),
            });
        }
    };

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
            <form method="post" action="/api/auth/sign-in-link" on:submit=on_link novalidate>
                <p class="muted">"No password? Patients can sign in with a link sent to their email."</p>
                <button type="submit" class="secondary" data-testid="email-link" disabled=move || link.pending().get()>
                    "Email me a sign-in link"
                </button>
                <p role="status" data-testid="link-answer">{link_answer}</p>
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

    #[test]
    fn paths_a_browser_would_read_as_another_host_are_refused() {
        for evil in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "\t//evil.example",
            " //evil.example",
            "/ /evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/%2F/evil.example",
            "/%2f/evil.example",
            "/%5Cevil.example",
            "/%5c%5cevil.example",
            "%2F%2Fevil.example",
            "/%09/evil.example",
            "//evil.example/%2e%2e",
            "https:evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_return_path(Some(evil.into())), "/", "{evil:?}");
        }
        for local in ["/visits/abc?tab=1", "/admin/users", "/visits/a%20b", "/"] {
            assert_eq!(safe_return_path(Some(local.into())), local);
        }
    }
}
