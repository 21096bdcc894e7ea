//! The privacy contract at Zoom: every visit's meeting gets the clinic's settings whatever the
//! doctor's Zoom defaults are; a setting the Zoom account locks against it blocks the visit
//! (the patient gets no link, staff see what to change), and fixing it makes the visit ready
//! without a new meeting; pre-flight names each conflict before a visit is booked; scopes are
//! checked in the app's naming scheme; a Basic host cannot hold a long visit; meetings die
//! after the visit.

use crate::fixtures::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const DOCTOR_ZOOM_USER: &str = "zu_ada";

/// The doctor's Zoom defaults at their most dangerous for a visit (meeting-level fields the
/// API can override).
fn unsafe_meeting_defaults() -> Value {
    json!({
        "auto_recording": "cloud",
        "auto_start_meeting_summary": true,
        "auto_start_ai_companion_questions": true,
        "encryption_type": "e2ee",
        "meeting_authentication": true,
        "waiting_room": false,
        "join_before_host": true,
        "continuous_meeting_chat": true,
        "approval_type": 0,
        "use_pmi": true,
    })
}

/// The friendly defaults back, and no locks.
fn friendly() -> Value {
    json!({
        "auto_recording": "none",
        "auto_start_meeting_summary": false,
        "auto_start_ai_companion_questions": false,
        "encryption_type": "enhanced_encryption",
        "meeting_authentication": false,
        "only_authenticated_can_join_from_webclient": false,
        "embed_password_in_join_link": true,
        "waiting_room": true,
        "join_before_host": false,
        "continuous_meeting_chat": false,
        "approval_type": 2,
        "use_pmi": false,
        "locked": [],
    })
}

/// The newest meeting the simulator holds (each test here books one visit at a time).
async fn newest_meeting(c: &Clinic) -> Value {
    let meetings = live_meetings(&c.sim).await;
    meetings.last().cloned().expect("a live meeting")
}

async fn wait_for(c: &Clinic, id: &str, state: &str) -> Value {
    c.wait_for_state(&[id.to_owned()], state, Duration::from_secs(30))
        .await;
    c.visit(&c.admin, id).await
}

