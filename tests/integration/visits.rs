//! Telehealth visits end to end over HTTP, against the Zoom simulator: booking creates exactly
//! one meeting with the settings we ask for, time zones and DST, reschedule/cancel/change of
//! doctor reaching Zoom, faults, lost responses, a killed process, and who may see what.

use crate::fixtures::*;
use crate::helpers::*;
use crate::sim::{connect_doctor, Sim};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

/// Every live meeting carries a different marker: no appointment got two.
fn assert_no_duplicates(meetings: &[Value]) {
    let markers: HashSet<&str> = meetings
        .iter()
        .map(|m| m["agenda"].as_str().unwrap())
        .collect();
    assert_eq!(markers.len(), meetings.len(), "duplicate meetings at Zoom");
}

#[tokio::test]
async fn a_booked_visit_gets_exactly_one_meeting_with_the_settings_we_ask_for() {
    let c = clinic(&[]).await;
    let id = c.book_in(120).await;
    // The meeting may already be ready: the worker is woken as the booking commits.
    let booked = c.visit(&c.receptionist, &id).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;

    let meetings = live_meetings(&c.sim).await;
    assert_eq!(meetings.len(), 1);
    let meeting = &meetings[0];
    assert_eq!(meeting["type"], 2);
    assert_eq!(meeting["waiting_room"], true);
    assert_eq!(meeting["join_before_host"], false);
    assert_eq!(meeting["timezone"], "Europe/Berlin");
    assert_eq!(meeting["duration"], 30);
    let starts_at = booked["starts_at"].as_i64().unwrap();
    let expected = chrono::DateTime::from_timestamp(starts_at, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    assert_eq!(meeting["start_time"], expected.as_str());
    // The simulated host's policy: at least 8 characters with a letter and a number.
    let passcode = meeting["password"].as_str().unwrap();
    assert!((8..=10).contains(&passcode.len()), "{passcode}");
    assert!(passcode.chars().any(|c| c.is_ascii_alphabetic()));
    assert!(passcode.chars().any(|c| c.is_ascii_digit()));
    assert!(!meeting["topic"]
        .as_str()
        .unwrap()
        .contains("patient@demo.clinic"));

    let ready = c.visit(&c.doctor, &id).await;
    assert_eq!(ready["can_start"], true);
    assert_eq!(ready["meeting"]["warning"], Value::Null);
    // Neither the passcode nor the join link is stored in plaintext; no start link at all.
    assert!(!database_contains(&c.app, passcode).await);
    assert!(!database_contains(&c.app, "/j/").await);
    assert!(!database_contains(&c.app, "/s/").await);
    assert!(!c.app.logs().contains(passcode));
}

#[tokio::test]
async fn start_fetches_a_fresh_link_each_time_and_is_audited() {
    let c = clinic(&[]).await;
    let id = c.book_in(5).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;
    let first = c.app.start_meeting(&c.doctor, &id).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "no-store");
    let first: Value = first.json().await.unwrap();
    let second: Value = c
        .app
        .start_meeting(&c.doctor, &id)
        .await
        .json()
        .await
        .unwrap();
    let (first, second) = (
        first["url"].as_str().unwrap(),
        second["url"].as_str().unwrap(),
    );
    assert!(first.starts_with(&c.sim.url) && first.contains("/s/"));
    assert_ne!(first, second, "each click gets a freshly minted start link");
    let page = reqwest::get(first).await.unwrap();
    assert_eq!(page.status(), 200, "the simulator's start page opens");

    let joined = c.app.join_meeting(&c.patient, &id).await;
    assert_eq!(joined.status(), 200);
    let join_url = joined.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(join_url.contains("/j/") && join_url.contains("pwd="));

    let refused = c.app.start_meeting(&c.patient, &id).await;
    assert_eq!(refused.status(), 403);

    let audit: Value = c.app.audit_log(&c.admin, &[]).await.json().await.unwrap();
    let entries: Vec<(String, String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["subject"] == id.as_str())
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let has = |action: &str, actor: &str, outcome: &str| {
        entries
            .iter()
            .any(|(a, w, o)| a == action && w == actor && o == outcome)
    };
    assert!(has("meeting.start", DOCTOR.0, "ok"), "{entries:?}");
    assert!(has("meeting.start", PATIENT.0, "refused"), "{entries:?}");
    assert!(has("meeting.join", PATIENT.0, "ok"), "{entries:?}");
    assert!(has("visit.book", RECEPTIONIST.0, "ok"), "{entries:?}");
    let logs = c.app.logs();
    assert!(
        !logs.contains("zak=") && !logs.contains("pwd="),
        "links in logs"
    );
}

