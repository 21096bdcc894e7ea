use crate::error::AppError;
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
