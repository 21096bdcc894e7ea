use super::day::DayPanel;
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
                    <li><a href="/visits">"Video visits"</a>" — every appointment and its Zoom meeting."</li>
                    <li><a href="/admin/audit">"Audit log"</a>" — start links, joins, settings and connections."</li>
                    <li><a href="/profile">"Your profile"</a>" — change your password."</li>
                </ul>
            }.into_any(),
        ),
        Role::Receptionist => (
            "Reception desk",
            view! { <p><a href="/visits">"Book and manage video visits"</a>" for patients."</p> }.into_any(),
        ),
        Role::Doctor => (
            "Your clinic day",
            view! { <p><a href="/visits">"Your video visits"</a>", with a Start button for each."</p> }.into_any(),
        ),
        Role::Patient => (
            "Your visits",
            view! { <p><a href="/visits">"Your video visits"</a>": book one, and join it when it opens."</p> }.into_any(),
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
        {(me.role != Role::Patient).then(|| view! { <DayPanel role=me.role /> })}
    }
}
