//! What a form or a button sent to the server, and what came back: the parts of Leptos'
//! `ServerAction` our pages use (`dispatch`, `value`, `pending`, `version`, `clear`).
//!
//! A `ServerAction<S>` is a generic action machine per server function: with a dozen of them
//! the browser's bundle carried a dozen copies of it, about 5% of its code. A `Submission<T>` is
//! one per *answer* type (a visit, a meeting link, nothing), and only the call itself is per
//! server function. What else `ServerAction` offers is showing the error of a form posted before
//! hydration; that needs the page's address in the `Referer`, which our
//! `Referrer-Policy: no-referrer` withholds, so our pages never had it.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// The submissions of the server function `S`.
pub type SubmissionOf<S> = Submission<<S as ServerFn>::Output>;

pub struct Submission<T: 'static> {
    value: RwSignal<Option<Result<T, AppError>>>,
    version: RwSignal<usize>,
    in_flight: RwSignal<usize>,
    pending: Memo<bool>,
}

impl<T: 'static> Clone for Submission<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: 'static> Copy for Submission<T> {}

impl<T: Send + Sync + 'static> Default for Submission<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + Sync + 'static> Submission<T> {
    pub fn new() -> Self {
        let in_flight = RwSignal::new(0);
        Self {
            value: RwSignal::new(None),
            version: RwSignal::new(0),
            in_flight,
            pending: Memo::new(move |_| in_flight.get() > 0),
        }
    }

    /// Calls the server function; its answer becomes `value` and moves `version`.
    pub fn dispatch<S>(&self, call: S)
    where
        S: ServerFn<Output = T, Error = AppError> + 'static,
    {
        let this = *self;
        self.in_flight.update(|n| *n += 1);
        // `run_on_client` is how `ServerAction` itself makes the call (server_fn 0.8.13; it
        // is `#[doc(hidden)]`, so a Leptos upgrade must check it).
        let answer = S::run_on_client(call);
        leptos::task::spawn(async move {
            let answer = answer.await;
            // The page may be gone by now: then there is nobody to tell.
            this.in_flight.try_update(|n| *n = n.saturating_sub(1));
            this.version.try_update(|v| *v += 1);
            this.value.try_set(Some(answer));
        });
    }

    /// The last answer, if any.
    pub fn value(&self) -> RwSignal<Option<Result<T, AppError>>> {
        self.value
    }

    /// How many answers have arrived.
    pub fn version(&self) -> RwSignal<usize> {
        self.version
    }

    /// Whether a call is under way.
    pub fn pending(&self) -> Signal<bool> {
        self.pending.into()
    }

    /// Forgets the last answer. A call still on its way still answers, as with an action: what
    /// it did on the server (a login's session) must show.
    pub fn clear(&self) {
        self.value.set(None);
    }
}
