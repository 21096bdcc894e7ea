//! The browser's end of the push stream (`GET /api/events`, one per tab) and the idle logoff.
//!
//! Pages re-read their data when `Live::pulse` moves (a visit they may see changed, or the
//! stream asks for a full re-read). Those re-reads go to the passive `/api/live/` paths, which
//! do not count as activity, so an open tab no longer keeps its session alive. While the
//! stream is down the pulse still moves once a minute, so pages do not go stale.
//!
//! The stream also says when the session will end; two minutes before (or half the idle time,
//! if that is shorter) a banner offers "Stay signed in", and at the end the tab goes to the
//! login page (HIPAA 164.312(a)(2)(iii), automatic logoff).

use crate::api::live::StaySignedIn;
use crate::app::Auth;
use crate::components::submission::SubmissionOf;
use leptos::prelude::*;
use std::time::Duration;

/// How long before the logoff the warning shows (at most).
const WARN_SECS: i64 = 120;
/// How often pages re-read while the stream is down.
const FALLBACK: Duration = Duration::from_secs(60);

#[derive(Clone, Copy)]
pub struct Live {
    /// Moves whenever pages should re-read what they show.
    pub pulse: RwSignal<u64>,
    /// When the session ends without activity, in browser milliseconds.
    pub ends_at_ms: RwSignal<Option<f64>>,
    pub idle_secs: RwSignal<Option<i64>>,
    pub connected: RwSignal<bool>,
}

impl Live {
    pub fn use_context() -> Self {
        use_context::<Live>().unwrap_or_else(|| Live {
            pulse: RwSignal::new(0),
            ends_at_ms: RwSignal::new(None),
            idle_secs: RwSignal::new(None),
            connected: RwSignal::new(false),
        })
    }

    /// Whether a re-read was caused by the stream (use the passive paths) rather than by the
    /// person opening the page: `baseline` is the pulse when the page was created.
    pub fn pushed(pulse: u64, baseline: u64) -> bool {
        pulse != baseline
    }
}

pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        chrono::Utc::now().timestamp_millis() as f64
    }
}

/// A signal that ticks every `period` in the browser (never on the server), for clocks; the
/// interval stops when the owning view goes away. Ticks make no requests.
pub fn ticker(period: Duration) -> RwSignal<u64> {
    let tick = RwSignal::new(0u64);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(move || tick.update(|t| *t += 1), period) {
            on_cleanup(move || handle.clear());
        }
    });
    tick
}

/// Makes `Live` available to every page; call once in `App`, before the router.
pub fn provide_live() -> Live {
    let live = Live {
        pulse: RwSignal::new(0),
        ends_at_ms: RwSignal::new(None),
        idle_secs: RwSignal::new(None),
        connected: RwSignal::new(false),
    };
    provide_context(live);
    live
}

/// Keeps one stream open while someone is logged in, and shows the logoff warning. Place
/// once, inside the app (it reads `Auth` and `Live`).
#[component]
pub fn LiveStream() -> impl IntoView {
    let live = Live::use_context();
    let auth = Auth::use_context();
    let logged_in = Memo::new(move |_| matches!(auth.me.get(), Some(Ok(Some(_)))));
    Effect::new(move |_| {
        if logged_in.get() {
            #[cfg(feature = "hydrate")]
            {
                stream::connect(live);
                on_cleanup(stream::close);
            }
        } else {
            live.connected.set(false);
            live.ends_at_ms.set(None);
        }
    });
    let fallback = ticker(FALLBACK);
    Effect::new(move |previous: Option<u64>| {
        let now = fallback.get();
        if previous.is_some() && !live.connected.get_untracked() {
            live.pulse.update(|p| *p += 1);
        }
        now
    });
    view! { <IdleWarning live /> }
}

#[component]
fn IdleWarning(live: Live) -> impl IntoView {
    let clock = ticker(Duration::from_secs(1));
    let stay = SubmissionOf::<StaySignedIn>::new();
    Effect::new(move |_| {
        if let Some(Ok(left)) = stay.value().get() {
            live.ends_at_ms
                .set(Some(now_ms() + left.expires_in as f64 * 1000.0));
        }
    });
    let seconds_left = move || {
        clock.get();
        live.ends_at_ms
            .get()
            .map(|end| ((end - now_ms()) / 1000.0).ceil() as i64)
    };
    let warn_from = move || {
        live.idle_secs
            .get()
            .map_or(WARN_SECS, |idle| (idle / 2).min(WARN_SECS))
    };
    Effect::new(move |_| {
        if seconds_left().is_some_and(|left| left <= 0) {
            live.ends_at_ms.set(None);
            let _ = window().location().set_href("/login?signed_out=idle");
        }
    });
    view! {
        <Show when=move || seconds_left().is_some_and(|left| left > 0 && left <= warn_from())>
            <div class="idle-warning" role="alertdialog" aria-live="assertive" data-testid="idle-warning">
                <p>
                    "For your patients' privacy you will be signed out in "
                    <strong>{move || seconds_left().unwrap_or_default()}</strong>
                    " seconds because nothing happened in this tab."
                </p>
                <button type="button" data-testid="stay-signed-in" on:click=move |_| { stay.dispatch(StaySignedIn {}); }>
                    "Stay signed in"
                </button>
            </div>
        </Show>
    }
}

#[cfg(feature = "hydrate")]
mod stream {
    use super::{now_ms, Live};
    use leptos::prelude::*;
    use std::cell::RefCell;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{Event, EventSource, MessageEvent};

    thread_local! {
        /// The tab's one stream.
        static SOURCE: RefCell<Option<EventSource>> = const { RefCell::new(None) };
    }

    #[derive(serde::Deserialize)]
    struct SessionEvent {
        expires_in: i64,
        idle: i64,
    }

    fn listen(source: &EventSource, name: &str, handler: impl FnMut(Event) + 'static) {
        let handler = Closure::<dyn FnMut(Event)>::new(handler);
        let _ = source.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
        // Lives as long as the page: on logout the source is closed, which silences it.
        handler.forget();
    }

    fn data<T: serde::de::DeserializeOwned>(event: &Event) -> Option<T> {
        let text = event.dyn_ref::<MessageEvent>()?.data().as_string()?;
        serde_json::from_str(&text).ok()
    }

    pub fn close() {
        SOURCE.with(|s| {
            if let Some(source) = s.borrow_mut().take() {
                source.close();
            }
        });
    }

    pub fn connect(live: Live) {
        close();
        let Ok(source) = EventSource::new("/api/events") else {
            return;
        };
        let bump = move |_| {
            live.pulse.try_update(|p| *p += 1);
        };
        listen(&source, "visit", bump);
        listen(&source, "resync", bump);
        listen(&source, "session", move |event| {
            if let Some(session) = data::<SessionEvent>(&event) {
                live.ends_at_ms
                    .try_set(Some(now_ms() + session.expires_in as f64 * 1000.0));
                live.idle_secs.try_set(Some(session.idle));
            }
        });
        listen(&source, "expired", move |_| {
            live.ends_at_ms.try_set(Some(now_ms()));
        });
        listen(&source, "open", move |_| {
            live.connected.try_set(true);
            // Whatever changed while no stream was open was not pushed: after a reconnect, and
            // also on the first open, since the page was rendered before the stream existed.
            live.pulse.try_update(|p| *p += 1);
        });
        listen(&source, "error", move |_| {
            live.connected.try_set(false);
        });
        SOURCE.with(|s| *s.borrow_mut() = Some(source));
    }
}
