//! The admin's audit page: every recorded access to patient data and every settings change,
//! newest first, filtered by actor, action, visit and dates, a page at a time, with the
//! filtered entries downloadable as CSV.

use super::RequireRole;
use crate::api::audit::{audit_log, AuditFilterFields};
use crate::components::field::TextField;
use crate::components::resource::resource;
use crate::domain::Role;
use crate::types::audit::Action;
use leptos::prelude::*;

#[component]
pub fn AuditPage() -> impl IntoView {
    view! { <RequireRole roles=&[Role::Admin] content=|_| view! { <AuditTable /> } /> }
}

/// The filters as last applied.
#[derive(Debug, Clone, Default, PartialEq)]
struct Applied {
    actor: String,
    action: String,
    visit: String,
    from: String,
    to: String,
}

impl Applied {
    fn csv_href(&self) -> String {
        let enc = |v: &str| {
            v.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        format!(
            "/api/admin/audit.csv?actor={}&action={}&visit={}&from={}&to={}",
            enc(&self.actor),
            enc(&self.action),
            enc(&self.visit),
            enc(&self.from),
            enc(&self.to)
        )
    }
}

#[component]
fn AuditTable() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let visit = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let applied = RwSignal::new(Applied::default());
    // Keyset pagination: the `before` of each page shown so far, to step back to newer pages.
    let pages = RwSignal::new(Vec::<Option<i64>>::new());
    let before = RwSignal::new(None::<i64>);
    let entries = resource(
        move || (applied.get(), before.get()),
        |(f, before)| audit_log(f.actor, f.action, f.visit, f.from, f.to, before),
    );
    let date_error = |value: RwSignal<String>, field: &'static str| {
        Signal::derive(move || {
            let typed = value.get();
            let (from, to) = if field == "from" {
                (typed.as_str(), "")
            } else {
                ("", typed.as_str())
            };
            AuditFilterFields::parse("", "", "", from, to)
                .err()
                .and_then(|e| e.into_iter().next().map(|(_, m)| m))
        })
    };
    let on_filter = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        pages.set(Vec::new());
        before.set(None);
        applied.set(Applied {
            actor: actor.get_untracked(),
            action: action.get_untracked(),
            visit: visit.get_untracked(),
            from: from.get_untracked(),
            to: to.get_untracked(),
        });
    };
    view! {
        <section class="card">
            <h1>"Audit log"</h1>
            <form class="filters" data-testid="audit-filters" on:submit=on_filter>
                <TextField label="Who (email, system or anonymous)" name="actor" value=actor error=Signal::derive(|| None::<String>) />
                <div class="field">
                    <label for="field-action">"Action"</label>
                    <select id="field-action" name="action" on:change=move |ev| action.set(event_target_value(&ev))>
                        <option value="">"Any"</option>
                        {Action::ALL.iter().map(|a| view! { <option value=a.as_str()>{a.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                <TextField label="Visit id" name="visit" value=visit error=Signal::derive(|| None::<String>) />
                <TextField label="From (YYYY-MM-DD)" name="from" value=from error=date_error(from, "from") kind="date" />
                <TextField label="To (YYYY-MM-DD)" name="to" value=to error=date_error(to, "to") kind="date" />
                <button type="submit" data-testid="audit-apply">"Filter"</button>
                <a data-testid="audit-csv" href=move || applied.get().csv_href() download="audit.csv">"Download CSV"</a>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || entries.get().map(|result| match result {
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(page) => {
                        let next = page.next_before;
                        view! {
                            <table class="users" data-testid="audit-log">
                                <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Subject"</th><th>"Outcome"</th><th>"Times"</th><th>"Detail"</th></tr></thead>
                                <tbody>
                                    {page.entries.into_iter().map(|e| { let action = e.action.clone(); view! {
                                        <tr data-testid="audit-row" data-action=action>
                                            <td>{e.at_display}</td>
                                            <td>{e.actor}</td>
                                            <td>{e.action}</td>
                                            <td><code>{e.subject}</code></td>
                                            <td>{e.outcome}</td>
                                            <td>{e.count}</td>
                                            <td>{e.detail.unwrap_or_default()}</td>
                                        </tr>
                                    } }).collect_view()}
                                </tbody>
                            </table>
                            <p class="pager">
                                <button type="button" data-testid="audit-newer" disabled=move || pages.with(Vec::is_empty)
                                    on:click=move |_| {
                                        let mut stack = pages.get_untracked();
                                        let previous = stack.pop().flatten();
                                        pages.set(stack);
                                        before.set(previous);
                                    }>"Newer"</button>
                                <button type="button" data-testid="audit-older" disabled=next.is_none()
                                    on:click=move |_| {
                                        pages.update(|stack| stack.push(before.get_untracked()));
                                        before.set(next);
                                    }>"Older"</button>
                            </p>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
