use super::RequireRole;
use crate::api::zoom::{
    zoom_settings, ConnectionState, DoctorZoomRow, MapDoctorToZoomUser, RecheckBlockedVisits,
    SaveZoomSettings, TestOutcome, TestZoomConnection, ZoomSettingsView,
};
use crate::components::field::{server_error_for, server_error_general, TextField};
use crate::components::resource::resource;
use crate::components::submission::SubmissionOf;
use crate::domain::{Role, ZoomConnectionMode, ZoomIdentifier};
use leptos::prelude::*;

pub fn format_utc(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

pub fn describe_connection(state: &ConnectionState) -> String {
    match state {
        ConnectionState::NotConnected => "Not connected".into(),
        ConnectionState::Connected { zoom_email, since } => {
            format!("Connected as {zoom_email} since {}", format_utc(*since))
        }
        ConnectionState::ReconnectNeeded { reason } => format!("Reconnect needed: {reason}"),
    }
}

#[component]
pub fn ZoomAdminPage() -> impl IntoView {
    view! { <RequireRole roles=&[Role::Admin] content=|_| view! { <ZoomAdmin /> } /> }
}

#[component]
fn ZoomAdmin() -> impl IntoView {
    let save = SubmissionOf::<SaveZoomSettings>::new();
    let map = SubmissionOf::<MapDoctorToZoomUser>::new();
    let settings = resource(
        move || (save.version().get(), map.version().get()),
        |_| zoom_settings(),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading Zoom settings…"</p> }>
            {move || settings.get().map(|result| match result {
                Ok(view) => view! {
                    <SettingsForm view=view.clone() save />
                    <super::zoom_webhooks::WebhookSettings webhook=view.webhook.clone() />
                    <Doctors view map />
                }
                .into_any(),
                Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </Transition>
        <super::preferences::ClinicDefaults />
    }
}

#[component]
fn SettingsForm(view: ZoomSettingsView, save: SubmissionOf<SaveZoomSettings>) -> impl IntoView {
    let test = SubmissionOf::<TestZoomConnection>::new();
    let mode = RwSignal::new(
        view.mode
            .unwrap_or(ZoomConnectionMode::UserOauth)
            .as_str()
            .to_owned(),
    );
    let client_id = RwSignal::new(view.client_id.clone());
    let client_secret = RwSignal::new(String::new());
    let account_id = RwSignal::new(view.account_id.clone().unwrap_or_default());
    let secret_set_at = view.secret_set_at;
    let is_s2s = move || mode.get() == ZoomConnectionMode::ServerToServer.as_str();
    let last_error = move || save.value().get().and_then(Result::err);

    let check = move |value: RwSignal<String>, field: &'static str, optional: bool| {
        Signal::derive(move || {
            let typed = value.get();
            if typed.is_empty() && optional {
                return server_error_for(last_error, field).get();
            }
            ZoomIdentifier::parse(&typed)
                .err()
                .map(|e| e.0)
                .or_else(|| server_error_for(last_error, field).get())
        })
    };
    let client_id_error = check(client_id, "client_id", false);
    let secret_error = check(client_secret, "client_secret", secret_set_at.is_some());
    let account_error = check(account_id, "account_id", false);
    let general_error = server_error_general(
        last_error,
        &["client_id", "client_secret", "account_id", "mode"],
    );
    let valid = move || {
        client_id_error.get().is_none()
            && secret_error.get().is_none()
            && (!is_s2s() || account_error.get().is_none())
    };

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if valid() {
            save.dispatch(SaveZoomSettings {
                mode: mode.get_untracked(),
                client_id: client_id.get_untracked(),
                client_secret: Some(client_secret.get_untracked()).filter(|s| !s.is_empty()),
                account_id: Some(account_id.get_untracked()).filter(|_| is_s2s()),
            });
        }
    };
    let secret_label = match secret_set_at {
        Some(at) => format!(
            "Client secret (set {}; leave empty to keep it)",
            format_utc(at)
        ),
        None => "Client secret".to_owned(),
    };

    view! {
        <section class="card">
            <h1>"Zoom settings"</h1>
            <form method="post" action="/api/admin/zoom/settings/save" on:submit=on_submit novalidate data-testid="zoom-settings-form">
                <fieldset class="field">
                    <legend>"How the clinic connects to Zoom"</legend>
                    <label>
                        <input type="radio" name="mode" value="user_oauth"
                            prop:checked=move || !is_s2s() on:change=move |_| mode.set("user_oauth".into()) />
                        " Each doctor connects their own Zoom account (user-managed OAuth)"
                    </label>
                    <label>
                        <input type="radio" name="mode" value="server_to_server"
                            prop:checked=is_s2s on:change=move |_| mode.set("server_to_server".into()) />
                        " One Zoom account for the clinic (Server-to-Server OAuth)"
                    </label>
                </fieldset>
                <TextField label="Client ID" name="client_id" value=client_id error=client_id_error autocomplete="off" />
                <TextField label=secret_label name="client_secret" value=client_secret error=secret_error kind="password" autocomplete="new-password" />
                <Show when=is_s2s>
                    <TextField label="Account ID" name="account_id" value=account_id error=account_error autocomplete="off" />
                </Show>
                <p class="muted">"Redirect URL to register in your Zoom app: "
                    <code data-testid="redirect-url">{view.redirect_url.clone()}</code>
                </p>
                <p class="error" role="alert">{move || general_error.get()}</p>
                <Show when=move || matches!(save.value().get(), Some(Ok(())))>
                    <p class="success" role="status" data-testid="settings-saved">"Settings saved."</p>
                </Show>
                <div class="buttons">
                    <button type="submit" disabled=move || save.pending().get()>"Save settings"</button>
                    <button type="button" class="secondary" disabled=move || test.pending().get()
                        on:click=move |_| { test.dispatch(TestZoomConnection {}); }>
                        {move || if test.pending().get() { "Testing…" } else { "Test connection" }}
                    </button>
                </div>
                <p data-testid="test-result" role="status">
                    {move || test.value().get().map(|r| match r {
                        Ok(TestOutcome::Connected { connected_as, elapsed_ms, .. }) => {
                            format!("Connected as {connected_as} ({elapsed_ms} ms).")
                        }
                        Ok(outcome) => outcome.describe(),
                        Err(error) => error.to_string(),
                    })}
                </p>
                <ul class="conflicts" data-testid="test-conflicts">
                    {move || match test.value().get() {
                        Some(Ok(TestOutcome::Connected { conflicts, .. })) => conflicts
                            .into_iter()
                            .map(|c| view! { <li class="error">{c}</li> })
                            .collect_view()
                            .into_any(),
                        _ => ().into_any(),
                    }}
                </ul>
            </form>
        </section>
    }
}

#[component]
fn Doctors(view: ZoomSettingsView, map: SubmissionOf<MapDoctorToZoomUser>) -> impl IntoView {
    let s2s = view.mode == Some(ZoomConnectionMode::ServerToServer);
    view! {
        <section class="card">
            <h2>"Doctors"</h2>
            <table class="users" data-testid="zoom-doctors">
                <thead><tr><th>"Doctor"</th><th>"Zoom"</th><th>"Licence"</th>{s2s.then(|| view! { <th>"Zoom user (id or email)"</th> })}</tr></thead>
                <tbody>
                    {view.doctors.into_iter().map(|d| doctor_row(d, s2s, map)).collect_view()}
                </tbody>
            </table>
            {move || map.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <Recheck />
        </section>
    }
}

/// Visits blocked by a Zoom account lock are re-checked on a timer; after changing the
/// setting at Zoom the admin can have them checked at once.
#[component]
fn Recheck() -> impl IntoView {
    let recheck = SubmissionOf::<RecheckBlockedVisits>::new();
    view! {
        <p class="muted">"Changed a Zoom setting that blocked visits? "
            <button type="button" class="secondary" data-testid="recheck"
                disabled=move || recheck.pending().get()
                on:click=move |_| { recheck.dispatch(RecheckBlockedVisits {}); }>
                "Fixed: check blocked visits again"
            </button>
        </p>
        <p role="status" data-testid="recheck-result">
            {move || recheck.value().get().map(|r| match r {
                Ok(n) => format!("{n} blocked visit(s) are being checked again."),
                Err(error) => error.to_string(),
            })}
        </p>
    }
}

fn doctor_row(
    doctor: DoctorZoomRow,
    s2s: bool,
    map: SubmissionOf<MapDoctorToZoomUser>,
) -> impl IntoView {
    let zoom_user = RwSignal::new(doctor.mapped_zoom_user.clone().unwrap_or_default());
    let id = doctor.id;
    let status = if s2s {
        doctor
            .mapped_zoom_user
            .as_ref()
            .map(|z| format!("Hosted by {z}"))
            .unwrap_or_else(|| "No Zoom user assigned".into())
    } else {
        describe_connection(&doctor.connection)
    };
    let warn = matches!(doctor.connection, ConnectionState::ReconnectNeeded { .. });
    let basic = doctor.licence.as_deref() == Some("basic");
    let licence = match doctor.licence.as_deref() {
        Some("basic") => "Basic (free): visits up to 40 minutes, no BAA",
        Some("licensed") => "Licensed",
        _ => "Not checked yet",
    };
    let email = doctor.email.clone();
    let last_disconnect = doctor
        .last_disconnect_failure
        .map(|why| format!("Last disconnect: {why}"));
    view! {
        <tr data-email=email>
            <td>{doctor.name} <br/> <span class="muted">{doctor.email}</span></td>
            <td class:error=warn>
                {status}
                {last_disconnect.map(|text| view! { <br/> <span class="error" data-testid="last-disconnect">{text}</span> })}
            </td>
            <td data-testid="licence" class:error=basic>{licence}</td>
            {s2s.then(|| view! {
                <td>
                    <input aria-label="Zoom user" bind:value=zoom_user />
                    <button class="link" on:click=move |_| {
                        map.dispatch(MapDoctorToZoomUser { doctor_id: id, zoom_user: Some(zoom_user.get_untracked()) });
                    }>"Save"</button>
                </td>
            })}
        </tr>
    }
}
