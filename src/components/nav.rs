use crate::app::Auth;
use crate::domain::Role;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// The top bar. It offers only what the caller's role may use; the server refuses the rest
/// regardless.
#[component]
pub fn Nav() -> impl IntoView {
    let auth = Auth::use_context();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = auth.logout.value().get() {
            // The earlier login's result must not send the login page straight back home.
            auth.login.clear();
            navigate("/login", Default::default());
        }
    });
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Telehealth"</a>
            <Transition fallback=|| ()>
                {move || {
                    auth.me.get().map(|me| match me {
                        Ok(Some(me)) => {
                            let is_admin = me.role == Role::Admin;
                            let is_doctor = me.role == Role::Doctor;
                            view! {
                                <nav aria-label="Main">
                                    <a href="/">"Home"</a>
                                    <a href="/visits">"Visits"</a>
                                    <Show when=move || is_admin>
                                        <a href="/admin/users">"Users"</a>
                                        <a href="/admin/zoom">"Zoom settings"</a>
                                        <a href="/admin/audit">"Audit log"</a>
                                        <a href="/admin/outbox">"Outbox"</a>
                                    </Show>
                                    <Show when=move || is_doctor>
                                        <a href="/zoom">"Zoom"</a>
                                    </Show>
                                    <a href="/profile">"Profile"</a>
                                    <span class="who" data-testid="who">
                                        {me.email.to_string()} " · " {me.role.label()}
                                    </span>
                                    <button
                                        class="link"
                                        on:click=move |_| {
                                            auth.logout.dispatch(crate::api::auth::Logout {});
                                        }
                                    >
                                        "Log out"
                                    </button>
                                </nav>
                            }
                                .into_any()
                        }
                        _ => view! { <nav><a href="/login">"Log in"</a></nav> }.into_any(),
                    })
                }}
            </Transition>
        </header>
    }
}