#[tokio::test]
async fn unsafe_zoom_defaults_never_reach_a_visits_meeting() {
    let c = clinic(&[]).await;
    c.sim
        .host_settings(Some(DOCTOR_ZOOM_USER), unsafe_meeting_defaults(), None)
        .await;
    let id = c.book_in(60).await;
    wait_for(&c, &id, "ready").await;
    let meeting = newest_meeting(&c).await;
    for (field, safe) in [
        ("auto_recording", json!("none")),
        ("auto_start_meeting_summary", json!(false)),
        ("auto_start_ai_companion_questions", json!(false)),
        ("encryption_type", json!("enhanced_encryption")),
        ("meeting_authentication", json!(false)),
        ("waiting_room", json!(true)),
        ("join_before_host", json!(false)),
        ("continuous_meeting_chat", json!(false)),
        ("approval_type", json!(2)),
        ("use_pmi", json!(false)),
    ] {
        assert_eq!(meeting[field], safe, "{field} in {meeting}");
    }
    // A reschedule sends the whole contract again.
    let start = local_in(120, "Europe/Berlin");
    let moved = c
        .app
        .reschedule_visit(&c.receptionist, &id, &start, "Europe/Berlin", 30)
        .await;
    assert_eq!(moved.status(), 200);
    let started = Instant::now();
    while c.sim.counter("meetings_updated").await < 1 {
        assert!(started.elapsed() < Duration::from_secs(20), "no PATCH");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for(&c, &id, "ready").await;
    let sent: Vec<Value> = reqwest::get(format!("{}/_sim/requests", c.sim.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let patch = sent.iter().find(|r| r["method"] == "PATCH").unwrap();
    assert_eq!(patch["body"]["settings"]["auto_recording"], "none");
    assert_eq!(patch["body"]["settings"]["waiting_room"], true);
}

#[tokio::test]
async fn each_locked_setting_blocks_the_visit_until_the_admin_fixes_it_without_a_new_meeting() {
    // Production timings: the fence around each change is then far longer than a test run.
    let c = clinic(&[
        ("MEETING_BLOCKED_RECHECK_SECS", "3600"),
        ("ZOOM_REQUEST_TIMEOUT_SECS", "15"),
        ("MEETING_JOB_LEASE_SECS", "120"),
    ])
    .await;
    // (the setting, its unsafe value, words the staff see)
    let cases: [(&str, Value, &str); 11] = [
        ("auto_recording", json!("cloud"), "recording"),
        (
            "auto_start_meeting_summary",
            json!(true),
            "AI Companion meeting summaries",
        ),
        (
            "auto_start_ai_companion_questions",
            json!(true),
            "AI Companion questions",
        ),
        ("encryption_type", json!("e2ee"), "end-to-end encryption"),
        ("meeting_authentication", json!(true), "signed-in"),
        ("waiting_room", json!(false), "waiting room is off"),
        (
            "continuous_meeting_chat",
            json!(true),
            "continuous meeting chat",
        ),
        ("approval_type", json!(0), "registration"),
        ("use_pmi", json!(true), "personal meeting ID"),
        (
            "embed_password_in_join_link",
            json!(false),
            "does not carry the passcode",
        ),
        (
            "only_authenticated_can_join_from_webclient",
            json!(true),
            "signed-in",
        ),
    ];
    for (field, value, words) in cases {
        c.sim
            .host_settings(
                Some(DOCTOR_ZOOM_USER),
                json!({ field: value, "locked": [field] }),
                None,
            )
            .await;
        let id = c.book_in(10).await;
        let blocked = wait_for(&c, &id, "blocked").await;
        let reason = blocked["meeting"]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(words), "{field}: {reason}");
        assert!(
            reason.contains("Zoom admin"),
            "{field}: where to fix it: {reason}"
        );
        let created = c.sim.counter("meetings_created").await;

        // The patient is told to wait and gets no link, anywhere.
        let join = c.app.join_meeting(&c.patient, &id).await;
        assert_eq!(join.status(), 409, "{field}");
        let join = join.text().await.unwrap();
        assert!(join.contains("being prepared"), "{field}: {join}");
        for client in [&c.patient, &c.doctor, &c.admin] {
            for body in [
                c.app.get_visit(client, &id).await.text().await.unwrap(),
                c.app.list_visits(client).await.text().await.unwrap(),
            ] {
                assert!(
                    !body.contains("/j/") && !body.contains("pwd="),
                    "{field}: {body}"
                );
            }
        }
        assert_eq!(c.app.start_meeting(&c.doctor, &id).await.status(), 409);
        let patient_view = c.visit(&c.patient, &id).await;
        assert_eq!(patient_view["meeting"]["reason"], Value::Null, "staff only");

        // The clinic's Zoom admin unlocks it; the app's admin says it is fixed.
        c.sim
            .host_settings(Some(DOCTOR_ZOOM_USER), friendly(), None)
            .await;
        assert_eq!(c.app.recheck_blocked(&c.admin).await.status(), 200);
        wait_for(&c, &id, "ready").await;
        assert_eq!(
            c.sim.counter("meetings_created").await,
            created,
            "{field}: fixed in place, not recreated"
        );
        assert_eq!(c.app.join_meeting(&c.patient, &id).await.status(), 200);
        assert_eq!(c.app.cancel_visit(&c.admin, &id).await.status(), 200);
    }
}

#[tokio::test]
async fn preflight_names_each_conflict_before_a_visit_is_booked() {
    let c = clinic(&[]).await;
    let mut defaults = unsafe_meeting_defaults();
    defaults["embed_password_in_join_link"] = json!(false);
    defaults["only_authenticated_can_join_from_webclient"] = json!(true);
    c.sim
        .host_settings(Some(DOCTOR_ZOOM_USER), defaults, Some(1))
        .await;

    let outcome: Value = c
        .app
        .test_zoom_connection(&c.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(outcome["outcome"], "connected", "{outcome}");
    let conflicts = outcome["conflicts"].to_string();
    for words in [
        "recording",
        "AI Companion meeting summaries",
        "AI Companion questions",
        "end-to-end encryption",
        "waiting room is off",
        "does not carry the passcode",
        "signed-in",
        "continuous meeting chat",
        "personal meeting ID",
        "Basic",
    ] {
        assert!(
            conflicts.contains(words),
            "missing {words:?} in {conflicts}"
        );
    }
    let mine: Value = c.app.zoom_check(&c.doctor).await.json().await.unwrap();
    assert_eq!(mine["licence"], "basic");
    assert!(
        mine["conflicts"].to_string().contains("recording"),
        "{mine}"
    );

    // Friendly settings: nothing to report.
    c.sim
        .host_settings(Some(DOCTOR_ZOOM_USER), friendly(), Some(2))
        .await;
    let outcome: Value = c
        .app
        .test_zoom_connection(&c.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(outcome["conflicts"], json!([]), "{outcome}");
}

#[tokio::test]
async fn a_granular_app_missing_one_scope_is_told_its_granular_name() {
    let c = clinic(&[]).await;
    let granular = "meeting:write:meeting:admin meeting:read:meeting:admin \
        meeting:delete:meeting:admin meeting:read:list_meetings:admin \
        user:read:user:admin user:read:settings:admin";
    c.sim
        .control("config", json!({ "account_scopes": granular }))
        .await;
    let saved = c
        .app
        .save_zoom_settings(
            &c.admin,
            &[
                ("mode", "server_to_server"),
                ("client_id", "demo-s2s-client"),
                ("client_secret", "demo-s2s-secret"),
                ("account_id", "demo-account"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 200);
    let outcome: Value = c
        .app
        .test_zoom_connection(&c.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(outcome["outcome"], "missing_scopes", "{outcome}");
    assert_eq!(outcome["scopes"], json!(["meeting:update:meeting:admin"]));

    // With every granular scope the connection passes.
    c.sim
        .control(
            "config",
            json!({ "account_scopes": format!("{granular} meeting:update:meeting:admin") }),
        )
        .await;
    let outcome: Value = c
        .app
        .test_zoom_connection(&c.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(outcome["outcome"], "connected", "{outcome}");
}

#[tokio::test]
async fn a_basic_zoom_host_cannot_get_a_visit_longer_than_40_minutes() {
    let c = clinic(&[]).await;
    c.sim
        .host_settings(Some(DOCTOR_ZOOM_USER), json!({}), Some(1))
        .await;
    let checked: Value = c.app.zoom_check(&c.doctor).await.json().await.unwrap();
    assert_eq!(checked["licence"], "basic");
    let settings: Value = c.app.zoom_settings(&c.admin).await.json().await.unwrap();
    let row = settings["doctors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == c.doctor_id)
        .unwrap();
    assert_eq!(row["licence"], "basic", "the admin sees the licence");

    let start = local_in(24 * 60, "Europe/Berlin");
    let book_for = |minutes: &'static str| {
        let (app, receptionist, start) = (&c.app, &c.receptionist, start.clone());
        let (doctor, patient) = (c.doctor_id.to_string(), c.patient_id.to_string());
        async move {
            app.book_visit(
                receptionist,
                &[
                    ("doctor_id", doctor.as_str()),
                    ("patient_id", patient.as_str()),
                    ("start", start.as_str()),
                    ("zone", "Europe/Berlin"),
                    ("duration", minutes),
                ],
            )
            .await
        }
    };
    let long = book_for("45").await;
    assert_eq!(long.status(), 400);
    let long: Value = long.json().await.unwrap();
    assert_eq!(long["field"], "duration");
    assert!(
        long["message"].as_str().unwrap().contains("Basic"),
        "{long}"
    );
    assert_eq!(book_for("40").await.status(), 200);
}

#[tokio::test]
async fn a_meeting_past_its_grace_is_deleted_at_zoom_and_its_link_dies() {
    let c = clinic(&[("MEETING_CLOSE_AFTER_SECS", "60")]).await;
    let id = c.book_in(5).await;
    wait_for(&c, &id, "ready").await;
    let join: Value = c
        .app
        .join_meeting(&c.patient, &id)
        .await
        .json()
        .await
        .unwrap();
    let link = join["url"].as_str().unwrap().to_owned();
    assert_eq!(reqwest::get(&link).await.unwrap().status(), 200);

    // The visit ended two hours ago, well past the grace.
    execute_sql(
        &c.app,
        "UPDATE appointments SET starts_at = starts_at - 10800",
    )
    .await;
    let closed = wait_for(&c, &id, "closed").await;
    assert_eq!(closed["cancelled"], false, "the visit keeps its history");
    assert_eq!(
        reqwest::get(&link).await.unwrap().status(),
        404,
        "a forwarded link no longer works"
    );
    // Cancelling it afterwards is not a failure either.
    assert_eq!(c.app.cancel_visit(&c.admin, &id).await.status(), 200);
    wait_for(&c, &id, "cancelled").await;
}

#[tokio::test]
async fn cancelling_a_visit_whose_meeting_already_ended_at_zoom_is_not_a_failure() {
    let c = clinic(&[]).await;
    let id = c.book_in(5).await;
    wait_for(&c, &id, "ready").await;
    let meeting = newest_meeting(&c).await;
    c.sim
        .control(
            &format!("meetings/{}/status", meeting["id"]),
            json!({ "status": "ended" }),
        )
        .await;
    assert_eq!(c.app.cancel_visit(&c.receptionist, &id).await.status(), 200);
    wait_for(&c, &id, "cancelled").await;
}

#[tokio::test]
async fn a_doctors_consent_to_a_granular_app_missing_a_scope_is_refused_naming_it() {
    let c = clinic(&[]).await;
    let (_, second) = create_user(
        &c.app,
        &c.admin,
        "second@clinic.example",
        "doctor",
        "Europe/Berlin",
    )
    .await;
    c.sim
        .control(
            "config",
            json!({ "user_scopes": "meeting:write:meeting meeting:read:meeting meeting:update:meeting \
                meeting:delete:meeting user:read:user user:read:settings" }),
        )
        .await;
    let authorize = c.app.zoom_authorize(&second).await;
    assert_eq!(authorize.status(), 303);
    let zoom_url = authorize.headers()["location"].to_str().unwrap().to_owned();
    let back = c.sim.consent(&zoom_url, true).await;
    let query = back.split_once('?').unwrap().1.to_owned();
    let callback = c.app.zoom_callback(&second, &query).await;
    assert_eq!(callback.status(), 502);
    let page = callback.text().await.unwrap();
    assert!(page.contains("meeting:read:list_meetings"), "{page}");
    let status: Value = c.app.zoom_status(&second).await.json().await.unwrap();
    assert_eq!(status["connection"]["state"], "not_connected", "{status}");
}
