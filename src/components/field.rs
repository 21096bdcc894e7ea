use crate::error::AppError;
use crate::types::FieldErrors;
use leptos::prelude::*;

/// A labelled text input bound to `value`, showing `error` beneath it once there is one.
#[component]
pub fn TextField(
    #[prop(into)] label: String,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] placeholder: &'static str,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                placeholder=placeholder
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=error_id.clone()
                bind:value=value
            />
            <p class="error" id=error_id role="alert">
                {move || error.get().unwrap_or_default()}
            </p>
        </div>
    }
}

/// The message of the last server error if it belongs to `field`.
pub fn server_error_for(
    last_error: impl Fn() -> Option<AppError> + Send + Sync + 'static,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        last_error()
            .filter(|e| e.field() == Some(field))
            .map(|e| e.to_string())
    })
}

/// The last server error if it belongs to none of `fields`, to show above the form.
pub fn server_error_general(
    last_error: impl Fn() -> Option<AppError> + Send + Sync + 'static,
    fields: &'static [&'static str],
) -> Signal<Option<String>> {
    Signal::derive(move || {
        last_error()
            .filter(|e| e.field().is_none_or(|f| !fields.contains(&f)))
            .map(|e| e.to_string())
    })
}

/// A form field's message: the browser-side parser's problem with it once its value was
/// changed or a submit was attempted, otherwise the server's last error for that field. The
/// same parser runs on the server, so both speak with one voice.
///
/// Until then `parsed` is not even read: a pristine form's fields were filled in by the server,
/// and parsing them while the page hydrates cost a phone's first second (checking a time zone
/// makes the browser load its time-zone data: 90 ms with a 4x slower CPU).
pub fn form_field_error<T: Send + Sync + 'static>(
    parsed: Memo<Result<T, FieldErrors>>,
    field: &'static str,
    typed: RwSignal<String>,
    submitted: RwSignal<bool>,
    last_error: impl Fn() -> Option<AppError> + Copy + Send + Sync + 'static,
) -> Signal<Option<String>> {
    let initial = typed.get_untracked();
    Signal::derive(move || {
        let checked = submitted.get() || typed.with(|value| *value != initial);
        let local = checked
            .then(|| {
                parsed.with(|p| {
                    p.as_ref().err().and_then(|errors| {
                        errors
                            .iter()
                            .find(|(f, _)| *f == field)
                            .map(|(_, m)| m.clone())
                    })
                })
            })
            .flatten();
        local.or_else(|| server_error_for(last_error, field).get())
    })
}
