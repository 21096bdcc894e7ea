//! The admin's webhook set-up: the endpoint URL to give Zoom, the secret token (write-only)
//! and what the endpoint has received.

use super::zoom_admin::format_utc;
use crate::api::zoom::{SaveWebhookSecret, WebhookView};
use crate::components::field::{server_error_for, TextField};
use crate::components::submission::SubmissionOf;
use crate::domain::ZoomIdentifier;
use leptos::prelude::*;

#[component]
pub fn WebhookSettings(webhook: WebhookView) -> impl IntoView {
    let save = SubmissionOf::<SaveWebhookSecret>::new();
    let secret = RwSignal::new(String::new());
    let last_error = move || save.value().get().and_then(Result::err);
    let error = Signal::derive(move || {
        let typed = secret.get();
        if typed.is_empty() {
            return server_error_for(last_error, "secret_token").get();
        }
        ZoomIdentifier::parse(&typed)
            .err()
            .map(|e| e.0)
            .or_else(|| server_error_for(last_error, "secret_token").get())
    });
    let label = match webhook.secret_set_at {
        Some(at) => format!(
            "Secret token (set {}; enter a new one to replace it)",
            format_utc(at)
        ),
        None => "Secret token (from the Zoom app's Event Subscriptions)".to_owned(),
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !secret.get_untracked().is_empty() && error.get_untracked().is_none() {
            save.dispatch(SaveWebhookSecret {
                secret_token: secret.get_untracked(),
            });
        }
    };
    let counters = webhook
        .counters
        .into_iter()
        .map(|(name, count)| format!("{name}: {count}"))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <section class="card">
            <h2>"Zoom event notifications (webhooks)"</h2>
            <p class="muted">"Endpoint URL to enter in your Zoom app: "
                <code data-testid="webhook-url">{webhook.endpoint_url}</code>
            </p>
            <form method="post" action="/api/admin/zoom/webhook-secret" on:submit=on_submit novalidate data-testid="webhook-form">
                <TextField label=label name="secret_token" value=secret error kind="password" autocomplete="new-password" />
                <Show when=move || matches!(save.value().get(), Some(Ok(())))>
                    <p class="success" role="status" data-testid="webhook-saved">"Secret token saved."</p>
                </Show>
                <div class="buttons">
                    <button type="submit" disabled=move || save.pending().get()>"Save secret token"</button>
                </div>
            </form>
            <p class="muted" data-testid="webhook-counters">
                {if counters.is_empty() { "Nothing received yet.".to_owned() } else { format!("Received: {counters}") }}
            </p>
        </section>
    }
}
