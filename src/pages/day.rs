//! The day view on the home page: today's visits with what Zoom reports about each meeting
//! (patient waiting, in progress, ended, no-show) and one Start button each; a doctor's own,
//! the whole clinic's for staff. It updates through the push stream; when a patient starts
//! waiting it beeps and puts "(1) Patient waiting" in the tab's title, so someone working in
//! another tab notices.

use crate::api::live::{live_today, today_visits};
use crate::api::visits::StartMeeting;
use crate::components::live::Live;
use crate::components::resource::resource;
use crate::components::submission::SubmissionOf;
use crate::domain::Role;
use crate::types::live::DayView;
use crate::types::visits::{LiveState, VisitView};
use leptos::prelude::*;
use leptos_meta::Title;

/// What Zoom says about the meeting, in a few words ("patient waiting since 10:02").
pub fn live_label(visit: &VisitView) -> String {
    let live = &visit.live;
    let at = |prefix: &str, time: &Option<String>| match time {
        Some(time) => format!("{prefix} {time}"),
        None => prefix.to_owned(),
    };
    match live.state {
        LiveState::Scheduled => "scheduled".to_owned(),
        LiveState::Waiting => at("patient waiting since", &live.waiting_since),
        LiveState::InProgress => at("in progress since", &live.started_at),
        LiveState::Ended => at("ended", &live.ended_at),
        LiveState::NoShow => "no-show".to_owned(),
    }
}

fn live_class(state: LiveState) -> &'static str {
    match state {
        LiveState::Scheduled => "scheduled",
        LiveState::Waiting => "waiting",
        LiveState::InProgress => "in_progress",
        LiveState::Ended => "ended",
        LiveState::NoShow => "no_show",
    }
}

fn waiting(day: &DayView) -> Vec<String> {
    day.visits
        .iter()
        .filter(|v| v.live.state == LiveState::Waiting)
        .map(|v| v.id.clone())
        .collect()
}

/// A short two-tone chime through Web Audio (no sound file to ship). Browsers allow it once
/// the person has interacted with the page; otherwise the title change still shows.
fn chime() {
    #[cfg(feature = "hydrate")]
    {
        let Ok(audio) = web_sys::AudioContext::new() else {
            return;
        };
        let start = audio.current_time();
        for (offset, frequency) in [(0.0, 880.0), (0.18, 660.0)] {
            let (Ok(tone), Ok(gain)) = (audio.create_oscillator(), audio.create_gain()) else {
                return;
            };
            tone.frequency().set_value(frequency);
            gain.gain().set_value(0.15);
            let _ = tone.connect_with_audio_node(&gain);
            let _ = gain.connect_with_audio_node(&audio.destination());
            let _ = tone.start_with_when(start + offset);
            let _ = tone.stop_with_when(start + offset + 0.15);
        }
    }
}

#[component]
pub fn DayPanel(role: Role) -> impl IntoView {
    let live = Live::use_context();
    let baseline = live.pulse.get_untracked();
    let start = SubmissionOf::<StartMeeting>::new();
    let day = resource(
        move || live.pulse.get(),
        move |pulse| async move {
            if Live::pushed(pulse, baseline) {
                live_today().await
            } else {
                today_visits().await
            }
        },
    );
    Effect::new(move |_| {
        if let Some(Ok(link)) = start.value().get() {
            let _ = window().location().set_href(&link.url);
        }
    });
    // Who was waiting at the last look: a new id there is a patient who just sat down.
    let waiting_now = RwSignal::new(Vec::<String>::new());
    Effect::new(move |previous: Option<Vec<String>>| {
        let now = day
            .get()
            .and_then(Result::ok)
            .map(|d| waiting(&d))
            .unwrap_or_default();
        if let Some(previous) = previous {
            if now.iter().any(|id| !previous.contains(id)) {
                chime();
            }
        }
        waiting_now.set(now.clone());
        now
    });
    let title = move || match waiting_now.with(Vec::len) {
        0 => "Telehealth".to_owned(),
        1 => "(1) Patient waiting · Telehealth".to_owned(),
        n => format!("({n}) Patients waiting · Telehealth"),
    };
    let is_staff = role != Role::Doctor;
    let start_error = move || start.value().get().and_then(Result::err);
    view! {
        <Title text=title />
        <section class="card" data-testid="day-view">
            <Transition fallback=|| view! { <p class="muted">"Loading today's visits…"</p> }>
                {move || day.get().map(|result| match result {
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(day) => {
                        let heading = if is_staff { "Today in the clinic" } else { "Today" };
                        view! {
                            <h2>{heading} <span class="muted small">" · " {day.date.clone()} " (" {day.zone.clone()} ")"</span></h2>
                            <p class="error" role="alert">{move || start_error().map(|e| e.to_string())}</p>
                            {if day.visits.is_empty() {
                                view! { <p class="muted" data-testid="day-empty">"No visits today."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="visits day" data-testid="day-list">
                                        <thead><tr>
                                            <th>"When"</th>
                                            <th>"Patient"</th>
                                            {is_staff.then(|| view! { <th>"Doctor"</th> })}
                                            <th>"Now"</th>
                                            <th></th>
                                        </tr></thead>
                                        <tbody>
                                            {day.visits.into_iter().map(|visit| {
                                                let href = format!("/visits/{}", visit.id);
                                                let id = visit.id.clone();
                                                let state = visit.live.state;
                                                let label = live_label(&visit);
                                                view! {
                                                    <tr data-testid="day-row" data-visit=visit.id.clone() class=format!("live-{}", live_class(state))>
                                                        <td><a href=href>{visit.local_start.clone()}</a></td>
                                                        <td>{visit.patient.clone()}</td>
                                                        {is_staff.then(|| view! { <td>{visit.doctor.clone()}</td> })}
                                                        <td><span class=format!("badge live-{}", live_class(state)) data-testid="live-state" data-state=live_class(state)>{label}</span></td>
                                                        <td class="actions">
                                                            {visit.can_start.then(|| view! {
                                                                <button type="button" data-testid="day-start" disabled=move || start.pending().get() on:click=move |_| { start.dispatch(StartMeeting { id: id.clone() }); }>"Start"</button>
                                                            })}
                                                        </td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
