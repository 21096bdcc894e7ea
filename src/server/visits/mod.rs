//! Telehealth visits on the server: the background worker that gives each appointment its
//! meeting, and the passcodes it sets.

pub mod calendar;
pub mod passcode;
pub mod worker;

use crate::domain::VisitId;
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use rand::Rng;

pub const PURPOSE_PASSCODE: &str = "meetings.passcode";
pub const PURPOSE_JOIN_URL: &str = "meetings.join_url";

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
