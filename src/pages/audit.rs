//! The admin's audit page: start-link fetches, joins, bookings, settings changes, connects
//! and disconnects, newest first.

use super::RequireRole;
use crate::api::visits::audit_log;
use crate::domain::Role;
use leptos::prelude::*;

#[component]
pub fn AuditPage() -> impl IntoView {
    view! { <RequireRole roles=&[Role::Admin] content=|_| view! { <AuditTable /> } /> }
}

#[component]
fn AuditTable() -> impl IntoView {
    let entries = Resource::new(|| (), |_| audit_log());
    view! {
        <section class="card">
            <h1>"Audit log"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || entries.get().map(|result| match result {
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(entries) => view! {
                        <table class="users" data-testid="audit-log">
                            <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Subject"</th><th>"Outcome"</th><th>"Detail"</th></tr></thead>
                            <tbody>
                                {entries.into_iter().map(|e| { let action = e.action.clone(); view! {
                                    <tr data-testid="audit-row" data-action=action>
                                        <td>{e.at_display}</td>
                                        <td>{e.actor}</td>
                                        <td>{e.action}</td>
                                        <td><code>{e.subject}</code></td>
                                        <td>{e.outcome}</td>
                                        <td>{e.detail.unwrap_or_default()}</td>
                                    </tr>
                                } }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
