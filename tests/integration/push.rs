//! The push stream (`GET /api/events`): who hears of which visit, across app instances, and
//! that holding the stream open does not keep an idle session alive. Absence of an event is
//! shown by order, not by waiting: the other patient's change is made first, and the first
//! visit event a stream sees must be its own caller's.

use crate::fixtures::*;
use crate::helpers::*;
use reqwest::{Client, Response};
use serde_json::Value;
use std::time::Duration;

/// Only a guard against a hung test; no assertion depends on it.
const GUARD: Duration = Duration::from_secs(30);

/// A Server-Sent Events reader over a streaming response.
struct Events {
    response: Response,
    buffer: String,
}

impl Events {
    async fn open(app: &TestApp, client: &Client) -> Self {
        let response = app.events(client).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let mut events = Self {
            response,
            buffer: String::new(),
        };
        // The first event says how long the session has: the stream is live from here on.
        events.next_named("session").await;
        events
    }

    /// The next event as (name, data), or None once the server closed the stream.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = "message".to_owned();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim());
                    }
                }
                // Keep-alive comments carry no data.
                if data.is_empty() {
                    continue;
                }
                return Some((name, serde_json::from_str(&data).unwrap()));
            }
            let chunk = tokio::time::timeout(GUARD, self.response.chunk())
                .await
                .expect("the stream went silent")
                .expect("reading the stream failed")?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    async fn next_named(&mut self, wanted: &str) -> Value {
        loop {
            match self.next().await {
                Some((name, data)) if name == wanted => return data,
                Some(_) => continue,
                None => panic!("the stream ended before a {wanted} event"),
            }
        }
    }

    /// Visit events until every id in `ids` was seen; answers them in order of arrival.
    async fn visits_until(&mut self, ids: &[&str]) -> Vec<String> {
        let mut seen = Vec::new();
        while !ids.iter().all(|id| seen.iter().any(|s| s == id)) {
            let data = self.next_named("visit").await;
            seen.push(data["id"].as_str().unwrap().to_owned());
        }
        seen
    }
}

fn visit_id_of(body: &Value) -> String {
    body["id"].as_str().unwrap().to_owned()
}

async fn book_for(clinic: &Clinic, patient_id: i64) -> String {
    let response = book(
        &clinic.app,
        &clinic.receptionist,
        clinic.doctor_id,
        Some(patient_id),
        &local_in(90, "Europe/Berlin"),
        "Europe/Berlin",
    )
    .await;
    assert_eq!(response.status(), 200);
    visit_id_of(&response.json().await.unwrap())
}

#[tokio::test]
async fn a_patient_hears_of_their_own_visits_only_and_staff_of_all() {
    let clinic = clinic(&[]).await;
    let (other_id, other) = create_user(
        &clinic.app,
        &clinic.admin,
        "other.patient@example.org",
        "patient",
        "Europe/Berlin",
    )
    .await;
    let mut mine = Events::open(&clinic.app, &clinic.patient).await;
    let mut theirs = Events::open(&clinic.app, &other).await;
    let mut desk = Events::open(&clinic.app, &clinic.receptionist).await;
    let mut doctor = Events::open(&clinic.app, &clinic.doctor).await;

    // Each patient's visit is announced before the other's own: if a stream passed on a
    // visit it may not see, that visit would arrive before the caller's own.
    let other_visit = book_for(&clinic, other_id).await;
    let my_visit = book_for(&clinic, clinic.patient_id).await;
    let my_second = book_for(&clinic, clinic.patient_id).await;
    let other_second = book_for(&clinic, other_id).await;

    let first = mine.next_named("visit").await;
    assert_eq!(
        first,
        serde_json::json!({ "id": my_visit }),
        "the patient's first event must be their own visit, carrying nothing but its id"
    );
    let heard = theirs.visits_until(&[&other_visit, &other_second]).await;
    assert!(
        !heard.contains(&my_visit) && !heard.contains(&my_second),
        "the other patient heard of the first patient's visits: {heard:?}"
    );

    let everything = [
        other_visit.as_str(),
        my_visit.as_str(),
        my_second.as_str(),
        other_second.as_str(),
    ];
    let clinic_wide = desk.visits_until(&everything).await;
    assert_eq!(
        clinic_wide[0], other_visit,
        "staff hear of every visit, in order"
    );
    doctor.visits_until(&everything).await;
}

