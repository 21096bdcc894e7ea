use super::RequireRole;
use crate::api::Me;
use crate::domain::Role;
use leptos::prelude::*;

/// Each role lands on its own home page.
#[component]
pub fn HomePage() -> impl IntoView {
    view! { <RequireRole roles=&[] content=role_home /> }
}

fn role_home(me: Me) -> impl IntoView {
    let greeting = me
        .display_name
        .as_ref()
        .map(|n| n.to_string())
        .unwrap_or_else(|| me.email.to_string());
    let zone = me.time_zone.map(|z| z.to_string());
    let (title, body): (&str, AnyView) = match me.role {
        Role::Admin => (
            "Clinic administration",
            view! {
                <ul class="tiles">
                    <li><a href="/admin/users">"Manage users"</a>" — create, edit and deactivate accounts."</li>
                    <li><a href="/profile">"Your profile"</a>" — change your password."</li>
                </ul>
            }.into_any(),
        ),
        Role::Receptionist => (
            "Reception desk",
            view! { <p>"Video visits you book for patients will be listed here."</p> }.into_any(),
        ),
        Role::Doctor => (
            "Your clinic day",
            view! { <p>"Your video visits, with a Start button for each, will be listed here."</p> }.into_any(),
        ),
        Role::Patient => (
            "Your visits",
            view! { <p>"Your upcoming video visits and their Join links will be listed here."</p> }.into_any(),
        ),
    };
    view! {
        <section class="card" data-testid=format!("home-{}", me.role)>
            <h1>{title}</h1>
            <p class="muted">"Welcome, " {greeting} "."
                {zone.map(|z| view! { " Times are shown in " <strong>{z}</strong> "." })}
            </p>
            {body}
        </section>
    }
}
