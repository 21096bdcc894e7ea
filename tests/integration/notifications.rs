//! Mail: what each visit change sends (read from a real SMTP server, `scripts/smtp_sink.py`),
//! reminders by an injected clock, the outbox riding out an SMTP server that is down, and
//! what no mail may contain.

use crate::fixtures::*;
use crate::helpers::*;
use crate::mail_sink::{ics_field, MailSink};
use chrono::TimeZone as _;
use serde_json::Value;
use std::time::Duration;

const REASON: &str = "Sensitive-reason-4711 chest pain";

/// Nothing a forwarded mail must not carry: the visit's reason, a Zoom link or passcode.
fn assert_no_health_data_nor_zoom_link(sink: &MailSink) {
    let raw = sink.raw();
    assert!(!raw.is_empty());
    for mail in raw
        .iter()
        .cloned()
        .chain(sink.mails().iter().map(|m| m.to_string()))
    {
        for needle in ["Sensitive-reason-4711", "chest pain", "pwd=", "/j/", "zak="] {
            assert!(
                !mail.contains(needle),
                "a mail contains {needle:?}:\n{mail}"
            );
        }
    }
}

fn to(mail: &Value) -> String {
    mail["to"][0].as_str().unwrap().to_owned()
}

fn ics(mail: &Value) -> String {
    mail["ics"].as_str().unwrap().to_owned()
}

async fn book_with_reason(clinic: &Clinic, start: &str, zone: &str) -> String {
    let doctor = clinic.doctor_id.to_string();
    let patient = clinic.patient_id.to_string();
    let response = clinic
        .app
        .book_visit(
            &clinic.receptionist,
            &[
                ("doctor_id", doctor.as_str()),
                ("patient_id", patient.as_str()),
                ("start", start),
                ("zone", zone),
                ("duration", "30"),
                ("reason", REASON),
            ],
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits until the outbox has `n` mails and all of them are sent.
async fn wait_all_sent(app: &TestApp, n: i64) {
    eventually("every mail sent", Duration::from_secs(30), || async {
        let sent = database_count(
            app,
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE state = 'sent'",
        )
        .await;
        let all = database_count(app, "SELECT COUNT(*) AS n FROM mail_outbox").await;
        (sent == n && all == n).then_some(())
    })
    .await;
}

#[tokio::test]
async fn booking_rescheduling_and_cancelling_update_one_calendar_entry_in_place() {
    let sink = MailSink::start();
    let smtp = sink.url();
    let clinic = clinic(&[("SMTP_URL", &smtp)]).await;
    let id = book_with_reason(&clinic, &local_in(120, "Europe/Berlin"), "Europe/Berlin").await;
    // The join link (with its passcode) exists before anything changes: no mail may carry it.
    clinic
        .wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(30))
        .await;
    let booked = sink.wait_for(2).await;
    let response = clinic
        .app
        .reschedule_visit(
            &clinic.receptionist,
            &id,
            &local_in(180, "Europe/Berlin"),
            "Europe/Berlin",
            45,
        )
        .await;
    assert_eq!(response.status(), 200);
    sink.wait_for(4).await;
    assert_eq!(
        clinic.app.cancel_visit(&clinic.patient, &id).await.status(),
        200
    );
    wait_all_sent(&clinic.app, 6).await;
    let mails = sink.wait_for(6).await;
    assert_eq!(mails.len(), 6, "exactly six mails");

    let mut recipients: Vec<String> = booked.iter().map(to).collect();
    recipients.sort();
    assert_eq!(recipients, vec![DOCTOR.0.to_owned(), PATIENT.0.to_owned()]);
    let uid = format!("{id}@telehealth");
    for (round, mails) in mails.chunks(2).enumerate() {
        let method = if round == 2 { "CANCEL" } else { "REQUEST" };
        let mut who: Vec<String> = mails.iter().map(to).collect();
        who.sort();
        assert_eq!(who, vec![DOCTOR.0.to_owned(), PATIENT.0.to_owned()]);
        for mail in mails {
            let ics = ics(mail);
            assert_eq!(ics_field(&ics, "UID").as_deref(), Some(uid.as_str()));
            assert_eq!(ics_field(&ics, "SEQUENCE"), Some(round.to_string()));
            assert_eq!(ics_field(&ics, "METHOD").as_deref(), Some(method));
            let kind = mail["ics_content_type"].as_str().unwrap().replace('"', "");
            assert!(kind.contains(&format!("method={method}")), "{kind}");
            let text = mail["text"].as_str().unwrap();
            assert!(text.contains(&format!("/visits/{id}")), "{text}");
            assert!(mail["html"].as_str().unwrap().contains("<a href="));
            // In the recipient's zone: the patient lives in New York, the doctor in Berlin.
            let zone = if to(mail) == PATIENT.0 { "ES" } else { "CE" };
            assert!(text.contains(&format!(" {zone}")), "{zone} in {text}");
        }
    }
    let subjects: Vec<&str> = mails
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects[0].starts_with("Video visit booked"),
        "{subjects:?}"
    );
    assert!(
        subjects[2].starts_with("Video visit changed"),
        "{subjects:?}"
    );
    assert!(
        subjects[4].starts_with("Video visit cancelled"),
        "{subjects:?}"
    );
    assert_no_health_data_nor_zoom_link(&sink);
}

