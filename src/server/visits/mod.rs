//! Telehealth visits on the server: who may see and act on a visit (`access`), the visit
//! rules (`service`), a visit as one caller sees it (`view`), the background worker that gives
//! each appointment its meeting, the passcodes it sets, and the calendar file.

pub mod access;
pub mod calendar;
pub mod day;
pub mod limits;
pub mod passcode;
pub mod service;
pub mod view;
pub mod worker;

use crate::domain::VisitId;
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use rand::Rng;

fn random_alphanumeric(len: usize) -> String {
    OsRng
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A new unguessable appointment id (about 131 bits).
pub fn new_visit_id() -> VisitId {
    VisitId::parse(&random_alphanumeric(VisitId::LEN)).expect("22 alphanumerics form a visit id")
}

/// The marker written into a meeting's agenda so the meeting can be recognised later.
pub fn new_marker() -> String {
    format!("th-{}", random_alphanumeric(20))
}