#[tokio::test]
async fn each_side_sees_its_own_local_time_and_zoom_gets_the_exact_instant_across_dst() {
    let c = clinic(&[]).await;
    // 19 March 2027: New York is already on summer time (since 14 March), Berlin not yet
    // (28 March), so the two are 4 hours apart instead of 5.
    let response = book(
        &c.app,
        &c.receptionist,
        c.doctor_id,
        Some(c.patient_id),
        "2027-03-19T15:00",
        "Europe/Berlin",
    )
    .await;
    assert_eq!(response.status(), 200);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;
    let meeting = &live_meetings(&c.sim).await[0];
    assert_eq!(meeting["start_time"], "2027-03-19T14:00:00Z");
    let for_doctor = c.visit(&c.doctor, &id).await;
    let for_patient = c.visit(&c.patient, &id).await;
    assert_eq!(for_doctor["local_start"], "Fri 19 Mar 2027, 15:00 CET");
    assert_eq!(for_patient["local_start"], "Fri 19 Mar 2027, 10:00 EDT");

    // Rescheduled past Berlin's change: 15:00 CEST is 13:00 UTC, 09:00 in New York.
    let moved = c
        .app
        .reschedule_visit(&c.patient, &id, "2027-03-29T15:00", "Europe/Berlin", 45)
        .await;
    assert_eq!(moved.status(), 200, "{}", moved.text().await.unwrap());
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;
    let meetings = live_meetings(&c.sim).await;
    assert_eq!(meetings.len(), 1, "rescheduling updates, never re-creates");
    assert_eq!(meetings[0]["start_time"], "2027-03-29T13:00:00Z");
    assert_eq!(meetings[0]["duration"], 45);
    assert_eq!(c.sim.counter("meetings_updated").await, 1);
    assert_eq!(c.sim.counter("meetings_created").await, 1);
    assert_eq!(
        c.visit(&c.doctor, &id).await["local_start"],
        "Mon 29 Mar 2027, 15:00 CEST"
    );
    assert_eq!(
        c.visit(&c.patient, &id).await["local_start"],
        "Mon 29 Mar 2027, 09:00 EDT"
    );

    // A time the clocks skip is refused with the reason, and nothing changes.
    let skipped = c
        .app
        .reschedule_visit(
            &c.receptionist,
            &id,
            "2027-03-28T02:30",
            "Europe/Berlin",
            30,
        )
        .await;
    assert_eq!(skipped.status(), 400);
    let body: Value = skipped.json().await.unwrap();
    assert_eq!(body["field"], "start");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("daylight saving"));

    // The calendar file carries the exact instant and links to the app, not to Zoom.
    let ics = c.app.visit_calendar(&c.patient, &id).await;
    assert_eq!(ics.status(), 200);
    assert!(ics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let ics = ics.text().await.unwrap();
    assert!(ics.contains("DTSTART:20270329T130000Z"), "{ics}");
    assert!(ics.contains("DTEND:20270329T134500Z"), "{ics}");
    assert!(ics.contains(&format!("/visits/{id}")));
    assert!(!ics.contains("pwd=") && !ics.contains(&c.sim.url));
}

#[tokio::test]
async fn cancel_and_change_of_doctor_reach_zoom() {
    let c = clinic(&[]).await;
    let (second_id, second) = create_user(
        &c.app,
        &c.admin,
        "second@demo.clinic",
        "doctor",
        "Europe/Paris",
    )
    .await;
    connect_doctor(&c.app, &c.sim, &second).await;
    let id = c.book_in(180).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;
    let original = live_meetings(&c.sim).await[0]["id"].clone();

    let changed = c.app.change_doctor(&c.receptionist, &id, second_id).await;
    assert_eq!(changed.status(), 200, "{}", changed.text().await.unwrap());
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;
    let meetings = live_meetings(&c.sim).await;
    assert_eq!(meetings.len(), 1);
    assert_ne!(
        meetings[0]["id"], original,
        "a new meeting for the new doctor"
    );
    assert!(meetings[0]["topic"]
        .as_str()
        .unwrap()
        .contains("Dr Second Opinion"));
    assert_eq!(c.sim.counter("meetings_deleted").await, 1);
    // The first doctor no longer sees the visit; the second one may start it.
    let gone = c.app.get_visit(&c.doctor, &id).await;
    assert_eq!(gone.status(), 404);
    assert_eq!(c.visit(&second, &id).await["can_start"], true);

    let cancelled = c.app.cancel_visit(&c.patient, &id).await;
    assert_eq!(cancelled.status(), 200);
    c.wait_for_state(
        std::slice::from_ref(&id),
        "cancelled",
        Duration::from_secs(20),
    )
    .await;
    assert!(live_meetings(&c.sim).await.is_empty());
    assert_eq!(c.sim.counter("meetings_deleted").await, 2);
    let again = c.app.cancel_visit(&c.patient, &id).await;
    assert_eq!(again.status(), 409, "a cancelled visit stays cancelled");
    let start = c.app.start_meeting(&second, &id).await;
    assert_eq!(start.status(), 409);
}