#[tokio::test]
async fn a_change_of_doctor_leaves_the_former_doctors_calendar_and_reaches_the_new_one() {
    let sink = MailSink::start();
    let smtp = sink.url();
    let clinic = clinic(&[("SMTP_URL", &smtp)]).await;
    let other = create_user(
        &clinic.app,
        &clinic.admin,
        "second.doctor@demo.clinic",
        "doctor",
        "Europe/Berlin",
    )
    .await
    .0;
    let id = clinic.book_in(120).await;
    sink.wait_for(2).await;
    let response = clinic
        .app
        .change_doctor(&clinic.receptionist, &id, other)
        .await;
    assert_eq!(response.status(), 200);
    wait_all_sent(&clinic.app, 5).await;
    let mails = sink.wait_for(5).await;
    let of = |who: &str| -> Vec<&Value> { mails[2..].iter().filter(|m| to(m) == who).collect() };
    let former = of(DOCTOR.0);
    assert_eq!(former.len(), 1);
    assert_eq!(
        ics_field(&ics(former[0]), "METHOD").as_deref(),
        Some("CANCEL")
    );
    let new = of("second.doctor@demo.clinic");
    assert_eq!(new.len(), 1);
    assert_eq!(
        ics_field(&ics(new[0]), "METHOD").as_deref(),
        Some("REQUEST")
    );
    assert_eq!(ics_field(&ics(new[0]), "SEQUENCE").as_deref(), Some("1"));
    assert_eq!(of(PATIENT.0).len(), 1);
}

