//! Doctors' preferences: stored and validated, sent to Zoom next to the privacy contract (which
//! they cannot touch), carried to the doctor's upcoming meetings by PATCH within Zoom's daily
//! limit, and what the doctor's Zoom account forces shown on their Zoom page.

use crate::fixtures::*;
use crate::helpers::*;
use reqwest::Client;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const ALL_FIELDS: &str =
    "visit_minutes,host_video,participant_video,mute_upon_entry,reminder_leads";

fn prefs<'a>(
    minutes: &'a str,
    host_video: &'a str,
    participant_video: &'a str,
    mute: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("visit_minutes", minutes),
        ("host_video", host_video),
        ("participant_video", participant_video),
        ("mute_upon_entry", mute),
        ("reminder_leads", "24h, 15m"),
    ]
}

async fn json_ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The simulator's live meetings by id.
async fn meeting(c: &Clinic, id: i64) -> Value {
    let all: Value = reqwest::get(format!("{}/_sim/meetings", c.sim.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no meeting {id}"))
}

async fn meeting_ids(c: &Clinic) -> BTreeSet<i64> {
    live_meetings(&c.sim)
        .await
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

/// Books a visit with `doctor_id` as reception, waits for its meeting and answers the visit's
/// id and its meeting's id at the simulator.
async fn booked(c: &Clinic, doctor_id: i64, minutes_ahead: i64) -> (String, i64) {
    let before = meeting_ids(c).await;
    let response = book(
        &c.app,
        &c.receptionist,
        doctor_id,
        Some(c.patient_id),
        &local_in(minutes_ahead, "Europe/Berlin"),
        "Europe/Berlin",
    )
    .await;
    let id = json_ok(response).await["id"].as_str().unwrap().to_owned();
    c.wait_for_state(std::slice::from_ref(&id), "ready", WAIT)
        .await;
    let after = meeting_ids(c).await;
    let new: Vec<i64> = after.difference(&before).copied().collect();
    assert_eq!(new.len(), 1, "one new meeting per booking");
    (id, new[0])
}

fn patches_to(sent: &[Value], meeting_id: i64) -> usize {
    let path = format!("/meetings/{meeting_id}");
    sent.iter()
        .filter(|r| r["method"] == "PATCH" && r["path"] == path.as_str())
        .count()
}

/// Every settings field the app sends except the doctor's three: the privacy contract.
fn contract_part(body: &Value) -> Value {
    let mut settings = body["settings"].clone();
    let map = settings.as_object_mut().unwrap();
    for key in ["host_video", "participant_video", "mute_upon_entry"] {
        assert!(map.remove(key).is_some(), "{key} is sent");
    }
    settings
}

async fn audit_actions(c: &Clinic, action: &str) -> Vec<Value> {
    let page = json_ok(c.app.audit_log(&c.admin, &[("action", action)]).await).await;
    page["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn preferences_persist_are_validated_and_only_their_owners_set_them() {
    let c = clinic(&[]).await;
    // Defaults: 30 minutes, video on, not muted, reminders 24 h and 15 min.
    let mine = json_ok(c.app.my_preferences(&c.doctor).await).await;
    assert_eq!(mine["effective"]["visit_minutes"], 30);
    assert_eq!(
        mine["effective"]["reminder_leads"],
        serde_json::json!([1440, 15])
    );

    let saved = c
        .app
        .save_my_preferences(&c.doctor, &prefs("45", "false", "false", "true"))
        .await;
    json_ok(saved).await;
    let mine = json_ok(c.app.my_preferences(&c.doctor).await).await;
    assert_eq!(mine["effective"]["visit_minutes"], 45);
    assert_eq!(mine["effective"]["host_video"], false);
    assert_eq!(mine["effective"]["participant_video"], false);
    assert_eq!(mine["effective"]["mute_upon_entry"], true);
    // The booking form preselects it.
    let options = json_ok(c.app.booking_options(&c.receptionist).await).await;
    let doctor = options["doctors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == c.doctor_id)
        .unwrap()
        .clone();
    assert_eq!(doctor["default_minutes"], 45);

    // A length outside 5–240 is refused, naming the field, and nothing changes.
    for bad in ["4", "241", "long"] {
        let response = c
            .app
            .save_my_preferences(&c.doctor, &prefs(bad, "true", "true", "false"))
            .await;
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["field"], "visit_minutes", "{body}");
    }
    let response = c
        .app
        .save_clinic_preferences(
            &c.admin,
            &[
                prefs("300", "true", "true", "false"),
                vec![("doctor_may_change", ALL_FIELDS)],
            ]
            .concat(),
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["field"],
        "visit_minutes"
    );
    let mine = json_ok(c.app.my_preferences(&c.doctor).await).await;
    assert_eq!(mine["effective"]["visit_minutes"], 45);

    // The admin locks "patients muted on entry" at off.
    let locked_form = [
        prefs("30", "true", "true", "false"),
        vec![(
            "doctor_may_change",
            "visit_minutes,host_video,participant_video,reminder_leads",
        )],
    ]
    .concat();
    json_ok(c.app.save_clinic_preferences(&c.admin, &locked_form).await).await;
    let mine = json_ok(c.app.my_preferences(&c.doctor).await).await;
    assert_eq!(
        mine["effective"]["mute_upon_entry"], false,
        "the clinic's value"
    );
    assert_eq!(mine["effective"]["visit_minutes"], 45, "still the doctor's");
    // Changing a locked field: 403, and nothing is stored.
    let response = c
        .app
        .save_my_preferences(&c.doctor, &prefs("50", "false", "false", "true"))
        .await;
    assert_eq!(response.status(), 403);
    let mine = json_ok(c.app.my_preferences(&c.doctor).await).await;
    assert_eq!(mine["effective"]["visit_minutes"], 45);
    // Sending the clinic's value for it is fine.
    json_ok(
        c.app
            .save_my_preferences(&c.doctor, &prefs("50", "false", "false", "false"))
            .await,
    )
    .await;
    let mine = json_ok(c.app.my_preferences(&c.doctor).await).await;
    assert_eq!(mine["effective"]["visit_minutes"], 50);

    // Only doctors set their own; only admins set the defaults.
    let clinic_form = [
        prefs("30", "true", "true", "false"),
        vec![("doctor_may_change", ALL_FIELDS)],
    ]
    .concat();
    let callers: [(&str, &Client); 3] = [
        ("receptionist", &c.receptionist),
        ("patient", &c.patient),
        ("doctor", &c.doctor),
    ];
    for (who, client) in callers {
        assert_eq!(
            c.app.clinic_preferences(client).await.status(),
            403,
            "{who}"
        );
        assert_eq!(
            c.app
                .save_clinic_preferences(client, &clinic_form)
                .await
                .status(),
            403,
            "{who}"
        );
    }
    for (who, client) in [
        ("receptionist", &c.receptionist),
        ("patient", &c.patient),
        ("admin", &c.admin),
    ] {
        assert_eq!(c.app.my_preferences(client).await.status(), 403, "{who}");
        assert_eq!(
            c.app
                .save_my_preferences(client, &prefs("30", "true", "true", "false"))
                .await
                .status(),
            403,
            "{who}"
        );
    }
    // Audited: the doctor's saves, the refusal, the admin's defaults.
    let saves = audit_actions(&c, "preferences.save").await;
    assert_eq!(saves.iter().filter(|e| e["outcome"] == "ok").count(), 2);
    assert!(saves
        .iter()
        .any(|e| e["outcome"] == "refused"
            && e["detail"].as_str().unwrap().contains("mute_upon_entry")));
    assert!(!audit_actions(&c, "preferences.defaults").await.is_empty());
    // The reminder leads are stored for the notifications.
    assert_eq!(
        database_count(
            &c.app,
            "SELECT COUNT(*) AS n FROM doctor_preferences WHERE reminder_leads = '1440,15'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_doctors_preferences_reach_zoom_and_the_contract_is_the_same_whatever_they_say() {
    let c = clinic(&[]).await;
    let (_, first) = booked(&c, c.doctor_id, 120).await;
    let m = meeting(&c, first).await;
    assert_eq!(
        (
            m["host_video"].clone(),
            m["participant_video"].clone(),
            m["mute_upon_entry"].clone()
        ),
        (Value::Bool(true), Value::Bool(true), Value::Bool(false)),
        "the clinic's defaults"
    );
    json_ok(
        c.app
            .save_my_preferences(&c.doctor, &prefs("30", "false", "false", "true"))
            .await,
    )
    .await;
    let (_, second) = booked(&c, c.doctor_id, 180).await;
    let m = meeting(&c, second).await;
    assert_eq!(m["host_video"], false);
    assert_eq!(m["participant_video"], false);
    assert_eq!(m["mute_upon_entry"], true);
    // The contract held on the meeting itself.
    assert_eq!(m["waiting_room"], true);
    assert_eq!(m["join_before_host"], false);
    assert_eq!(m["auto_recording"], "none");
    assert_eq!(m["auto_start_meeting_summary"], false);
    assert_eq!(m["auto_start_ai_companion_questions"], false);

    let sent = c.sim.requests().await;
    let creates: Vec<&Value> = sent.iter().filter(|r| r["method"] == "POST").collect();
    assert_eq!(creates.len(), 2);
    assert_eq!(creates[0]["body"]["settings"]["mute_upon_entry"], false);
    assert_eq!(creates[1]["body"]["settings"]["mute_upon_entry"], true);
    assert_eq!(creates[1]["body"]["settings"]["host_video"], false);
    assert_eq!(creates[1]["body"]["settings"]["participant_video"], false);
    // Every create and update carries the same contract, whatever the preferences were.
    let contract = contract_part(&creates[0]["body"]);
    assert_eq!(contract["auto_recording"], "none");
    assert_eq!(contract["waiting_room"], true);
    assert_eq!(contract["join_before_host"], false);
    assert_eq!(contract["auto_start_meeting_summary"], false);
    for request in &sent {
        assert_eq!(contract_part(&request["body"]), contract, "{request}");
        assert!(request["body"]["password"]
            .as_str()
            .is_some_and(|p| !p.is_empty()));
    }
}

#[tokio::test]
async fn a_change_of_preference_patches_the_doctors_upcoming_meetings_only() {
    let c = clinic(&[]).await;
    let (other_id, other) = create_user(
        &c.app,
        &c.admin,
        "grace@clinic.example",
        "doctor",
        "Europe/Berlin",
    )
    .await;
    connect_as(&c.app, &c.sim, &other, "zu_grace").await;

    let (_, upcoming_a) = booked(&c, c.doctor_id, 120).await;
    let (_, upcoming_b) = booked(&c, c.doctor_id, 240).await;
    let (cancelled_visit, cancelled) = booked(&c, c.doctor_id, 300).await;
    let (past_visit, past) = booked(&c, c.doctor_id, 360).await;
    let (_, others) = booked(&c, other_id, 120).await;
    assert_eq!(
        c.app
            .cancel_visit(&c.receptionist, &cancelled_visit)
            .await
            .status(),
        200
    );
    c.wait_for_state(std::slice::from_ref(&cancelled_visit), "cancelled", WAIT)
        .await;
    // A visit that has begun (ten minutes ago) is past: its meeting is left as it is.
    execute_sql(
        &c.app,
        &format!(
            "UPDATE appointments SET starts_at = {} WHERE public_id = '{past_visit}'",
            chrono::Utc::now().timestamp() - 600
        ),
    )
    .await;
    let created = c.sim.counter("meetings_created").await;
    let sent_before = c.sim.requests().await.len();

    json_ok(
        c.app
            .save_my_preferences(&c.doctor, &prefs("30", "true", "true", "true"))
            .await,
    )
    .await;
    let c = &c;
    for id in [upcoming_a, upcoming_b] {
        eventually(
            "the upcoming meeting is muted on entry",
            WAIT,
            || async move { (meeting(c, id).await["mute_upon_entry"] == true).then_some(()) },
        )
        .await;
    }
    let sent = c.sim.requests().await;
    let after: Vec<Value> = sent[sent_before..].to_vec();
    assert_eq!(patches_to(&after, upcoming_a), 1);
    assert_eq!(patches_to(&after, upcoming_b), 1);
    for untouched in [cancelled, past, others] {
        assert_eq!(patches_to(&after, untouched), 0, "meeting {untouched}");
    }
    assert_eq!(after.len(), 2, "only the two PATCHes: {after:?}");
    assert_eq!(meeting(c, past).await["mute_upon_entry"], false);
    assert_eq!(meeting(c, others).await["mute_upon_entry"], false);
    assert_eq!(
        c.sim.counter("meetings_created").await,
        created,
        "updated, not recreated"
    );
    // A patch that changes nothing Zoom hears about (the visit length) sends nothing.
    json_ok(
        c.app
            .save_my_preferences(&c.doctor, &prefs("40", "true", "true", "true"))
            .await,
    )
    .await;
    assert_eq!(
        database_count(
            &c.app,
            &format!(
                "SELECT revision AS n FROM doctor_preferences WHERE user_id = {}",
                c.doctor_id
            )
        )
        .await,
        1,
        "nothing for Zoom"
    );

    // The clinic's default changes what the other doctor's meetings get (they set nothing
    // themselves): theirs are updated; the first doctor set their own, so theirs are not.
    let sent_before = c.sim.requests().await.len();
    json_ok(
        c.app
            .save_clinic_preferences(
                &c.admin,
                &[
                    prefs("30", "true", "false", "false"),
                    vec![("doctor_may_change", ALL_FIELDS)],
                ]
                .concat(),
            )
            .await,
    )
    .await;
    eventually(
        "the other doctor's meeting follows the clinic",
        WAIT,
        || async { (meeting(c, others).await["participant_video"] == false).then_some(()) },
    )
    .await;
    let sent = c.sim.requests().await;
    let after: Vec<Value> = sent[sent_before..].to_vec();
    assert_eq!(patches_to(&after, others), 1);
    // The first doctor's own choice (video on) still applies: nothing queued, nothing sent.
    assert_eq!(
        database_count(
            &c.app,
            &format!(
                "SELECT revision AS n FROM doctor_preferences WHERE user_id = {}",
                c.doctor_id
            )
        )
        .await,
        1
    );
    for id in [upcoming_a, upcoming_b, past] {
        assert_eq!(patches_to(&after, id), 0, "meeting {id}");
        assert_eq!(meeting(c, id).await["participant_video"], true);
    }
}

#[tokio::test]
async fn preference_updates_stay_within_the_days_share_of_zooms_limit() {
    // A limit of 8 a day: preference updates may use 6, bookings made 4 already.
    let c = clinic(&[("ZOOM_DAILY_MEETING_LIMIT", "8")]).await;
    let mut meetings = Vec::new();
    let mut visits = Vec::new();
    for i in 0..4 {
        let (visit, id) = booked(&c, c.doctor_id, 120 + i * 60).await;
        visits.push(visit);
        meetings.push(id);
    }
    let sent_before = c.sim.requests().await.len();
    json_ok(
        c.app
            .save_my_preferences(&c.doctor, &prefs("30", "true", "true", "true"))
            .await,
    )
    .await;
    let tomorrow = (chrono::Utc::now().timestamp().div_euclid(86_400) + 1) * 86_400;
    eventually("two updates wait for tomorrow", WAIT, || async {
        (database_count(
            &c.app,
            &format!("SELECT COUNT(*) AS n FROM meeting_jobs WHERE due_at >= {tomorrow}"),
        )
        .await
            == 2)
            .then_some(())
    })
    .await;
    let sent = c.sim.requests().await;
    let after = &sent[sent_before..];
    assert_eq!(after.len(), 2, "two PATCHes today: {after:?}");
    assert!(after.iter().all(|r| r["method"] == "PATCH"));
    let mut muted = 0;
    for id in &meetings {
        if meeting(&c, *id).await["mute_upon_entry"] == true {
            muted += 1;
        }
    }
    assert_eq!(muted, 2);
    // The soonest visits went first, and the waiting ones keep their meetings and links.
    assert_eq!(meeting(&c, meetings[0]).await["mute_upon_entry"], true);
    assert_eq!(meeting(&c, meetings[1]).await["mute_upon_entry"], true);
    c.wait_for_state(&visits, "ready", WAIT).await;
}

#[tokio::test]
async fn the_doctors_zoom_page_shows_a_zoom_lock_against_a_preference() {
    let c = clinic(&[]).await;
    c.sim
        .host_settings(
            Some("doctor@demo.clinic"),
            serde_json::json!({ "participant_video": false, "locked": ["participant_video"] }),
            None,
        )
        .await;
    let mine = json_ok(c.app.my_preferences(&c.doctor).await).await;
    assert_eq!(mine["zoom_forces"], serde_json::json!([]));
    booked(&c, c.doctor_id, 120).await;
    let mine = json_ok(c.app.my_preferences(&c.doctor).await).await;
    let forces: Vec<String> = serde_json::from_value(mine["zoom_forces"].clone()).unwrap();
    assert_eq!(
        forces,
        ["Your Zoom account forces patients' video off at entry."],
        "{mine}"
    );
    // Once the doctor's preference agrees with the lock, nothing is in conflict any more.
    json_ok(
        c.app
            .save_my_preferences(&c.doctor, &prefs("30", "true", "false", "false"))
            .await,
    )
    .await;
    eventually("the conflict clears after the update", WAIT, || async {
        let mine = json_ok(c.app.my_preferences(&c.doctor).await).await;
        (mine["zoom_forces"] == serde_json::json!([])).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_visit_moved_to_another_doctor_follows_the_new_doctors_preferences() {
    let c = clinic(&[]).await;
    let (other_id, other) = create_user(
        &c.app,
        &c.admin,
        "grace@clinic.example",
        "doctor",
        "Europe/Berlin",
    )
    .await;
    connect_as(&c.app, &c.sim, &other, "zu_grace").await;
    // The first doctor has changed their preferences a few times (their revision is ahead).
    for mute in ["true", "false", "true"] {
        json_ok(
            c.app
                .save_my_preferences(&c.doctor, &prefs("30", "true", "true", mute))
                .await,
        )
        .await;
    }
    let (visit, _) = booked(&c, c.doctor_id, 120).await;
    let before = meeting_ids(&c).await;
    assert_eq!(
        c.app
            .change_doctor(&c.receptionist, &visit, other_id)
            .await
            .status(),
        200
    );
    let moved = eventually(
        "the meeting is made on the new doctor's Zoom",
        WAIT,
        || async {
            let after = meeting_ids(&c).await;
            let new: Vec<i64> = after.difference(&before).copied().collect();
            (new.len() == 1).then(|| new[0])
        },
    )
    .await;
    c.wait_for_state(std::slice::from_ref(&visit), "ready", WAIT)
        .await;
    assert_eq!(meeting(&c, moved).await["mute_upon_entry"], false);
    // The new doctor's first change reaches it.
    json_ok(
        c.app
            .save_my_preferences(&other, &prefs("30", "true", "true", "true"))
            .await,
    )
    .await;
    eventually("the moved meeting is updated", WAIT, || async {
        (meeting(&c, moved).await["mute_upon_entry"] == true).then_some(())
    })
    .await;
}
