//! Route-level views.

pub mod admin_users;
pub mod audit;
pub mod day;
pub mod home;
pub mod login;
pub mod outbox;
pub mod preferences;
pub mod profile;
pub mod visits;
pub mod zoom_admin;
pub mod zoom_doctor;
pub mod zoom_webhooks;

use crate::api::Me;
use crate::app::Auth;
use crate::domain::Role;
use leptos::prelude::*;

/// Renders `content` for a logged-in user whose role is in `roles` (any role when empty);
/// otherwise explains why not. The server functions behind `content` check again.
#[component]
pub fn RequireRole<F, V>(roles: &'static [Role], content: F) -> impl IntoView
where
    F: Fn(Me) -> V + Send + Sync + Clone + 'static,
    V: IntoView + 'static,
{
    let auth = Auth::use_context();
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let content = content.clone();
                auth.me.get().map(move |me| match me {
                    Ok(Some(me)) if roles.is_empty() || roles.contains(&me.role) => {
                        content(me).into_any()
                    }
                    Ok(Some(_)) => view! {
                        <section class="notice" data-testid="forbidden">
                            <h1>"Not allowed"</h1>
                            <p>"You do not have access to this page."</p>
                            <a href="/">"Back to your home page"</a>
                        </section>
                    }.into_any(),
                    Ok(None) => view! {
                        <section class="notice">
                            <p>"Please " <a href="/login">"log in"</a> " first."</p>
                        </section>
                    }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                })
            }}
        </Transition>
    }
}
