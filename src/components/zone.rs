//! The time-zone field: a searchable list of IANA zones (an `<input list>` with a
//! `<datalist>`), whose names come from the server's tz database so the browser does not
//! carry one. An empty field starts with the browser's own zone.

use crate::api::live::time_zones;
use leptos::prelude::*;

/// The browser's own zone, e.g. "Europe/Berlin" (None on the server or if unknown).
pub fn browser_zone() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let format =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
        let options = format.resolved_options();
        js_sys::Reflect::get(&options, &"timeZone".into())
            .ok()
            .and_then(|zone| zone.as_string())
            .filter(|zone| !zone.is_empty())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// The list's `<option>`s as one piece of HTML: the browser parses ~600 of them at once, where
/// a reactive list built them one by one (130 ms of main thread with a 4x slower CPU, just as
/// the page became interactive) and weighed more in the bundle.
fn options_html(names: &[String]) -> String {
    let mut html = String::with_capacity(names.len() * 40);
    for name in names {
        html.push_str("<option value=\"");
        html.push_str(&crate::html::escape(name));
        html.push_str("\"></option>");
    }
    html
}

/// A labelled zone input bound to `value`, with `error` beneath it. With `prefer_browser`,
/// an empty field is filled with the browser's zone once the page is interactive.
#[component]
pub fn ZoneField(
    #[prop(into)] label: String,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] prefer_browser: bool,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let list_id = format!("{id}-zones");
    // Loaded in the browser only: a few hundred names, fetched once per field.
    let zones = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        if prefer_browser && value.get_untracked().trim().is_empty() {
            if let Some(zone) = browser_zone() {
                value.set(zone);
            }
        }
        leptos::task::spawn_local(async move {
            if let Ok(names) = time_zones().await {
                zones.try_set(names);
            }
        });
    });
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type="text"
                list=list_id.clone()
                autocomplete="off"
                placeholder="Start typing, e.g. Europe/Berlin"
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=error_id.clone()
                bind:value=value
                data-testid=format!("zone-{name}")
            />
            <datalist id=list_id inner_html=move || zones.with(|names| options_html(names))></datalist>
            <p class="error" id=error_id role="alert">
                {move || error.get().unwrap_or_default()}
            </p>
        </div>
    }
    // Erased: the pages that hold this field are deep enough types already.
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::options_html;

    #[test]
    fn each_zone_is_one_option_and_nothing_in_a_name_escapes_its_attribute() {
        let names = ["Europe/Berlin".to_owned(), "x\"><script>&'".to_owned()];
        assert_eq!(
            options_html(&names),
            "<option value=\"Europe/Berlin\"></option>\
             <option value=\"x&quot;&gt;&lt;script&gt;&amp;&#39;\"></option>"
        );
        assert_eq!(options_html(&[]), "");
    }
}
