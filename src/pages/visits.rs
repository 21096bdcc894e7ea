//! Video visits: the list (with live meeting states), booking, and each visit's own page with
//! Start for the doctor, Join for the patient, a countdown and a calendar file.

use super::RequireRole;
use crate::api::live::{live_visit, live_visits};
use crate::api::visits::{
    booking_options, get_visit, list_visits, BookVisit, CancelVisit, ChangeDoctor, JoinMeeting,
    JoinWindow, RescheduleVisit, RetryMeeting, StartMeeting, VisitTimeFields, VisitView,
};
use crate::api::Me;
use crate::components::field::{
    form_field_error, server_error_for, server_error_general, TextField,
};
use crate::components::live::{ticker, Live};
use crate::components::resource::{resource, Json};
use crate::components::submission::SubmissionOf;
use crate::components::zone::ZoneField;
use crate::domain::{MeetingState, Role};
use crate::error::AppError;
use crate::pages::day::live_label;
use crate::types::visits::LiveState;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use std::time::Duration;

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn state_label(visit: &VisitView) -> &'static str {
    if visit.cancelled {
        return match visit.meeting.state {
            MeetingState::Cancelled => "cancelled",
            MeetingState::Failed => "failed",
            _ => "cancelling",
        };
    }
    match visit.meeting.state {
        MeetingState::Pending => "pending",
        MeetingState::Ready => "ready",
        MeetingState::Failed => "failed",
        MeetingState::Cancelled => "cancelled",
        MeetingState::Blocked => "blocked",
        MeetingState::Closed => "closed",
    }
}

#[component]
fn StateBadge(visit: VisitView) -> impl IntoView {
    let label = state_label(&visit);
    let title = visit.meeting.reason.clone().unwrap_or_default();
    view! {
        <span class=format!("badge badge-{label}") data-testid="meeting-state" title=title>{label}</span>
    }
}

#[component]
pub fn VisitsPage() -> impl IntoView {
    // Made outside `RequireRole`'s content, which re-runs while the page renders on the
    // server (see `VisitPage`).
    let handles = ListHandles::new();
    view! { <RequireRole roles=&[] content=move |me| view! { <Visits me handles /> } /> }
}

/// The list page's data and actions.
#[derive(Clone, Copy)]
struct ListHandles {
    visits: Resource<Result<Vec<VisitView>, AppError>, Json>,
    book: SubmissionOf<BookVisit>,
    cancel: SubmissionOf<CancelVisit>,
    retry: SubmissionOf<RetryMeeting>,
}

impl ListHandles {
    fn new() -> Self {
        let book = SubmissionOf::<BookVisit>::new();
        let cancel = SubmissionOf::<CancelVisit>::new();
        let retry = SubmissionOf::<RetryMeeting>::new();
        // Re-read when the push stream says a visit changed (through the passive path, which
        // is not activity), or after one of this page's own actions.
        let live = Live::use_context();
        let baseline = live.pulse.get_untracked();
        let visits = resource(
            move || {
                (
                    live.pulse.get(),
                    book.version().get(),
                    cancel.version().get(),
                    retry.version().get(),
                )
            },
            move |(pulse, ..)| async move {
                if Live::pushed(pulse, baseline) {
                    live_visits().await
                } else {
                    list_visits().await
                }
            },
        );
        Self {
            visits,
            book,
            cancel,
            retry,
        }
    }
}