#[tokio::test]
async fn a_visit_is_saved_while_zoom_is_down_and_failures_show_their_reason() {
    let c = clinic(&[]).await;
    c.sim
        .control(
            "faults",
            json!({ "error_rate": 1.0, "error_kinds": ["503"] }),
        )
        .await;
    let id = c.book_in(60).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pending = c.visit(&c.doctor, &id).await;
    assert_eq!(pending["meeting"]["state"], "pending");
    assert!(pending["meeting"]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("retrying"));
    // The patient sees the state, not the technical reason.
    assert_eq!(
        c.visit(&c.patient, &id).await["meeting"]["reason"],
        Value::Null
    );
    c.sim.control("faults", json!({})).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;
    assert_eq!(live_meetings(&c.sim).await.len(), 1);

    // A doctor who disconnects Zoom: the next visit fails with the reason, and once Zoom is
    // connected again a retry by the doctor creates its meeting.
    let disconnected = c.app.zoom_disconnect(&c.doctor).await;
    assert_eq!(disconnected.status(), 200);
    let second = c.book_in(90).await;
    c.wait_for_state(
        std::slice::from_ref(&second),
        "failed",
        Duration::from_secs(20),
    )
    .await;
    let failed = c.visit(&c.doctor, &second).await;
    assert!(failed["meeting"]["reason"]
        .as_str()
        .unwrap()
        .contains("Connect Zoom"));
    assert_eq!(failed["can_retry"], true);
    let refused = c.app.retry_meeting(&c.receptionist, &second).await;
    assert_eq!(refused.status(), 403);
    connect_doctor(&c.app, &c.sim, &c.doctor).await;
    let retried = c.app.retry_meeting(&c.doctor, &second).await;
    assert_eq!(retried.status(), 200);
    c.wait_for_state(
        std::slice::from_ref(&second),
        "ready",
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(live_meetings(&c.sim).await.len(), 2);
}

#[tokio::test]
async fn thirty_percent_faults_over_200_visits_give_200_meetings_and_no_duplicates() {
    let c = clinic(&[("MEETING_WORKERS", "16")]).await;
    // 200 meetings on one host exceed Zoom's daily 100: that limit has its own test.
    c.sim
        .control("config", json!({ "daily_meeting_limit": 10_000 }))
        .await;
    c.sim
        .control(
            "faults",
            json!({ "error_rate": 0.3, "error_kinds": ["500", "503", "429", "timeout"] }),
        )
        .await;
    let ids: Vec<String> = stream::iter(0..200)
        .map(|i| {
            let c = &c;
            async move { c.book_in(60 + i).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    c.wait_for_state(&ids, "ready", Duration::from_secs(240))
        .await;
    let meetings = live_meetings(&c.sim).await;
    assert_eq!(meetings.len(), 200);
    assert_no_duplicates(&meetings);
    assert!(
        c.sim.counter("faults_injected").await > 50,
        "the faults really happened"
    );
}

#[tokio::test]
async fn the_daily_meeting_limit_defers_work_to_the_reset_instead_of_hammering_zoom() {
    let c = clinic(&[]).await;
    c.sim
        .control("config", json!({ "daily_meeting_limit": 2 }))
        .await;
    let ids = vec![c.book_in(60).await, c.book_in(90).await];
    c.wait_for_state(&ids, "ready", Duration::from_secs(20))
        .await;
    let third = c.book_in(120).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let waiting = c.visit(&c.doctor, &third).await;
    assert_eq!(waiting["meeting"]["state"], "pending");
    assert!(waiting["meeting"]["reason"]
        .as_str()
        .unwrap()
        .contains("daily limit"));
    let refused_before = c.sim.counter("rate_limited").await;
    assert!(refused_before >= 1, "Zoom refused the third create");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        c.sim.counter("rate_limited").await,
        refused_before,
        "no retries before the limit resets"
    );
    assert_eq!(live_meetings(&c.sim).await.len(), 2);
}

#[tokio::test]
async fn a_meeting_whose_settings_zoom_overrode_is_flagged_to_staff() {
    let c = clinic(&[]).await;
    c.sim
        .control("config", json!({ "locked_settings": true }))
        .await;
    let id = c.book_in(60).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;
    let for_doctor = c.visit(&c.doctor, &id).await;
    let warning = for_doctor["meeting"]["warning"].as_str().unwrap();
    assert!(warning.contains("waiting room is off"), "{warning}");
    assert!(warning.contains("passcode differs"), "{warning}");
    assert_eq!(
        c.visit(&c.patient, &id).await["meeting"]["warning"],
        Value::Null
    );
}

#[tokio::test]
async fn a_meeting_the_doctor_deleted_in_zoom_is_created_again_on_the_next_change() {
    let c = clinic(&[]).await;
    let id = c.book_in(120).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;
    let meeting_id = live_meetings(&c.sim).await[0]["id"].as_i64().unwrap();
    let token = c
        .sim
        .issued_secrets_of("access_tokens")
        .await
        .pop()
        .unwrap();
    let deleted = reqwest::Client::new()
        .delete(format!("{}/v2/meetings/{meeting_id}", c.sim.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let moved = c
        .app
        .reschedule_visit(
            &c.receptionist,
            &id,
            &local_in(150, "Europe/Berlin"),
            "Europe/Berlin",
            30,
        )
        .await;
    assert_eq!(moved.status(), 200);
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;
    let meetings = live_meetings(&c.sim).await;
    assert_eq!(meetings.len(), 1);
    assert_ne!(meetings[0]["id"].as_i64().unwrap(), meeting_id);
}

#[tokio::test]
async fn a_cancellation_zoom_could_not_carry_out_is_retried_until_the_meeting_is_gone() {
    let c = clinic(&[]).await;
    let id = c.book_in(120).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;
    let disconnected = c.app.zoom_disconnect(&c.doctor).await;
    assert_eq!(disconnected.status(), 200);
    let cancelled = c.app.cancel_visit(&c.receptionist, &id).await;
    assert_eq!(cancelled.status(), 200);
    c.wait_for_state(std::slice::from_ref(&id), "failed", Duration::from_secs(20))
        .await;
    assert_eq!(live_meetings(&c.sim).await.len(), 1, "still at Zoom");
    let failed = c.visit(&c.doctor, &id).await;
    assert_eq!(failed["can_retry"], true);
    assert_eq!(failed["can_join"], false);
    connect_doctor(&c.app, &c.sim, &c.doctor).await;
    let retried = c.app.retry_meeting(&c.doctor, &id).await;
    assert_eq!(retried.status(), 200);
    c.wait_for_state(
        std::slice::from_ref(&id),
        "cancelled",
        Duration::from_secs(20),
    )
    .await;
    assert!(live_meetings(&c.sim).await.is_empty());
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_found_not_repeated() {
    let c = clinic(&[]).await;
    c.sim
        .control(
            "faults",
            json!({ "drop_after_apply": true, "paths": "/v2/users/" }),
        )
        .await;
    let id = c.book_in(60).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(30))
        .await;
    assert_eq!(c.sim.counter("meetings_created").await, 1);
    let meetings = live_meetings(&c.sim).await;
    assert_eq!(meetings.len(), 1);
    // The adopted meeting's passcode is the one we stored before calling Zoom.
    assert_eq!(
        c.visit(&c.doctor, &id).await["meeting"]["warning"],
        Value::Null
    );
    assert!(c.app.logs().contains("adopting it"));
}

#[tokio::test]
async fn a_process_killed_mid_work_resumes_after_restart_without_duplicates() {
    let sim = Sim::start();
    sim.allow_bursts().await;
    let env = app_env(&sim, &[]);
    let app = spawn_app_with(&pairs(&env)).await;
    let database_url = app.database_url.clone();
    let admin = app.logged_in(ADMIN).await;
    let receptionist = app.logged_in(RECEPTIONIST).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    let doctor_id = user_id(&app, &admin, DOCTOR.0).await;
    let patient_id = user_id(&app, &admin, PATIENT.0).await;
    // Slow Zoom down so that the kill lands while creates are in flight.
    sim.control("faults", json!({ "latency_ms": 400 })).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let response = book(
            &app,
            &receptionist,
            doctor_id,
            Some(patient_id),
            &local_in(60 + i, "UTC"),
            "UTC",
        )
        .await;
        assert_eq!(response.status(), 200);
        ids.push(
            response.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let created_before = sim.counter("meetings_created").await;
    assert!(created_before < 30, "the kill must land mid-work");
    let dir = app.stop(); // SIGKILL: no graceful shutdown, leases left held

    let app = spawn_app_on(dir, database_url, &pairs(&env)).await;
    let c = Clinic {
        admin: app.logged_in(ADMIN).await,
        receptionist: app.logged_in(RECEPTIONIST).await,
        doctor: app.logged_in(DOCTOR).await,
        patient: app.logged_in(PATIENT).await,
        sim,
        app,
        doctor_id,
        patient_id,
    };
    c.wait_for_state(&ids, "ready", Duration::from_secs(90))
        .await;
    let meetings = live_meetings(&c.sim).await;
    assert_eq!(meetings.len(), 30);
    assert_no_duplicates(&meetings);
}
