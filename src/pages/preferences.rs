//! The preference sections: the clinic's defaults on the admin's Zoom page and the doctor's
//! own on their Zoom page. Recording, AI Companion, the waiting room, the passcode and join
//! before host are the clinic's privacy contract and are not offered here at all.

use crate::api::preferences::{
    clinic_preferences, my_preferences, ClinicPreferencesView, MyPreferencesView, PreferenceField,
    PreferenceValues, SaveClinicPreferences, SaveMyPreferences,
};
use crate::components::field::server_error_for;
use crate::components::resource::resource;
use crate::components::submission::SubmissionOf;
use leptos::prelude::*;

/// The editable values of one form.
#[derive(Clone, Copy)]
struct Fields {
    minutes: RwSignal<String>,
    host_video: RwSignal<bool>,
    participant_video: RwSignal<bool>,
    mute_upon_entry: RwSignal<bool>,
    reminders: RwSignal<String>,
}

impl Fields {
    fn new(values: &PreferenceValues) -> Self {
        Self {
            minutes: RwSignal::new(values.visit_minutes.to_string()),
            host_video: RwSignal::new(values.host_video),
            participant_video: RwSignal::new(values.participant_video),
            mute_upon_entry: RwSignal::new(values.mute_upon_entry),
            reminders: RwSignal::new(values.reminder_leads.display()),
        }
    }
}

fn shown(field: PreferenceField, values: &PreferenceValues) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    match field {
        PreferenceField::VisitMinutes => format!("{} minutes", values.visit_minutes),
        PreferenceField::HostVideo => yes_no(values.host_video),
        PreferenceField::ParticipantVideo => yes_no(values.participant_video),
        PreferenceField::MuteUponEntry => yes_no(values.mute_upon_entry),
        PreferenceField::ReminderLeads => values.reminder_leads.display(),
    }
}

/// One field's input (or, when `editable` is false, the clinic's value, read-only).
fn field_row(
    field: PreferenceField,
    fields: Fields,
    editable: bool,
    clinic: &PreferenceValues,
    error: Signal<Option<String>>,
) -> AnyView {
    let id = format!("pref-{}", field.key());
    let for_id = id.clone();
    if !editable {
        return view! {
            <div class="field" data-testid=format!("locked-{}", field.key())>
                <span class="label">{field.label()}</span>
                <p class="muted">{format!("{} (set by the clinic)", shown(field, clinic))}</p>
            </div>
        }
        .into_any();
    }
    let flag = match field {
        PreferenceField::HostVideo => Some(fields.host_video),
        PreferenceField::ParticipantVideo => Some(fields.participant_video),
        PreferenceField::MuteUponEntry => Some(fields.mute_upon_entry),
        _ => None,
    };
    if let Some(flag) = flag {
        return view! {
            <div class="field checkbox">
                <label for=for_id>
                    <input type="checkbox" id=id name=field.key() prop:checked=move || flag.get()
                        on:change=move |ev| flag.set(event_target_checked(&ev)) />
                    " " {field.label()}
                </label>
            </div>
        }
        .into_any();
    }
    let (value, kind) = match field {
        PreferenceField::VisitMinutes => (fields.minutes, "number"),
        _ => (fields.reminders, "text"),
    };
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=for_id>{field.label()}</label>
            <input type=kind id=id name=field.key() prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
            <p class="error" role="alert">{move || error.get()}</p>
        </div>
    }
    .into_any()
}