#[component]
fn Visits(me: Me, handles: ListHandles) -> impl IntoView {
    let ListHandles {
        visits,
        book,
        cancel,
        retry,
    } = handles;
    let is_staff = me.role != Role::Patient;
    let action_error = move || {
        cancel
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| retry.value().get().and_then(Result::err))
    };
    view! {
        <section class="card">
            <h1>"Video visits"</h1>
            <p class="error" role="alert">{move || action_error().map(|e| e.to_string())}</p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || visits.get().map(|result| match result {
                    Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-visits">"No visits yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="visits" data-testid="visit-list">
                            <thead><tr>
                                <th>"When (your time)"</th>
                                <th>"Doctor"</th>
                                {is_staff.then(|| view! { <th>"Patient"</th> })}
                                <th>"Video"</th>
                                <th></th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|visit| view! { <VisitRow visit is_staff cancel retry /> }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </section>
        <BookingForm me book />
    }
}

#[component]
fn VisitRow(
    visit: VisitView,
    is_staff: bool,
    cancel: SubmissionOf<CancelVisit>,
    retry: SubmissionOf<RetryMeeting>,
) -> impl IntoView {
    let id = visit.id.clone();
    let href = format!("/visits/{}", visit.id);
    let reason = visit
        .meeting
        .reason
        .clone()
        .filter(|_| visit.meeting.state != MeetingState::Ready);
    let warning = visit.meeting.warning.clone();
    let (can_retry, can_change) = (visit.can_retry, visit.can_change);
    let (retry_id, cancel_id) = (id.clone(), id.clone());
    view! {
        <tr data-testid="visit-row" data-visit=id.clone() class:cancelled=visit.cancelled>
            <td><a href=href.clone()>{visit.local_start.clone()}</a><br /><span class="muted">{format!("{} min", visit.duration_minutes)}</span></td>
            <td>{visit.doctor.clone()}</td>
            {is_staff.then(|| view! { <td>{visit.patient.clone()}</td> })}
            <td>
                <StateBadge visit=visit.clone() />
                {(visit.live.state != LiveState::Scheduled).then(|| view! { <p class="small" data-testid="live-state">{live_label(&visit)}</p> })}
                {reason.map(|r| view! { <p class="muted small" data-testid="meeting-reason">{r}</p> })}
                {warning.map(|w| view! { <p class="error small" data-testid="meeting-warning">{w}</p> })}
            </td>
            <td class="actions">
                <a href=href>"Open"</a>
                {can_retry.then(|| view! {
                    <button type="button" class="link" on:click=move |_| { retry.dispatch(RetryMeeting { id: retry_id.clone() }); }>"Retry"</button>
                })}
                {can_change.then(|| view! {
                    <button type="button" class="link" on:click=move |_| { cancel.dispatch(CancelVisit { id: cancel_id.clone() }); }>"Cancel"</button>
                })}
            </td>
        </tr>
    }
}

/// Booking: validates the time as you type with the same parsing the server uses.
#[component]
fn BookingForm(me: Me, book: SubmissionOf<BookVisit>) -> impl IntoView {
    let options = resource(|| (), |_| booking_options());
    let is_patient = me.role == Role::Patient;
    let doctor = RwSignal::new(if me.role == Role::Doctor {
        me.id.to_string()
    } else {
        String::new()
    });
    let patient = RwSignal::new(String::new());
    let start = RwSignal::new(String::new());
    // Without a zone of their own, the person books in the browser's zone (filled in once the
    // page is interactive).
    let zone = RwSignal::new(
        me.time_zone
            .map(|z| z.name().to_owned())
            .unwrap_or_default(),
    );
    let duration = RwSignal::new("30".to_owned());
    let reason = RwSignal::new(String::new());
    let submitted = RwSignal::new(false);
    // Choosing a doctor preselects their default visit length (still editable).
    Effect::new(move |_| {
        let chosen = doctor.get();
        let minutes = options.with(|o| {
            o.as_ref()
                .and_then(|r| r.as_ref().ok())
                .and_then(|c| c.doctors.iter().find(|d| d.id.to_string() == chosen))
                .and_then(|d| d.default_minutes)
        });
        if let Some(minutes) = minutes {
            duration.set(minutes.to_string());
        }
    });
    let parsed = Memo::new(move |_| {
        VisitTimeFields::parse(&start.get(), &zone.get(), &duration.get()).map(|_| ())
    });
    let last_error = move || book.value().get().and_then(Result::err);
    let field_error = move |field: &'static str, typed: RwSignal<String>| {
        form_field_error(parsed, field, typed, submitted, last_error)
    };
    let general_error = server_error_general(
        last_error,
        &["start", "zone", "duration", "reason", "doctor", "patient"],
    );
    let doctor_error = server_error_for(last_error, "doctor");
    let patient_error = server_error_for(last_error, "patient");
    Effect::new(move |_| {
        if let Some(Ok(_)) = book.value().get() {
            start.set(String::new());
            reason.set(String::new());
            submitted.set(false);
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submitted.set(true);
        if parsed.with_untracked(|p| p.is_err()) {
            return;
        }
        let Ok(doctor_id) = doctor.get_untracked().parse::<i64>() else {
            return;
        };
        let patient_id = if is_patient {
            None
        } else {
            match patient.get_untracked().parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => return,
            }
        };
        book.dispatch(BookVisit {
            doctor_id,
            patient_id,
            start: start.get_untracked(),
            zone: zone.get_untracked(),
            duration: duration.get_untracked(),
            reason: Some(reason.get_untracked()).filter(|r| !r.trim().is_empty()),
        });
    };
    // Nothing to preview without a start, and the parse would load the browser's time-zone
    // data while the page hydrates (see `form_field_error`).
    let preview = move || {
        (!start.with(String::is_empty) && parsed.with(|p| p.is_ok())).then(|| {
            VisitTimeFields::parse(&start.get(), &zone.get(), &duration.get())
                .ok()
                .map(|t| format!("Starts {}", t.start.display_in(t.start.booked_in())))
        })
    };
    view! {
        <section class="card">
            <h2>"Book a video visit"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || options.get().map(|result| match result {
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                    Ok(choices) => {
                        let doctors = choices.doctors.clone();
                        let patients = choices.patients.clone();
                        let can_book = is_patient || !patients.is_empty();
                        if !can_book {
                            return view! { <p class="muted" data-testid="cannot-book">"You can book for patients you already see; reception books new patients."</p> }.into_any();
                        }
                        view! {
                            <form class="visit-form" on:submit=on_submit novalidate data-testid="booking-form">
                                <div class="field" class:invalid=move || doctor_error.get().is_some()>
                                    <label for="field-doctor">"Doctor"</label>
                                    <select id="field-doctor" name="doctor" prop:value=move || doctor.get() on:change=move |ev| doctor.set(event_target_value(&ev))>
                                        <option value="">"Choose a doctor"</option>
                                        {doctors.into_iter().map(|d| { let value = d.id.to_string(); view! { <option value=value.clone() selected=move || doctor.get() == value>{d.label}</option> } }).collect_view()}
                                    </select>
                                    <p class="error" role="alert">{move || doctor_error.get()}</p>
                                </div>
                                {(!is_patient).then(|| view! {
                                    <div class="field" class:invalid=move || patient_error.get().is_some()>
                                        <label for="field-patient">"Patient"</label>
                                        <select id="field-patient" name="patient" prop:value=move || patient.get() on:change=move |ev| {
                                            let chosen = event_target_value(&ev);
                                            if let Some(z) = patients.iter().find(|p| p.id.to_string() == chosen).and_then(|p| p.time_zone.clone()) {
                                                zone.set(z);
                                            }
                                            patient.set(chosen);
                                        }>
                                            <option value="">"Choose a patient"</option>
                                            {patients.clone().into_iter().map(|p| { let value = p.id.to_string(); view! { <option value=value.clone() selected=move || patient.get() == value>{p.label}</option> } }).collect_view()}
                                        </select>
                                        <p class="error" role="alert">{move || patient_error.get()}</p>
                                    </div>
                                })}
                                <TextField label="Date and time" name="start" value=start error=field_error("start", start) kind="datetime-local" />
                                <ZoneField label="Time zone of that time" name="zone" value=zone error=field_error("zone", zone) prefer_browser=true />
                                <TextField label="Length (minutes)" name="duration" value=duration error=field_error("duration", duration) kind="number" />
                                <TextField label="Reason (optional, not sent to Zoom)" name="reason" value=reason error=server_error_for(last_error, "reason") />
                                <p class="muted" data-testid="start-preview">{preview}</p>
                                <p class="error" role="alert" data-testid="form-error">{move || general_error.get()}</p>
                                <Show when=move || matches!(book.value().get(), Some(Ok(_)))>
                                    <p class="success" role="status" data-testid="booked">"Visit booked. Its Zoom meeting is being set up."</p>
                                </Show>
                                <div class="buttons">
                                    <button type="submit" disabled=move || book.pending().get()>"Book visit"</button>
                                </div>
                            </form>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn VisitPage() -> impl IntoView {
    // Made here, outside `RequireRole`'s content: that re-runs while the page renders on the
    // server, and a resource made inside it was fetched (and the opening audited) each time.
    let handles = VisitHandles::new();
    view! { <RequireRole roles=&[] content=move |me| view! { <Visit me handles /> } /> }
}

/// The visit page's data and actions.
#[derive(Clone, Copy)]
struct VisitHandles {
    visit: Resource<Result<VisitView, AppError>, Json>,
    start: SubmissionOf<StartMeeting>,
    join: SubmissionOf<JoinMeeting>,
    reschedule: SubmissionOf<RescheduleVisit>,
    change_doctor: SubmissionOf<ChangeDoctor>,
    cancel: SubmissionOf<CancelVisit>,
    retry: SubmissionOf<RetryMeeting>,
}

impl VisitHandles {
    fn new() -> Self {
        let params = use_params_map();
        let id = move || params.with(|p| p.get("id").unwrap_or_default());
        let start = SubmissionOf::<StartMeeting>::new();
        let join = SubmissionOf::<JoinMeeting>::new();
        let reschedule = SubmissionOf::<RescheduleVisit>::new();
        let change_doctor = SubmissionOf::<ChangeDoctor>::new();
        let cancel = SubmissionOf::<CancelVisit>::new();
        let retry = SubmissionOf::<RetryMeeting>::new();
        let live = Live::use_context();
        let baseline = live.pulse.get_untracked();
        let visit = resource(
            move || {
                (
                    id(),
                    live.pulse.get(),
                    reschedule.version().get(),
                    change_doctor.version().get(),
                    cancel.version().get(),
                    retry.version().get(),
                )
            },
            move |(id, pulse, ..)| async move {
                if Live::pushed(pulse, baseline) {
                    live_visit(id).await
                } else {
                    get_visit(id).await
                }
            },
        );
        Self {
            visit,
            start,
            join,
            reschedule,
            change_doctor,
            cancel,
            retry,
        }
    }
}

fn countdown(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (hours, minutes, secs) = (rest / 3600, rest % 3600 / 60, rest % 60);
    if days > 0 {
        format!("{days} d {hours} h {minutes} min")
    } else {
        format!("{hours:02}:{minutes:02}:{secs:02}")
    }
}

/// Sends the browser to a link the server just handed out.
fn go_to(url: &str) {
    let _ = window().location().set_href(url);
}

#[component]
fn Visit(me: Me, handles: VisitHandles) -> impl IntoView {
    let VisitHandles {
        visit,
        start,
        join,
        reschedule,
        change_doctor,
        cancel,
        retry,
    } = handles;
    let clock = ticker(Duration::from_secs(1));
    Effect::new(move |_| {
        if let Some(Ok(link)) = start.value().get() {
            go_to(&link.url);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(link)) = join.value().get() {
            go_to(&link.url);
        }
    });
    let action_error = move || -> Option<AppError> {
        [start.value().get(), join.value().get()]
            .into_iter()
            .flatten()
            .find_map(|r| r.err())
            .or_else(|| cancel.value().get().and_then(Result::err))
            .or_else(|| retry.value().get().and_then(Result::err))
            .or_else(|| change_doctor.value().get().and_then(Result::err))
    };
    let is_staff = me.role != Role::Patient;
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || visit.get().map(|result| match result {
                Err(error) => view! { <section class="card notice" data-testid="visit-error"><p class="error" role="alert">{error.to_string()}</p><a href="/visits">"All visits"</a></section> }.into_any(),
                Ok(v) => {
                    let (starts_at, ends_at) = (v.starts_at, v.ends_at);
                    let window_state = move || { clock.get(); JoinWindow::at(starts_at, ends_at, now_secs()) };
                    let id_start = v.id.clone();
                    let id_join = v.id.clone();
                    let id_cancel = v.id.clone();
                    let id_retry = v.id.clone();
                    let ics = format!("/api/visits/{}/calendar.ics", v.id);
                    let (can_start, can_join, can_retry, can_change, can_change_doctor) = (v.can_start, v.can_join, v.can_retry, v.can_change, v.can_change_doctor);
                    let attends = !is_staff || can_start;
                    view! {
                        <section class="card" data-testid="visit">
                            <p><a href="/visits">"← All visits"</a></p>
                            <h1>"Video visit with " {v.doctor.clone()}</h1>
                            <dl class="facts">
                                <dt>"When"</dt><dd data-testid="local-start">{v.local_start.clone()}</dd>
                                <dt>"Your time zone"</dt><dd>{v.viewer_zone.to_string()}</dd>
                                {(v.booked_zone != v.viewer_zone).then(|| view! { <dt>"Booked as"</dt><dd>{v.booked_start.clone()}</dd> })}
                                <dt>"Length"</dt><dd>{format!("{} minutes", v.duration_minutes)}</dd>
                                {is_staff.then(|| view! { <dt>"Patient"</dt><dd>{v.patient.clone()}</dd> })}
                                {v.reason.clone().map(|r| view! { <dt>"Reason"</dt><dd>{r}</dd> })}
                                {(v.live.state != LiveState::Scheduled).then(|| view! { <dt>"Now"</dt><dd data-testid="live-state">{live_label(&v)}</dd> })}
                                <dt>"Video meeting"</dt><dd><StateBadge visit=v.clone() />
                                    {v.meeting.reason.clone().map(|r| view! { <span class="muted small" data-testid="meeting-reason">" " {r}</span> })}
                                    {v.meeting.warning.clone().map(|w| view! { <p class="error small" data-testid="meeting-warning">{w}</p> })}
                                </dd>
                            </dl>
                            {(!v.cancelled && attends).then(|| view! {
                                <div class="join-box" data-testid="join-box">
                                    <p data-testid="window-state">{move || match window_state() {
                                        JoinWindow::NotOpenYet => format!("Not open yet: opens 15 minutes before the start. Starts in {}.", countdown(starts_at - now_secs())),
                                        JoinWindow::Open if now_secs() < starts_at => format!("Open: you can join now. Starts in {}.", countdown(starts_at - now_secs())),
                                        JoinWindow::Open => "Open: the visit is under way.".to_owned(),
                                        JoinWindow::Ended => "Ended.".to_owned(),
                                    }}</p>
                                    <div class="buttons">
                                        {can_start.then(|| view! {
                                            <button type="button" data-testid="start" disabled=move || start.pending().get() on:click=move |_| { start.dispatch(StartMeeting { id: id_start.clone() }); }>"Start meeting"</button>
                                        })}
                                        {(can_join && !can_start).then(|| view! {
                                            <button type="button" data-testid="join" disabled=move || join.pending().get() || window_state() != JoinWindow::Open on:click=move |_| { join.dispatch(JoinMeeting { id: id_join.clone() }); }>"Join visit"</button>
                                        })}
                                        <a class="button secondary" href=ics rel="external" download="" data-testid="ics">"Add to calendar (.ics)"</a>
                                    </div>
                                    {(!can_join && !can_start && v.meeting.state == MeetingState::Blocked).then(|| view! {
                                        <p class="notice" data-testid="being-prepared">"Your visit is being prepared. The clinic is fixing a setting of its video service; the link appears here once it is done."</p>
                                    })}
                                    {(!can_join && !can_start && v.meeting.state != MeetingState::Blocked).then(|| view! { <p class="muted">"The video link appears here once the clinic's Zoom meeting is ready."</p> })}
                                </div>
                            })}
                            <p class="error" role="alert" data-testid="action-error">{move || action_error().map(|e| e.to_string())}</p>
                            <div class="buttons">
                                {can_retry.then(|| view! { <button type="button" class="secondary" data-testid="retry" on:click=move |_| { retry.dispatch(RetryMeeting { id: id_retry.clone() }); }>"Retry Zoom"</button> })}
                                {can_change.then(|| view! { <button type="button" class="secondary" data-testid="cancel" on:click=move |_| { cancel.dispatch(CancelVisit { id: id_cancel.clone() }); }>"Cancel visit"</button> })}
                            </div>
                        </section>
                        {can_change.then(|| view! { <RescheduleForm visit=v.clone() reschedule /> })}
                        {can_change_doctor.then(|| view! { <ChangeDoctorForm visit=v.clone() change_doctor /> })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn RescheduleForm(visit: VisitView, reschedule: SubmissionOf<RescheduleVisit>) -> impl IntoView {
    let start = RwSignal::new(String::new());
    let zone = RwSignal::new(visit.viewer_zone.name().to_owned());
    let duration = RwSignal::new(visit.duration_minutes.to_string());
    let submitted = RwSignal::new(false);
    let parsed = Memo::new(move |_| {
        VisitTimeFields::parse(&start.get(), &zone.get(), &duration.get()).map(|_| ())
    });
    let last_error = move || reschedule.value().get().and_then(Result::err);
    let field_error = move |field: &'static str, typed: RwSignal<String>| {
        form_field_error(parsed, field, typed, submitted, last_error)
    };
    let general_error = server_error_general(last_error, &["start", "zone", "duration"]);
    let id = visit.id.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submitted.set(true);
        if parsed.with_untracked(|p| p.is_ok()) {
            reschedule.dispatch(RescheduleVisit {
                id: id.clone(),
                start: start.get_untracked(),
                zone: zone.get_untracked(),
                duration: duration.get_untracked(),
            });
        }
    };
    view! {
        <section class="card">
            <h2>"Reschedule"</h2>
            <form on:submit=on_submit novalidate data-testid="reschedule-form">
                <TextField label="New date and time" name="start" value=start error=field_error("start", start) kind="datetime-local" />
                <ZoneField label="Time zone of that time" name="zone" value=zone error=field_error("zone", zone) />
                <TextField label="Length (minutes)" name="duration" value=duration error=field_error("duration", duration) kind="number" />
                <p class="error" role="alert">{move || general_error.get()}</p>
                <Show when=move || matches!(reschedule.value().get(), Some(Ok(_)))>
                    <p class="success" role="status">"Rescheduled. Zoom is being updated."</p>
                </Show>
                <button type="submit" disabled=move || reschedule.pending().get()>"Reschedule"</button>
            </form>
        </section>
    }
}

#[component]
fn ChangeDoctorForm(visit: VisitView, change_doctor: SubmissionOf<ChangeDoctor>) -> impl IntoView {
    // Loaded in the browser after hydration: a resource nested in the visit's own Transition
    // hydrated differently from how the server rendered it, which stopped the page's updates.
    let options = RwSignal::new(None);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move { options.set(Some(booking_options().await)) });
    });
    let doctor = RwSignal::new(visit.doctor_id.to_string());
    let id = visit.id.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Ok(doctor_id) = doctor.get_untracked().parse::<i64>() {
            change_doctor.dispatch(ChangeDoctor {
                id: id.clone(),
                doctor_id,
            });
        }
    };
    view! {
        <section class="card">
            <h2>"Change doctor"</h2>
            <form on:submit=on_submit data-testid="change-doctor-form">
                <div class="field">
                    <label for="field-new-doctor">"Doctor"</label>
                    <select id="field-new-doctor" prop:value=move || doctor.get() on:change=move |ev| doctor.set(event_target_value(&ev))>
                        {move || options.get().and_then(Result::ok).map(|choices| {
                            choices.doctors.into_iter().map(|d| { let value = d.id.to_string(); view! { <option value=value.clone() selected=move || doctor.get() == value>{d.label}</option> } }).collect_view()
                        })}
                    </select>
                </div>
                <button type="submit" disabled=move || change_doctor.pending().get()>"Change doctor"</button>
            </form>
        </section>
    }
}