#[tokio::test]
async fn the_stream_is_refused_without_a_session() {
    let app = spawn_app().await;
    let response = app.events(&app.client()).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn holding_only_the_stream_open_does_not_keep_the_session_alive() {
    let app = spawn_app_with(&[("SESSION_IDLE_TIMEOUT_SECS", "3")]).await;
    let desk = app.logged_in(RECEPTIONIST).await;
    let mut events = Events::open(&app, &desk).await;
    // The page's re-reads after a push (the passive paths) do not count as activity either:
    // the server ends the stream itself once the idle time passed.
    let until_expired = async {
        loop {
            match events.next().await {
                Some((name, session)) if name == "session" => {
                    let status = app.live_today(&desk).await.status();
                    // A read sent in the session's last second may arrive after its end on
                    // a busy machine (a full test run failed so): only earlier ones must pass.
                    if session["expires_in"].as_i64().unwrap_or(0) >= 2 {
                        assert_eq!(status, 200);
                    }
                }
                Some((name, _)) if name == "expired" => break,
                Some(_) => {}
                None => panic!("the stream closed without saying the session expired"),
            }
        }
    };
    // A guard only: a session kept alive would otherwise send `session` events forever.
    tokio::time::timeout(GUARD, until_expired)
        .await
        .expect("the stream and the passive re-reads kept the session alive");
    assert!(events.next().await.is_none(), "the stream must close");
    let response = app.list_visits(&desk).await;
    assert_eq!(response.status(), 401);
    // And it cannot be reopened with the expired session.
    assert_eq!(app.events(&desk).await.status(), 401);
}

#[tokio::test]
async fn stay_signed_in_counts_as_activity() {
    let app = spawn_app_with(&[("SESSION_IDLE_TIMEOUT_SECS", "4")]).await;
    let patient = app.logged_in(PATIENT).await;
    let mut events = Events::open(&app, &patient).await;
    // Wait (on the server's own clock) until the session is about to end, then stay.
    loop {
        let left = events.next_named("session").await["expires_in"]
            .as_i64()
            .unwrap();
        if left <= 2 {
            break;
        }
    }
    let stayed = app.stay_signed_in(&patient).await;
    assert_eq!(stayed.status(), 200);
    let left = stayed.json::<Value>().await.unwrap()["expires_in"]
        .as_i64()
        .unwrap();
    assert!(
        left >= 3,
        "staying must give the session its idle time again: {left}"
    );
    assert_eq!(app.list_visits(&patient).await.status(), 200);
}

#[tokio::test]
async fn a_change_on_one_instance_reaches_a_stream_on_another() {
    let clinic = clinic(&[]).await;
    // PostgreSQL carries changes between instances (NOTIFY/LISTEN). SQLite runs one instance
    // (see README), so there both clients use the same one.
    let second_instance;
    let second: &TestApp = if using_postgres() {
        let env = app_env(&clinic.sim, &[]);
        second_instance = spawn_app_on(
            TempDir::new(),
            clinic.app.database_url.clone(),
            &pairs(&env),
        )
        .await;
        &second_instance
    } else {
        &clinic.app
    };
    let desk = second.logged_in(RECEPTIONIST).await;
    let patient = second.logged_in(PATIENT).await;
    let mut desk_events = Events::open(second, &desk).await;
    let mut patient_events = Events::open(second, &patient).await;

    let visit = clinic.book_in(90).await;

    desk_events.visits_until(&[&visit]).await;
    let first = patient_events.next_named("visit").await;
    assert_eq!(first["id"], visit.as_str());
}

#[tokio::test]
async fn the_day_view_lists_todays_visits_for_doctor_and_staff() {
    let clinic = clinic(&[]).await;
    let visit = clinic.book_in(5).await;
    for client in [&clinic.doctor, &clinic.receptionist, &clinic.admin] {
        let response = clinic.app.today_visits(client).await;
        assert_eq!(response.status(), 200);
        let day: Value = response.json().await.unwrap();
        let ids: Vec<&str> = day["visits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap())
            .collect();
        // A test run in the last minutes before midnight books into tomorrow.
        let starts_today = local_in(5, day["zone"].as_str().unwrap())[..10]
            == local_in(0, day["zone"].as_str().unwrap())[..10];
        assert_eq!(ids.contains(&visit.as_str()), starts_today, "{day}");
        assert_eq!(day["visits"][0]["live"]["state"], "scheduled");
    }
    let refused = clinic.app.today_visits(&clinic.patient).await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn the_zone_list_comes_from_the_server() {
    let app = spawn_app().await;
    let patient = app.logged_in(PATIENT).await;
    let zones: Vec<String> = app.time_zones(&patient).await.json().await.unwrap();
    assert!(zones.len() > 300);
    assert!(zones.iter().any(|z| z == "Europe/Berlin"));
    assert!(zones.iter().any(|z| z == "America/New_York"));
}