#[tokio::test]
async fn reminders_fire_once_at_their_instants_across_a_dst_change_and_survive_a_restart() {
    let sink = MailSink::start();
    let smtp = sink.url();
    let clinic = clinic(&[("SMTP_URL", &smtp), ("TEST_CONTROLS", "true")]).await;
    // Berlin moves its clocks forward at 01:00 UTC on 28 March 2027: 10:00 CEST that day is
    // 08:00 UTC, and "24 hours before" is 08:00 UTC on the 27th, 09:00 CET there.
    let id = book_with_reason(&clinic, "2027-03-28T10:00", "Europe/Berlin").await;
    sink.wait_for(2).await;
    let start = chrono::Utc
        .with_ymd_and_hms(2027, 3, 28, 8, 0, 0)
        .unwrap()
        .timestamp();
    let day = start - 86_400;
    let quarter = start - 900;
    let anyone = clinic.app.client();
    let queued = |now: i64| {
        let app = &clinic.app;
        let client = anyone.clone();
        async move {
            let response = app.set_test_clock(&client, now).await;
            assert_eq!(response.status(), 200);
            response.text().await.unwrap().parse::<u32>().unwrap()
        }
    };
    assert_eq!(
        queued(day - 1).await,
        0,
        "nothing before the 24-hour moment"
    );
    assert_eq!(queued(day).await, 1, "the 24-hour reminder at its instant");
    assert_eq!(queued(day + 60).await, 0, "and only once");
    assert_eq!(queued(quarter - 1).await, 0);
    assert_eq!(
        queued(quarter).await,
        1,
        "the 15-minute reminder at its instant"
    );
    assert_eq!(queued(quarter + 1).await, 0);
    assert_eq!(queued(start).await, 0, "none from the start on");
    wait_all_sent(&clinic.app, 4).await;
    let mails = sink.wait_for(4).await;
    let reminders: Vec<&Value> = mails[2..].iter().collect();
    for reminder in &reminders {
        assert_eq!(to(reminder), PATIENT.0);
        assert_eq!(
            ics_field(&ics(reminder), "UID"),
            Some(format!("{id}@telehealth"))
        );
        // New York is on daylight time since 14 March: 08:00 UTC is 04:00 EDT.
        let text = reminder["text"].as_str().unwrap();
        assert!(text.contains("28 Mar 2027, 04:00 EDT"), "{text}");
    }
    assert!(reminders[0]["subject"]
        .as_str()
        .unwrap()
        .ends_with("in 1 day"));
    assert!(reminders[1]["subject"]
        .as_str()
        .unwrap()
        .ends_with("in 15 minutes"));
    assert_no_health_data_nor_zoom_link(&sink);

    // A restart on the same database with the clock inside both leads sends nothing again.
    let Clinic { app, sim, .. } = clinic;
    let database_url = app.database_url.clone();
    let dir = app.stop();
    let env = app_env(&sim, &[("SMTP_URL", &smtp), ("TEST_CONTROLS", "true")]);
    let app = spawn_app_on(dir, database_url, &pairs(&env)).await;
    let response = app.set_test_clock(&app.client(), quarter + 30).await;
    assert_eq!(response.text().await.unwrap(), "0");
    assert_eq!(
        database_count(&app, "SELECT COUNT(*) AS n FROM mail_outbox").await,
        4
    );
}

#[tokio::test]
async fn the_test_clock_is_not_there_without_test_controls_nor_allowed_on_a_real_install() {
    let app = spawn_app().await;
    let response = app.set_test_clock(&app.client(), 0).await;
    assert_eq!(response.status(), 404);
    let dir = TempDir::new();
    let database_url = fresh_database_url(&dir).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_telehealth"))
        .env_clear()
        .env("DATABASE_URL", &database_url)
        .env("APP_CONFIG_FILE", "/dev/null")
        .env("ENCRYPTION_KEY", TEST_KEY)
        .env("PUBLIC_URL", "https://visits.clinic.example")
        .env("TEST_CONTROLS", "true")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("TEST_CONTROLS"));
}

#[tokio::test]
async fn mail_waits_while_the_smtp_server_is_down_then_goes_out_once() {
    let mut sink = MailSink::start();
    let smtp = sink.url();
    sink.stop();
    let clinic = clinic(&[("SMTP_URL", &smtp), ("MAIL_RETRY_MAX_SECS", "1")]).await;
    for minutes in [120, 180, 240] {
        clinic.book_in(minutes).await;
    }
    // Tried and refused by the missing server, kept for later.
    eventually(
        "every mail tried twice",
        Duration::from_secs(30),
        || async {
            let waiting = database_count(
                &clinic.app,
                "SELECT COUNT(*) AS n FROM mail_outbox WHERE state = 'queued' AND attempts >= 2 \
             AND last_error IS NOT NULL",
            )
            .await;
            (waiting == 6).then_some(())
        },
    )
    .await;
    assert!(sink.mails().is_empty());
    sink.restart();
    wait_all_sent(&clinic.app, 6).await;
    let mails = sink.wait_for(6).await;
    assert_eq!(mails.len(), 6, "each mail once");
    let mut ids: Vec<&str> = mails
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);
}

