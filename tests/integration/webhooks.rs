//! Zoom webhooks (issue 9): the endpoint's checks (signature, age, shape), durable and
//! deduplicated storage, what each event does to a visit, deauthorization's purge, retries
//! after a reconnect, and the simulator delivering events as Zoom does. Both databases.

use crate::fixtures::*;
use crate::helpers::*;
use crate::sim::{connect_doctor, Sim};
use serde_json::{json, Value};
use std::time::Duration;

const SECRET: &str = "test-webhook-secret-token";
const WAIT: Duration = Duration::from_secs(30);

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// HMAC-SHA256 as Zoom signs (a reference implementation independent of the app's).
fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    let bytes = mac.finalize().into_bytes();
    format!(
        "v0={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

impl Sim {
    /// Points the simulator's webhooks at `app` with `secret`, redeliveries 1000× faster than
    /// Zoom's; answers whether the endpoint passed `url_validation`.
    pub async fn send_webhooks_to(&self, app: &TestApp, secret: &str) -> bool {
        let answer = self
            .control(
                "webhooks",
                json!({
                    "url": app.url("/webhooks/zoom"),
                    "secret_token": secret,
                    "retry_scale": 0.001,
                }),
            )
            .await;
        answer["validated"] == true
    }

    pub async fn webhooks(&self) -> Value {
        reqwest::get(format!("{}/_sim/webhooks", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// The demo clinic with webhooks set up on both sides, as an admin does it.
async fn live_clinic() -> Clinic {
    let c = clinic(&[]).await;
    let saved = c.app.save_webhook_secret(&c.admin, SECRET).await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    assert!(
        c.sim.send_webhooks_to(&c.app, SECRET).await,
        "the app answers Zoom's url_validation"
    );
    c
}

/// A visit with its meeting ready; answers the visit's id and its Zoom meeting.
async fn ready_visit(c: &Clinic, minutes: i64) -> (String, Value) {
    let id = c.book_in(minutes).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", WAIT)
        .await;
    let meetings = live_meetings(&c.sim).await;
    let meeting = meetings.last().expect("a meeting at Zoom").clone();
    (id, meeting)
}

async fn live_state(c: &Clinic, client: &reqwest::Client, id: &str) -> Value {
    c.visit(client, id).await["live"].clone()
}

/// Waits until the doctor sees the visit's live state as `state`; answers the live view.
async fn wait_live(c: &Clinic, id: &str, state: &str) -> Value {
    eventually(&format!("the visit shows {state}"), WAIT, || async {
        let live = live_state(c, &c.doctor, id).await;
        (live["state"] == state).then_some(live)
    })
    .await
}

fn meeting_event(event: &str, meeting: &Value, ts_ms: i64) -> String {
    json!({
        "event": event,
        "event_ts": ts_ms,
        "payload": {
            "account_id": "demo-account",
            "object": {
                "id": meeting["id"].to_string(),
                "uuid": meeting["uuid"],
                "host_id": meeting["host_id"],
            }
        }
    })
    .to_string()
}

async fn event_rows(c: &Clinic) -> i64 {
    database_count(&c.app, "SELECT COUNT(*) AS n FROM webhook_events").await
}

async fn counter(c: &Clinic, name: &str) -> i64 {
    let view: Value = c.app.zoom_settings(&c.admin).await.json().await.unwrap();
    view["webhook"]["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair[0] == name)
        .map(|pair| pair[1].as_i64().unwrap())
        .unwrap_or(0)
}

#[tokio::test]
async fn url_validation_answers_zooms_fixed_test_vector() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    assert_eq!(
        app.save_webhook_secret(&admin, "test_secret_token")
            .await
            .status(),
        200
    );
    let body = json!({
        "event": "endpoint.url_validation",
        "event_ts": now() * 1000,
        "payload": { "plainToken": "qgg8vlvZRS6UYooatFL8Aw" }
    })
    .to_string();
    let ts = now().to_string();
    let answer = app
        .zoom_webhook(
            Some(&sign("test_secret_token", &ts, &body)),
            Some(&ts),
            &body,
        )
        .await;
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(
        answer["encryptedToken"],
        "4efea922935c335d972476de138d2208a0d46ab28c79ee592d497a1b216419b8"
    );
    // The secret is write-only and sealed.
    let view: Value = app.zoom_settings(&admin).await.json().await.unwrap();
    assert!(view["webhook"]["secret_set_at"].is_i64());
    assert!(view["webhook"]["endpoint_url"]
        .as_str()
        .unwrap()
        .ends_with("/webhooks/zoom"));
    assert!(!view.to_string().contains("test_secret_token"));
    assert!(!database_contains(&app, "test_secret_token").await);
    // Only an admin sets it.
    let doctor = app.logged_in(DOCTOR).await;
    assert_eq!(app.save_webhook_secret(&doctor, "x").await.status(), 403);
}

#[tokio::test]
async fn forged_stale_unsigned_malformed_or_replayed_webhooks_change_nothing() {
    let c = live_clinic().await;
    let (id, meeting) = ready_visit(&c, 5).await;
    let started = meeting_event("meeting.started", &meeting, now() * 1000);
    let ts = now().to_string();

    let unsigned = c.app.zoom_webhook(None, None, &started).await;
    assert_eq!(unsigned.status(), 401);
    let forged = c
        .app
        .zoom_webhook(
            Some(&sign("not-the-secret", &ts, &started)),
            Some(&ts),
            &started,
        )
        .await;
    assert_eq!(forged.status(), 401);
    let tampered = started.replace("meeting.started", "meeting.ended");
    let resigned = c
        .app
        .zoom_webhook(Some(&sign(SECRET, &ts, &started)), Some(&ts), &tampered)
        .await;
    assert_eq!(resigned.status(), 401, "the signature covers the raw body");
    let old = (now() - 301).to_string();
    let stale = c
        .app
        .zoom_webhook(Some(&sign(SECRET, &old, &started)), Some(&old), &started)
        .await;
    assert_eq!(stale.status(), 401);
    let ahead = (now() + 600).to_string();
    let future = c
        .app
        .zoom_webhook(
            Some(&sign(SECRET, &ahead, &started)),
            Some(&ahead),
            &started,
        )
        .await;
    assert_eq!(future.status(), 401);
    let garbage = "{\"event\": 42";
    let malformed = c
        .app
        .zoom_webhook(Some(&sign(SECRET, &ts, garbage)), Some(&ts), garbage)
        .await;
    assert_eq!(malformed.status(), 400);

    assert_eq!(event_rows(&c).await, 0, "nothing refused is stored");
    assert_eq!(live_state(&c, &c.doctor, &id).await["state"], "scheduled");
    assert_eq!(counter(&c, "refused_unsigned").await, 1);
    assert_eq!(counter(&c, "refused_signature").await, 2);
    assert_eq!(counter(&c, "refused_stale").await, 2);
    assert_eq!(counter(&c, "refused_malformed").await, 1);

    // A genuine start, then a genuine end; the start replayed afterwards (within the five
    // minutes) is recognised and changes nothing.
    let genuine = c
        .app
        .zoom_webhook(Some(&sign(SECRET, &ts, &started)), Some(&ts), &started)
        .await;
    assert_eq!(genuine.status(), 200);
    wait_live(&c, &id, "in_progress").await;
    let ended = meeting_event("meeting.ended", &meeting, now() * 1000 + 1000);
    let ts2 = now().to_string();
    c.app
        .zoom_webhook(Some(&sign(SECRET, &ts2, &ended)), Some(&ts2), &ended)
        .await;
    wait_live(&c, &id, "ended").await;
    let replay = c
        .app
        .zoom_webhook(Some(&sign(SECRET, &ts, &started)), Some(&ts), &started)
        .await;
    assert_eq!(
        replay.status(),
        200,
        "Zoom gets its 200; the replay does nothing"
    );
    assert_eq!(event_rows(&c).await, 2);
    assert_eq!(counter(&c, "duplicate").await, 1);
    assert_eq!(live_state(&c, &c.doctor, &id).await["state"], "ended");
}

#[tokio::test]
async fn the_same_event_delivered_three_times_acts_once() {
    let c = live_clinic().await;
    c.sim.control("webhooks", json!({ "duplicates": 2 })).await;
    let (id, meeting) = ready_visit(&c, 5).await;
    let created_before = c.sim.counter("meetings_created").await;
    c.sim
        .control(&format!("meetings/{}/delete", meeting["id"]), json!({}))
        .await;
    eventually("three deliveries answered", WAIT, || async {
        let hooks = c.sim.webhooks().await;
        let answered = hooks["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["event"] == "meeting.deleted" && d["status"] == 200)
            .count();
        (answered == 3).then_some(())
    })
    .await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", WAIT)
        .await;
    assert_eq!(
        database_count(
            &c.app,
            "SELECT COUNT(*) AS n FROM webhook_events WHERE event = 'meeting.deleted'"
        )
        .await,
        1
    );
    assert_eq!(counter(&c, "duplicate").await, 2);
    assert_eq!(
        c.sim.counter("meetings_created").await,
        created_before + 1,
        "one new meeting, not three"
    );
    assert_eq!(live_meetings(&c.sim).await.len(), 1);
}

#[tokio::test]
async fn events_out_of_order_end_in_the_right_state() {
    let c = live_clinic().await;
    let (id, meeting) = ready_visit(&c, 5).await;
    c.sim.control("webhooks", json!({ "hold": true })).await;
    for status in ["started", "ended"] {
        c.sim
            .control(
                &format!("meetings/{}/status", meeting["id"]),
                json!({ "status": status }),
            )
            .await;
    }
    let held = c.sim.webhooks().await["held"].clone();
    assert_eq!(held, json!(["meeting.started", "meeting.ended"]));
    c.sim
        .control("webhooks/release", json!({ "reverse": true }))
        .await;
    let order: Vec<Value> = c.sim.webhooks().await["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event"].clone())
        .collect();
    assert_eq!(
        order,
        vec![json!("meeting.ended"), json!("meeting.started")]
    );
    eventually("both events applied", WAIT, || async {
        let done = database_count(
            &c.app,
            "SELECT COUNT(*) AS n FROM webhook_events WHERE processed_at IS NOT NULL",
        )
        .await;
        (done == 2).then_some(())
    })
    .await;
    let live = live_state(&c, &c.doctor, &id).await;
    assert_eq!(live["state"], "ended", "{live}");
    assert!(live["started_at"].is_string() && live["ended_at"].is_string());
    assert_eq!(live_state(&c, &c.patient, &id).await["state"], "ended");
}

#[tokio::test]
async fn a_meeting_deleted_in_zoom_comes_back_under_the_privacy_contract() {
    let c = live_clinic().await;
    let (id, meeting) = ready_visit(&c, 60).await;
    c.sim
        .control(&format!("meetings/{}/delete", meeting["id"]), json!({}))
        .await;
    let again = eventually("a new meeting at Zoom", WAIT, || async {
        let live = live_meetings(&c.sim).await;
        live.into_iter().find(|m| m["id"] != meeting["id"])
    })
    .await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", WAIT)
        .await;
    assert_eq!(again["waiting_room"], true);
    assert_eq!(again["join_before_host"], false);
    assert_eq!(again["auto_recording"], "none");
    assert_eq!(again["encryption_type"], "enhanced_encryption");
    assert!(again["password"].as_str().is_some_and(|p| !p.is_empty()));
    let audit: Value = c
        .app
        .audit_log(&c.admin, &[("action", "meeting.deleted_in_zoom")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["entries"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit["entries"][0]["subject"], id.as_str());
}

#[tokio::test]
async fn a_meeting_changed_in_zoom_is_held_to_the_contract_again() {
    let c = live_clinic().await;
    let (id, meeting) = ready_visit(&c, 60).await;
    c.sim
        .control(
            &format!("meetings/{}/settings", meeting["id"]),
            json!({ "waiting_room": false, "auto_recording": "cloud" }),
        )
        .await;
    eventually("the contract sent again", WAIT, || async {
        let live = live_meetings(&c.sim).await;
        live.into_iter()
            .find(|m| m["id"] == meeting["id"])
            .filter(|m| m["waiting_room"] == true && m["auto_recording"] == "none")
    })
    .await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", WAIT)
        .await;
}

#[tokio::test]
async fn app_deauthorized_purges_the_zoom_user_flags_their_visits_and_a_reconnect_retries_them() {
    let c = live_clinic().await;
    let zoom_id = "zu_private_4f7c1d";
    let zoom_email = "ada.private.zoom@example.org";
    c.sim
        .control(
            "users",
            json!({
                "id": zoom_id,
                "email": zoom_email,
                "first_name": "Ada",
                "last_name": "Private"
            }),
        )
        .await;
    connect_as(&c.app, &c.sim, &c.doctor, zoom_id).await;
    let (id, meeting) = ready_visit(&c, 60).await;
    let uuid = meeting["uuid"].as_str().unwrap().to_owned();
    assert!(database_contains(&c.app, zoom_email).await);

    c.sim
        .control("deauthorize", json!({ "user": zoom_id }))
        .await;
    c.wait_for_state(std::slice::from_ref(&id), "failed", WAIT)
        .await;
    // Recorded once everything is purged (the SQLite log truncated too).
    let audit = eventually("the purge is audited", WAIT, || async {
        let audit: Value = c
            .app
            .audit_log(&c.admin, &[("action", "zoom.deauthorized")])
            .await
            .json()
            .await
            .unwrap();
        (audit["entries"].as_array().unwrap().len() == 1).then_some(audit)
    })
    .await;
    assert_eq!(audit["entries"][0]["subject"], DOCTOR.0, "{audit}");
    let visit = c.visit(&c.doctor, &id).await;
    assert!(
        visit["meeting"]["reason"]
            .as_str()
            .unwrap()
            .contains("removed from this doctor's Zoom account"),
        "{visit}"
    );
    let status: Value = c.app.zoom_status(&c.doctor).await.json().await.unwrap();
    assert_eq!(
        status["connection"]["state"], "reconnect_needed",
        "{status}"
    );
    let admin_view: Value = c.app.zoom_settings(&c.admin).await.json().await.unwrap();
    let row = admin_view["doctors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["email"] == DOCTOR.0)
        .unwrap()
        .clone();
    assert_eq!(row["connection"]["state"], "reconnect_needed");
    for needle in [zoom_email, zoom_id, uuid.as_str()] {
        assert!(
            !database_contains(&c.app, needle).await,
            "{needle} is still in the database"
        );
    }
    assert_eq!(
        database_count(
            &c.app,
            "SELECT COUNT(*) AS n FROM zoom_connections WHERE access_token_enc <> '' \
             OR refresh_token_enc <> ''"
        )
        .await,
        0,
        "no token left"
    );

    // The doctor connects again: the visit gets its meeting without anyone clicking Retry.
    connect_as(&c.app, &c.sim, &c.doctor, zoom_id).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", WAIT)
        .await;
}

#[tokio::test]
async fn visits_that_failed_for_want_of_zoom_are_retried_when_the_doctor_reconnects() {
    let c = clinic(&[]).await;
    assert_eq!(c.app.zoom_disconnect(&c.doctor).await.status(), 200);
    let ids = [c.book_in(60).await, c.book_in(90).await];
    c.wait_for_state(&ids, "failed", WAIT).await;
    connect_doctor(&c.app, &c.sim, &c.doctor).await;
    c.wait_for_state(&ids, "ready", WAIT).await;
}

#[tokio::test]
async fn a_patient_opening_the_join_link_shows_the_doctor_a_waiting_patient() {
    let c = live_clinic().await;
    let (id, _) = ready_visit(&c, 5).await;
    assert_eq!(live_state(&c, &c.doctor, &id).await["state"], "scheduled");
    let join: Value = c
        .app
        .join_meeting(&c.patient, &id)
        .await
        .json()
        .await
        .unwrap();
    let page = reqwest::get(join["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(page.status(), 200);
    let live = wait_live(&c, &id, "waiting").await;
    let since = live["waiting_since"].as_str().unwrap();
    assert_eq!(since.len(), 5, "HH:MM in the doctor's zone: {since}");
    // The receptionist sees it too.
    assert_eq!(
        live_state(&c, &c.receptionist, &id).await["state"],
        "waiting"
    );

    // The doctor starts: the meeting starts and the patient is admitted.
    let start: Value = c
        .app
        .start_meeting(&c.doctor, &id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        reqwest::get(start["url"].as_str().unwrap())
            .await
            .unwrap()
            .status(),
        200
    );
    let live = wait_live(&c, &id, "in_progress").await;
    assert!(live["waiting_since"].is_null());
    assert!(live["started_at"].is_string());
}

#[tokio::test]
async fn a_visit_whose_time_passed_without_a_start_is_a_no_show_for_staff() {
    let c = live_clinic().await;
    let (id, _) = ready_visit(&c, 60).await;
    execute_sql(
        &c.app,
        &format!(
            "UPDATE appointments SET starts_at = {} WHERE public_id = '{id}'",
            now() - 7200
        ),
    )
    .await;
    assert_eq!(live_state(&c, &c.doctor, &id).await["state"], "no_show");
    assert_eq!(
        live_state(&c, &c.receptionist, &id).await["state"],
        "no_show"
    );
    assert_eq!(live_state(&c, &c.patient, &id).await["state"], "ended");
}

#[tokio::test]
async fn events_for_meetings_we_do_not_know_are_acknowledged_and_counted() {
    let c = live_clinic().await;
    let unknown = json!({ "id": 99_999_999_999_i64, "uuid": "nobody==", "host_id": "zu_x" });
    let body = meeting_event("meeting.started", &unknown, now() * 1000);
    let ts = now().to_string();
    let answer = c
        .app
        .zoom_webhook(Some(&sign(SECRET, &ts, &body)), Some(&ts), &body)
        .await;
    assert_eq!(answer.status(), 200);
    eventually("counted as unknown", WAIT, || async {
        (counter(&c, "unknown_meeting").await == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_demo_opens_on_a_living_clinic_with_visits_in_every_live_state() {
    let sim = Sim::start();
    sim.allow_bursts().await;
    // Events sent before the app is up fail and are redelivered (scaled) to the new URL.
    sim.control(
        "webhooks",
        json!({
            "url": "http://127.0.0.1:9/webhooks/zoom",
            "secret_token": "demo-webhook-secret-token",
            "retry_scale": 0.01
        }),
    )
    .await;
    let mut env = app_env(&sim, &[("DEMO_LIVING_CLINIC", "true")]);
    env.push(("DEMO_MODE".into(), "true".into()));
    let app = spawn_app_with(&pairs(&env)).await;
    assert!(
        sim.send_webhooks_to(&app, "demo-webhook-secret-token")
            .await
    );
    sim.control("webhooks", json!({ "retry_scale": 0.01 }))
        .await;
    let doctor = app.logged_in(DOCTOR).await;
    let states = eventually("every live state", Duration::from_secs(60), || async {
        let list: Value = app.list_visits(&doctor).await.json().await.unwrap();
        let mut states: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["live"]["state"].as_str().unwrap().to_owned())
            .collect();
        states.sort();
        (states == ["ended", "in_progress", "no_show", "scheduled", "waiting"]).then_some(states)
    })
    .await;
    assert_eq!(states.len(), 5);
    let status: Value = app.zoom_status(&doctor).await.json().await.unwrap();
    assert_eq!(status["connection"]["state"], "connected");
}
