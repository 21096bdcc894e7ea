//! The admin's Outbox: every mail the app queued, whether it went out, and why not. In demo
//! mode each mail opens (its HTML part) and its calendar invitation downloads.

use super::RequireRole;
use crate::api::outbox::{outbox, OutboxEntry};
use crate::components::resource::resource;
use crate::domain::Role;
use leptos::prelude::*;

#[component]
pub fn OutboxPage() -> impl IntoView {
    view! { <RequireRole roles=&[Role::Admin] content=|_| view! { <OutboxTable /> } /> }
}

fn state_label(entry: &OutboxEntry) -> String {
    match entry.state.as_str() {
        "sent" => "sent".to_owned(),
        "failed" => "failed".to_owned(),
        _ if entry.attempts == 0 => "not sent yet".to_owned(),
        _ => format!("not sent yet (retrying, {} attempts)", entry.attempts),
    }
}

#[component]
fn OutboxTable() -> impl IntoView {
    let mails = resource(|| (), |_| outbox());
    view! {
        <h1>"Outbox"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                mails
                    .get()
                    .map(|answer| match answer {
                        Err(error) => {
                            view! { <p class="error" role="alert">{error.to_string()}</p> }
                                .into_any()
                        }
                        Ok(view) => {
                            let show = view.show_bodies;
                            view! {
                                <Show when=move || !view.smtp_configured>
                                    <p class="notice" data-testid="no-smtp">
                                        "No mail server is set up (SMTP_URL): mail waits here and is not sent."
                                    </p>
                                </Show>
                                <table data-testid="outbox">
                                    <thead>
                                        <tr>
                                            <th>"To"</th>
                                            <th>"Subject"</th>
                                            <th>"State"</th>
                                            <th>"Last problem"</th>
                                            {show.then(|| view! { <th>"Mail"</th> })}
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {view
                                            .entries
                                            .into_iter()
                                            .map(|entry| {
                                                let state = state_label(&entry);
                                                let message = format!(
                                                    "/api/admin/outbox/{}/message.html",
                                                    entry.id,
                                                );
                                                let invite = format!(
                                                    "/api/admin/outbox/{}/invite.ics",
                                                    entry.id,
                                                );
                                                let has_invite = entry.has_invite;
                                                view! {
                                                    <tr data-testid="outbox-mail">
                                                        <td>{entry.recipient}</td>
                                                        <td>{entry.subject}</td>
                                                        <td>{state}</td>
                                                        <td>{entry.last_error.unwrap_or_default()}</td>
                                                        {show
                                                            .then(|| {
                                                                view! {
                                                                    <td>
                                                                        <a href=message target="_blank" rel="noopener">
                                                                            "Open"
                                                                        </a>
                                                                        {has_invite
                                                                            .then(|| {
                                                                                view! {
                                                                                    " · "
                                                                                    <a href=invite download="invite.ics">
                                                                                        "invite.ics"
                                                                                    </a>
                                                                                }
                                                                            })}
                                                                    </td>
                                                                }
                                                            })}
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}