#[component]
pub fn ClinicDefaults() -> impl IntoView {
    let save = SubmissionOf::<SaveClinicPreferences>::new();
    let current = resource(move || save.version().get(), |_| clinic_preferences());
    view! {
        <section class="card" data-testid="clinic-preferences">
            <h2>"Doctors' defaults for video visits"</h2>
            <p class="muted">"Recording stays off, AI Companion stays off, the waiting room and passcode stay on and nobody joins before the doctor: the clinic's privacy settings always apply and are not offered here."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || current.get().map(|result| match result {
                    Ok(view) => view! { <ClinicForm view save /> }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ClinicForm(
    view: ClinicPreferencesView,
    save: SubmissionOf<SaveClinicPreferences>,
) -> impl IntoView {
    let fields = Fields::new(&view.values);
    let may: Vec<(PreferenceField, RwSignal<bool>)> = PreferenceField::ALL
        .into_iter()
        .map(|f| (f, RwSignal::new(view.doctor_may_change.contains(&f))))
        .collect();
    let last_error = move || save.value().get().and_then(Result::err);
    let may_submit = may.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let keys: Vec<&str> = may_submit
            .iter()
            .filter(|(_, on)| on.get_untracked())
            .map(|(f, _)| f.key())
            .collect();
        save.dispatch(SaveClinicPreferences {
            visit_minutes: fields.minutes.get_untracked(),
            host_video: fields.host_video.get_untracked(),
            participant_video: fields.participant_video.get_untracked(),
            mute_upon_entry: fields.mute_upon_entry.get_untracked(),
            reminder_leads: fields.reminders.get_untracked(),
            doctor_may_change: keys.join(","),
        });
    };
    let clinic = view.values.clone();
    view! {
        <form on:submit=on_submit novalidate data-testid="clinic-preferences-form">
            {PreferenceField::ALL.into_iter().map(|f| {
                field_row(f, fields, true, &clinic, server_error_for(last_error, f.key()))
            }).collect_view()}
            <fieldset>
                <legend>"Doctors may change"</legend>
                {may.into_iter().map(|(f, on)| {
                    let id = format!("may-{}", f.key());
                    let for_id = id.clone();
                    view! {
                        <label for=for_id>
                            <input type="checkbox" id=id prop:checked=move || on.get()
                                on:change=move |ev| on.set(event_target_checked(&ev)) />
                            " " {f.label()}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <p class="error" role="alert">{move || last_error().map(|e| e.to_string())}</p>
            <Show when=move || matches!(save.value().get(), Some(Ok(_)))>
                <p class="success" role="status">"Defaults saved."</p>
            </Show>
            <div class="buttons">
                <button type="submit" disabled=move || save.pending().get()>"Save defaults"</button>
            </div>
        </form>
    }
}

#[component]
pub fn DoctorPreferences() -> impl IntoView {
    let save = SubmissionOf::<SaveMyPreferences>::new();
    let current = resource(move || save.version().get(), |_| my_preferences());
    view! {
        <section class="card" data-testid="my-preferences">
            <h2>"How your video visits start"</h2>
            <p class="muted">"Changes apply to your upcoming visits too: their Zoom meetings are updated. Recording, AI Companion, the waiting room and the passcode follow the clinic's privacy settings."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || current.get().map(|result| match result {
                    Ok(view) => view! { <DoctorForm view save /> }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DoctorForm(view: MyPreferencesView, save: SubmissionOf<SaveMyPreferences>) -> impl IntoView {
    let fields = Fields::new(&view.effective);
    let last_error = move || save.value().get().and_then(Result::err);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveMyPreferences {
            visit_minutes: fields.minutes.get_untracked(),
            host_video: fields.host_video.get_untracked(),
            participant_video: fields.participant_video.get_untracked(),
            mute_upon_entry: fields.mute_upon_entry.get_untracked(),
            reminder_leads: fields.reminders.get_untracked(),
        });
    };
    let clinic = view.clinic.clone();
    let may = view.doctor_may_change.clone();
    let forces = view.zoom_forces.clone();
    view! {
        <ul class="conflicts" data-testid="zoom-forces">
            {forces.into_iter().map(|f| view! { <li class="error">{f}</li> }).collect_view()}
        </ul>
        <form on:submit=on_submit novalidate data-testid="my-preferences-form">
            {PreferenceField::ALL.into_iter().map(|f| {
                field_row(f, fields, may.contains(&f), &clinic, server_error_for(last_error, f.key()))
            }).collect_view()}
            <p class="error" role="alert">{move || last_error().map(|e| e.to_string())}</p>
            <Show when=move || matches!(save.value().get(), Some(Ok(_)))>
                <p class="success" role="status" data-testid="preferences-saved">"Preferences saved."</p>
            </Show>
            <div class="buttons">
                <button type="submit" disabled=move || save.pending().get()>"Save preferences"</button>
            </div>
        </form>
    }
}