#[tokio::test]
async fn a_mail_the_server_refuses_for_good_is_marked_failed_with_its_reason() {
    let sink = MailSink::start();
    let smtp = sink.url();
    let clinic = clinic(&[("SMTP_URL", &smtp)]).await;
    let patient = create_user(
        &clinic.app,
        &clinic.admin,
        "reject.me@demo.clinic",
        "patient",
        "Europe/Berlin",
    )
    .await
    .0;
    let response = book(
        &clinic.app,
        &clinic.receptionist,
        clinic.doctor_id,
        Some(patient),
        &local_in(120, "Europe/Berlin"),
        "Europe/Berlin",
    )
    .await;
    assert_eq!(response.status(), 200);
    eventually(
        "the refused mail failed",
        Duration::from_secs(30),
        || async {
            let failed = database_count(
                &clinic.app,
                "SELECT COUNT(*) AS n FROM mail_outbox WHERE state = 'failed' \
             AND recipient = 'reject.me@demo.clinic' AND last_error LIKE '%550%'",
            )
            .await;
            (failed == 1).then_some(())
        },
    )
    .await;
    let mails = sink.wait_for(1).await;
    assert_eq!(to(&mails[0]), DOCTOR.0);
}

#[tokio::test]
async fn without_an_smtp_server_mail_is_kept_in_the_outbox_and_booking_works() {
    let clinic = clinic(&[]).await;
    clinic.book_in(120).await;
    eventually("two mails queued", Duration::from_secs(10), || async {
        let queued = database_count(
            &clinic.app,
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE state = 'queued' AND attempts = 0",
        )
        .await;
        (queued == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn admins_see_the_outbox_and_only_demo_mode_opens_the_mails() {
    let clinic = clinic(&[]).await;
    clinic.book_in(120).await;
    let outbox: Value = clinic.app.outbox(&clinic.admin).await.json().await.unwrap();
    assert_eq!(outbox["smtp_configured"], false);
    assert_eq!(outbox["show_bodies"], false);
    let entries = outbox["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e["state"] == "queued"));
    for caller in [&clinic.receptionist, &clinic.doctor, &clinic.patient] {
        assert_eq!(clinic.app.outbox(caller).await.status(), 403);
    }
    let id = entries[0]["id"].as_i64().unwrap();
    assert_eq!(
        clinic.app.outbox_message(&clinic.admin, id).await.status(),
        404
    );

    let demo = spawn_demo_app().await;
    let admin = demo.logged_in(ADMIN).await;
    let patient = demo.logged_in(PATIENT).await;
    let options: Value = demo.booking_options(&patient).await.json().await.unwrap();
    let doctor = options["doctors"][0]["id"].as_i64().unwrap();
    let response = book(
        &demo,
        &patient,
        doctor,
        None,
        &local_in(120, "Europe/Berlin"),
        "Europe/Berlin",
    )
    .await;
    assert_eq!(response.status(), 200);
    let outbox: Value = demo.outbox(&admin).await.json().await.unwrap();
    assert_eq!(outbox["show_bodies"], true);
    let id = outbox["entries"][0]["id"].as_i64().unwrap();
    let message = demo.outbox_message(&admin, id).await;
    assert_eq!(message.status(), 200);
    assert!(message.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("sandbox"));
    assert!(message.text().await.unwrap().contains("/visits/"));
    let invite = demo.outbox_invite(&admin, id).await;
    assert_eq!(invite.status(), 200);
    assert!(invite.text().await.unwrap().contains("METHOD:REQUEST"));
    assert_eq!(demo.outbox_message(&patient, id).await.status(), 403);
}

/// The token of the sign-in link in a mail's text.
fn link_token(mail: &Value) -> String {
    let text = mail["text"].as_str().unwrap();
    let start = text.find("token=").expect("a sign-in link") + "token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[tokio::test]
async fn a_sign_in_link_works_once_in_one_browser_expires_and_answers_alike_for_strangers() {
    let sink = MailSink::start();
    let smtp = sink.url();
    let clinic = clinic(&[("SMTP_URL", &smtp)]).await;
    let id = clinic.book_in(120).await;
    let next = format!("/visits/{id}");
    wait_all_sent(&clinic.app, 2).await;
    let app = &clinic.app;

    let browser = app.client();
    let known = app.request_sign_in_link(&browser, PATIENT.0, &next).await;
    assert_eq!(known.status(), 200);
    let known = known.text().await.unwrap();
    for stranger in ["nobody@demo.clinic", DOCTOR.0] {
        let answer = app
            .request_sign_in_link(&app.client(), stranger, &next)
            .await;
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.unwrap(), known, "{stranger}");
    }
    wait_all_sent(app, 3).await;
    let mails = sink.wait_for(3).await;
    let mail = &mails[2];
    assert_eq!(to(mail), PATIENT.0);
    assert_eq!(mail["subject"], "Your sign-in link");
    let token = link_token(mail);
    // Only the patient got a link; the token is nowhere at rest once the mail is out.
    assert_eq!(
        database_count(app, "SELECT COUNT(*) AS n FROM login_links").await,
        1
    );
    let stored = format!(
        "SELECT COUNT(*) AS n FROM mail_outbox WHERE body_text LIKE '%{token}%' \
         OR body_html LIKE '%{token}%'"
    );
    assert_eq!(database_count(app, &stored).await, 0);

    // Opening the link uses nothing (mail scanners open links); its button signs in.
    let page = app.sign_in_link_page(&browser, &token).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("method=\"post\""));
    let used = app.use_sign_in_link(&browser, &token).await;
    assert_eq!(used.status(), 303);
    assert_eq!(used.headers()["location"], next.as_str());
    assert_eq!(app.me(&browser).await["email"], PATIENT.0);
    assert_eq!(clinic.visit(&browser, &id).await["id"], id.as_str());

    // Once used, no other browser gets in with it.
    let other = app.client();
    assert_eq!(app.use_sign_in_link(&other, &token).await.status(), 400);
    assert!(app.me(&other).await.is_null());

    // A link past its 15 minutes does not work.
    assert_eq!(
        app.request_sign_in_link(&app.client(), PATIENT.0, "")
            .await
            .status(),
        200
    );
    wait_all_sent(app, 4).await;
    let late = link_token(&sink.wait_for(4).await[3]);
    execute_sql(
        app,
        "UPDATE login_links SET expires_at = 1 WHERE used_at IS NULL",
    )
    .await;
    let third = app.client();
    assert_eq!(app.use_sign_in_link(&third, &late).await.status(), 400);
    assert!(app.me(&third).await.is_null());
}

#[tokio::test]
async fn sign_in_link_requests_are_throttled_per_address_alike_for_known_and_unknown() {
    let clinic = clinic(&[]).await;
    let app = &clinic.app;
    for email in [PATIENT.0, "nobody@demo.clinic"] {
        for _ in 0..3 {
            let answer = app.request_sign_in_link(&app.client(), email, "").await;
            assert_eq!(answer.status(), 200);
        }
        let answer = app.request_sign_in_link(&app.client(), email, "").await;
        assert_eq!(answer.status(), 429, "{email}");
        assert!(answer.headers().contains_key("retry-after"));
    }
}

#[tokio::test]
async fn a_patient_created_without_a_password_is_invited_to_choose_one_once() {
    let sink = MailSink::start();
    let smtp = sink.url();
    let clinic = clinic(&[("SMTP_URL", &smtp)]).await;
    let app = &clinic.app;
    let created = app
        .create_user_form(
            &clinic.admin,
            &[
                ("email", "invited@demo.clinic"),
                ("role", "patient"),
                ("time_zone", "Europe/Berlin"),
            ],
        )
        .await;
    assert_eq!(created.status(), 200, "{}", created.text().await.unwrap());
    // Staff still need a password typed for them.
    let staff = app
        .create_user_form(
            &clinic.admin,
            &[("email", "nurse@demo.clinic"), ("role", "receptionist")],
        )
        .await;
    assert_eq!(staff.status(), 400);
    wait_all_sent(app, 1).await;
    let mail = &sink.wait_for(1).await[0];
    assert_eq!(to(mail), "invited@demo.clinic");
    let text = mail["text"].as_str().unwrap();
    let start = text.find("/api/auth/invite?token=").unwrap() + "/api/auth/invite?token=".len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();

    let browser = app.client();
    assert_eq!(app.invitation_page(&browser, &token).await.status(), 200);
    // A refused password leaves the invitation usable.
    assert_eq!(
        app.accept_invitation(&browser, &token, "short")
            .await
            .status(),
        400
    );
    let password = "a patient's own long password";
    let accepted = app.accept_invitation(&browser, &token, password).await;
    assert_eq!(accepted.status(), 303);
    assert_eq!(app.me(&browser).await["email"], "invited@demo.clinic");
    app.logged_in(("invited@demo.clinic", password)).await;
    let again = app
        .accept_invitation(&app.client(), &token, "another long password")
        .await;
    assert_eq!(again.status(), 400);
    app.logged_in(("invited@demo.clinic", password)).await;
}

#[tokio::test]
async fn a_doctor_whose_grant_was_revoked_gets_one_warning_and_so_do_the_admins() {
    let sink = MailSink::start();
    let smtp = sink.url();
    let clinic = clinic(&[("SMTP_URL", &smtp), ("TEST_CONTROLS", "true")]).await;
    let app = &clinic.app;
    eventually(
        "the connection is seen",
        Duration::from_secs(20),
        || async {
            let seen = database_count(app, "SELECT COUNT(*) AS n FROM zoom_health").await;
            (seen == 1).then_some(())
        },
    )
    .await;
    clinic
        .sim
        .control("revoke-grants", serde_json::json!({}))
        .await;
    let now = chrono::Utc::now().timestamp();
    // The daily checks of the next three days: the first finds the problem, the others the same.
    for day in 1..=3 {
        // The clock runs on from each setting: a day and an hour apart, each check is due.
        let at = now + day * (86_400 + 3600);
        assert_eq!(app.set_test_clock(&app.client(), at).await.status(), 200);
        let checked = format!(
            "SELECT COUNT(*) AS n FROM zoom_health WHERE checked_at >= {at} \
             AND problem = 'reconnect'"
        );
        eventually("the daily check", Duration::from_secs(20), || async {
            (database_count(app, &checked).await == 1).then_some(())
        })
        .await;
    }
    wait_all_sent(app, 2).await;
    let mails = sink.wait_for(2).await;
    assert_eq!(mails.len(), 2);
    let mut who: Vec<String> = mails.iter().map(to).collect();
    who.sort();
    assert_eq!(who, vec![ADMIN.0.to_owned(), DOCTOR.0.to_owned()]);
    for mail in &mails {
        let text = mail["text"].as_str().unwrap();
        assert!(text.contains("Connect Zoom"), "{text}");
        assert!(text.contains("/zoom"), "{text}");
    }
}

#[tokio::test]
async fn reminders_follow_the_doctors_own_lead_times() {
    let sink = MailSink::start();
    let smtp = sink.url();
    let clinic = clinic(&[("SMTP_URL", &smtp), ("TEST_CONTROLS", "true")]).await;
    let allow_all = [
        ("visit_minutes", "30"),
        ("host_video", "true"),
        ("participant_video", "true"),
        ("mute_upon_entry", "false"),
        ("reminder_leads", "24h, 15m"),
        (
            "doctor_may_change",
            "visit_minutes,host_video,participant_video,mute_upon_entry,reminder_leads",
        ),
    ];
    let saved = clinic
        .app
        .save_clinic_preferences(&clinic.admin, &allow_all)
        .await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    let mut own = allow_all[..4].to_vec();
    own.push(("reminder_leads", "2h"));
    let saved = clinic.app.save_my_preferences(&clinic.doctor, &own).await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    book_with_reason(&clinic, "2027-05-10T10:00", "UTC").await;
    let start = chrono::Utc
        .with_ymd_and_hms(2027, 5, 10, 10, 0, 0)
        .unwrap()
        .timestamp();
    let anyone = clinic.app.client();
    let queued = |now: i64| {
        let app = &clinic.app;
        let client = anyone.clone();
        async move {
            let response = app.set_test_clock(&client, now).await;
            assert_eq!(response.status(), 200);
            response.text().await.unwrap().parse::<u32>().unwrap()
        }
    };
    assert_eq!(
        queued(start - 86_400).await,
        0,
        "no 24-hour reminder for this doctor"
    );
    assert_eq!(queued(start - 7200 - 1).await, 0);
    assert_eq!(
        queued(start - 7200).await,
        1,
        "the doctor's 2-hour reminder"
    );
    assert_eq!(queued(start - 900).await, 0, "no 15-minute reminder either");
    let subjects: Vec<String> = sink
        .wait_for(3)
        .await
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_owned())
        .collect();
    assert!(subjects[2].ends_with("in 2 hours"), "{subjects:?}");
}
