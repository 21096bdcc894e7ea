//! What the app exposes and how much one person may do: caching of pages, a patient's limits
//! on visits, who sees doctors' emails, one Zoom user per doctor, sealed values bound to their
//! rows, the last active admin, and refusing to serve patient data over plain HTTP.

use crate::fixtures::*;
use crate::helpers::*;
use crate::sim::{connect_doctor, Sim};
use futures::future::join_all;
use reqwest::{Client, Response};
use serde_json::Value;
use sqlx::Row;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ZONE: &str = "America/New_York";

async fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn booked_id(response: Response) -> String {
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn no_page_shown_to_a_logged_in_user_is_kept_in_a_cache() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    let doctor_id = user_id(&app, &admin, DOCTOR.0).await;
    let patient_id = user_id(&app, &admin, PATIENT.0).await;
    let visit = booked_id(
        book(
            &app,
            &admin,
            doctor_id,
            Some(patient_id),
            &local_in(120, ZONE),
            ZONE,
        )
        .await,
    )
    .await;
    let visit_page = format!("/visits/{visit}");
    let cases: [((&str, &str), Vec<&str>); 3] = [
        (PATIENT, vec!["/", "/visits", &visit_page, "/profile"]),
        (DOCTOR, vec!["/zoom", "/visits", &visit_page]),
        (
            ADMIN,
            vec!["/admin/users", "/admin/audit", "/admin/zoom", "/"],
        ),
    ];
    for (who, pages) in cases {
        let client = app.logged_in(who).await;
        for path in pages {
            let page = app.page(&client, path).await;
            assert_eq!(page.status(), 200, "{} {path}", who.0);
            assert_eq!(
                page.headers()
                    .get("cache-control")
                    .map(|v| v.to_str().unwrap()),
                Some("no-store"),
                "{} {path}",
                who.0
            );
            assert!(page.text().await.unwrap().contains("<html"));
        }
    }
    // A refusal page for the wrong role, and the login page, are per-request HTML too.
    let patient = app.logged_in(PATIENT).await;
    let refused = app.page(&patient, "/admin/users").await;
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.headers()["cache-control"], "no-store");
    let login = app.page(&app.client(), "/login").await;
    assert_eq!(login.headers()["cache-control"], "no-store");
}

/// The demo doctor's id and a client logged in as the patient, on an app with `env`.
async fn patient_app(env: &[(&str, &str)]) -> (TestApp, Client, Client, i64, i64) {
    let app = spawn_app_with(env).await;
    let admin = app.logged_in(ADMIN).await;
    let doctor_id = user_id(&app, &admin, DOCTOR.0).await;
    let patient_id = user_id(&app, &admin, PATIENT.0).await;
    let patient = app.logged_in(PATIENT).await;
    let receptionist = app.logged_in(RECEPTIONIST).await;
    (app, patient, receptionist, doctor_id, patient_id)
}

#[tokio::test]
async fn a_patient_holds_at_most_the_configured_number_of_upcoming_visits() {
    let (app, patient, receptionist, doctor_id, patient_id) =
        patient_app(&[("PATIENT_MAX_OPEN_VISITS", "2")]).await;
    let mut own = Vec::new();
    for hours in [1, 2] {
        let start = local_in(hours * 60, ZONE);
        own.push(booked_id(book(&app, &patient, doctor_id, None, &start, ZONE).await).await);
    }
    let third = book(&app, &patient, doctor_id, None, &local_in(180, ZONE), ZONE).await;
    let (status, body) = json(third).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["kind"], "conflict");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("2 upcoming visits"),
        "{body}"
    );
    // The clinic's staff are not limited.
    let by_staff = book(
        &app,
        &receptionist,
        doctor_id,
        Some(patient_id),
        &local_in(240, ZONE),
        ZONE,
    )
    .await;
    assert_eq!(by_staff.status(), 200);
    // A place freed by cancelling can be used again.
    assert_eq!(app.cancel_visit(&patient, &own[0]).await.status(), 200);
    let again = book(&app, &patient, doctor_id, None, &local_in(300, ZONE), ZONE).await;
    assert_eq!(again.status(), 409, "the staff booking holds a place too");
    assert_eq!(app.cancel_visit(&patient, &own[1]).await.status(), 200);
    let again = book(&app, &patient, doctor_id, None, &local_in(300, ZONE), ZONE).await;
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn parallel_bookings_cannot_exceed_a_patients_limit() {
    let (app, patient, _, doctor_id, patient_id) =
        patient_app(&[("PATIENT_MAX_OPEN_VISITS", "3")]).await;
    let statuses = join_all((0..16).map(|i| {
        let (app, patient) = (&app, &patient);
        async move {
            let start = local_in(60 + i * 30, ZONE);
            book(app, patient, doctor_id, None, &start, ZONE)
                .await
                .status()
                .as_u16()
        }
    }))
    .await;
    // Claims take turns per patient: the first three in get their places (an earlier design
    // had every parallel claim see all the others and refuse, so nobody could book).
    let booked = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(booked, 3, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    let sql = format!(
        "SELECT COUNT(*) AS n FROM appointments WHERE patient_id = {patient_id} \
         AND status = 'scheduled'"
    );
    assert_eq!(database_count(&app, &sql).await, booked as i64);
}

#[tokio::test]
async fn parallel_bookings_use_exactly_a_patients_daily_allowance() {
    let (app, patient, _, doctor_id, patient_id) = patient_app(&[
        ("PATIENT_MAX_DAILY_CHANGES", "4"),
        ("PATIENT_MAX_OPEN_VISITS", "50"),
    ])
    .await;
    let statuses = join_all((0..12).map(|i| {
        let (app, patient) = (&app, &patient);
        async move {
            let start = local_in(60 + i * 30, ZONE);
            book(app, patient, doctor_id, None, &start, ZONE)
                .await
                .status()
                .as_u16()
        }
    }))
    .await;
    let booked = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(booked, 4, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    let sql = format!(
        "SELECT COUNT(*) AS n FROM appointments WHERE patient_id = {patient_id} \
         AND status = 'scheduled'"
    );
    assert_eq!(database_count(&app, &sql).await, 4);
}

#[tokio::test]
async fn a_patient_gets_a_daily_allowance_of_bookings_and_reschedules() {
    let (app, patient, receptionist, doctor_id, patient_id) =
        patient_app(&[("PATIENT_MAX_DAILY_CHANGES", "3")]).await;
    let id =
        booked_id(book(&app, &patient, doctor_id, None, &local_in(60, ZONE), ZONE).await).await;
    for minutes in [90, 120] {
        let moved = app
            .reschedule_visit(&patient, &id, &local_in(minutes, ZONE), ZONE, 30)
            .await;
        assert_eq!(moved.status(), 200);
    }
    let fourth = app
        .reschedule_visit(&patient, &id, &local_in(150, ZONE), ZONE, 30)
        .await;
    let retry_after: u64 = fourth.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let (status, body) = json(fourth).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["kind"], "limit_reached");
    assert!(
        body["message"].as_str().unwrap().contains("24 hours"),
        "{body}"
    );
    assert!(
        retry_after > 23 * 3600 && retry_after <= 24 * 3600,
        "{retry_after}"
    );
    let booking = book(&app, &patient, doctor_id, None, &local_in(200, ZONE), ZONE).await;
    assert_eq!(booking.status(), 429);
    // Cancelling is always possible, and the clinic can still move and book.
    let by_staff = app
        .reschedule_visit(&receptionist, &id, &local_in(180, ZONE), ZONE, 30)
        .await;
    assert_eq!(by_staff.status(), 200);
    assert_eq!(app.cancel_visit(&patient, &id).await.status(), 200);
    let staff_booking = book(
        &app,
        &receptionist,
        doctor_id,
        Some(patient_id),
        &local_in(200, ZONE),
        ZONE,
    )
    .await;
    assert_eq!(staff_booking.status(), 200);
}

#[tokio::test]
async fn nobody_books_or_moves_a_visit_to_a_time_that_has_passed() {
    let (app, patient, receptionist, doctor_id, patient_id) = patient_app(&[]).await;
    let past = local_in(-60, ZONE);
    for (client, patient_field) in [(&patient, None), (&receptionist, Some(patient_id))] {
        let (status, body) =
            json(book(&app, client, doctor_id, patient_field, &past, ZONE).await).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["field"], "start");
    }
    let id = booked_id(
        book(
            &app,
            &receptionist,
            doctor_id,
            Some(patient_id),
            &local_in(60, ZONE),
            ZONE,
        )
        .await,
    )
    .await;
    let (status, body) = json(
        app.reschedule_visit(&receptionist, &id, &past, ZONE, 30)
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "start");
    // "Now", typed a minute or two late, is still accepted.
    let just_now = local_in(-2, ZONE);
    let walk_in = book(
        &app,
        &receptionist,
        doctor_id,
        Some(patient_id),
        &just_now,
        ZONE,
    )
    .await;
    assert_eq!(walk_in.status(), 200);
}

#[tokio::test]
async fn patients_see_doctors_by_name_without_their_emails() {
    let app = spawn_app().await;
    let patient = app.logged_in(PATIENT).await;
    let (status, options) = json(app.booking_options(&patient).await).await;
    assert_eq!(status, 200);
    let doctors = options["doctors"].as_array().unwrap();
    assert!(!doctors.is_empty());
    for doctor in doctors {
        let label = doctor["label"].as_str().unwrap();
        assert!(!label.contains('@'), "{label}");
    }
    assert!(options.to_string().contains("Dr. Ada Lovelace"));
    assert!(!options.to_string().contains(DOCTOR.0));
    // Staff tell doctors apart by email.
    let receptionist = app.logged_in(RECEPTIONIST).await;
    let (_, staff_view) = json(app.booking_options(&receptionist).await).await;
    assert!(staff_view.to_string().contains(DOCTOR.0));
}

#[tokio::test]
async fn one_zoom_user_hosts_the_visits_of_one_doctor_only() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    let first = user_id(&app, &admin, DOCTOR.0).await;
    let (second, _) = create_user(&app, &admin, "grace@clinic.example", "doctor", ZONE).await;
    assert_eq!(
        app.map_doctor(&admin, first, "host@clinic.example")
            .await
            .status(),
        200
    );
    let (status, body) = json(app.map_doctor(&admin, second, "HOST@clinic.example").await).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("another doctor"),
        "{body}"
    );
    assert_eq!(
        app.map_doctor(&admin, first, "host@clinic.example")
            .await
            .status(),
        200,
        "mapping a doctor to their own Zoom user again is fine"
    );
    assert_eq!(app.map_doctor(&admin, first, "").await.status(), 200);
    assert_eq!(
        app.map_doctor(&admin, second, "host@clinic.example")
            .await
            .status(),
        200
    );

    // Two admins racing for one Zoom user: the database lets exactly one through.
    let race = join_all([first, second].map(|doctor| {
        let (app, admin) = (&app, &admin);
        async move {
            app.map_doctor(admin, doctor, "contested@clinic.example")
                .await
                .status()
                .as_u16()
        }
    }))
    .await;
    let mut sorted = race.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 409], "{race:?}");
}

async fn checked_zoom_user(app: &TestApp, doctor: &Client) -> (u16, String) {
    let response = app.zoom_check(doctor).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn swapping_two_doctors_sealed_tokens_in_the_database_gives_neither_the_others_zoom() {
    let sim = Sim::start();
    sim.allow_bursts().await;
    let env = sim.env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_with(&pairs).await;
    let admin = app.logged_in(ADMIN).await;
    let ada = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &ada).await;
    let (_, grace) = create_user(&app, &admin, "grace@clinic.example", "doctor", ZONE).await;
    connect_as(&app, &sim, &grace, "zu_grace").await;
    let (status, body) = checked_zoom_user(&app, &ada).await;
    assert!(status == 200 && body.contains("zu_ada"), "{status} {body}");
    let (status, body) = checked_zoom_user(&app, &grace).await;
    assert!(
        status == 200 && body.contains("zu_grace"),
        "{status} {body}"
    );

    // Someone who can write the database swaps the two doctors' sealed tokens.
    let mut db = database(&app).await;
    let rows = sqlx::query(
        "SELECT user_id, access_token_enc, refresh_token_enc FROM zoom_connections ORDER BY user_id",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    let value = |i: usize, column: &str| rows[i].get::<String, _>(column);
    for (to, from) in [(0, 1), (1, 0)] {
        sqlx::query(
            "UPDATE zoom_connections SET access_token_enc = $1, refresh_token_enc = $2 \
             WHERE user_id = $3",
        )
        .bind(value(from, "access_token_enc"))
        .bind(value(from, "refresh_token_enc"))
        .bind(rows[to].get::<i64, _>("user_id"))
        .execute(&mut db)
        .await
        .unwrap();
    }

    // Neither opens: each doctor is told to reconnect, not given the other's Zoom.
    let (status, body) = checked_zoom_user(&app, &ada).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("reconnect"), "{body}");
    assert!(!body.contains("zu_grace"), "Ada acts as Grace: {body}");
    let (status, body) = checked_zoom_user(&app, &grace).await;
    assert_eq!(status, 409, "{body}");
    assert!(!body.contains("zu_ada"), "Grace acts as Ada: {body}");
}

/// `plaintext` sealed the way the app did before values were bound to their rows (`v1.`):
/// AES-256-GCM under `TEST_KEY`, the column's name as associated data.
fn seal_v1(plaintext: &str, column: &str) -> String {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let (id, material) = TEST_KEY.split_once(':').unwrap();
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&STANDARD.decode(material).unwrap()).unwrap();
    let nonce = [3u8; 12];
    let sealed = cipher
        .encrypt(
            aes_gcm::Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext.as_bytes(),
                aad: column.as_bytes(),
            },
        )
        .unwrap();
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&sealed);
    format!("v1.{id}.{}", URL_SAFE_NO_PAD.encode(blob))
}

#[tokio::test]
async fn rotate_key_reseals_values_sealed_before_row_binding() {
    let sim = Sim::start();
    let env = sim.env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_with(&pairs).await;
    let old = seal_v1("demo-oauth-secret", "zoom_settings.client_secret");
    let mut db = database(&app).await;
    sqlx::query("UPDATE zoom_settings SET client_secret_enc = $1")
        .bind(old.clone())
        .execute(&mut db)
        .await
        .unwrap();
    drop(db);
    let admin = app.logged_in(ADMIN).await;
    let (_, outcome) = json(app.test_zoom_connection(&admin).await).await;
    assert_eq!(
        outcome["outcome"], "connected",
        "a v1 value still opens: {outcome}"
    );

    let database_url = app.database_url.clone();
    let dir = app.stop();
    let rotate = Command::new(env!("CARGO_BIN_EXE_telehealth"))
        .arg("rotate-key")
        .env_clear()
        .env("DATABASE_URL", &database_url)
        .env("APP_CONFIG_FILE", "/dev/null")
        .env("ENCRYPTION_KEY", TEST_KEY)
        .output()
        .unwrap();
    assert!(
        rotate.status.success(),
        "{}",
        String::from_utf8_lossy(&rotate.stderr)
    );
    let app = spawn_app_on(dir, database_url, &pairs).await;
    assert!(!database_contains(&app, &old).await, "the v1 value is gone");
    assert!(!database_contains(&app, "v1.test-key.").await);
    let admin = app.logged_in(ADMIN).await;
    let (_, outcome) = json(app.test_zoom_connection(&admin).await).await;
    assert_eq!(outcome["outcome"], "connected", "{outcome}");
}

/// Sets an admin account active or not; the answer's status.
async fn set_admin_active(app: &TestApp, by: &Client, id: i64, email: &str, active: bool) -> u16 {
    let (id, active) = (id.to_string(), active.to_string());
    let form = [
        ("id", id.as_str()),
        ("email", email),
        ("role", "admin"),
        ("active", active.as_str()),
    ];
    app.update_user(by, &form).await.status().as_u16()
}

#[tokio::test]
async fn two_admins_removing_each_other_at_once_leave_an_active_admin() {
    let app = spawn_app().await;
    let first = app.logged_in(ADMIN).await;
    let first_id = user_id(&app, &first, ADMIN.0).await;
    let second = ("second.admin@clinic.example", "admin password for tests");
    let (second_id, _) = create_user(&app, &first, second.0, "admin", ZONE).await;
    for round in 0..8 {
        let (a, b) = (app.logged_in(ADMIN).await, app.logged_in(second).await);
        let (x, y) = tokio::join!(
            set_admin_active(&app, &a, second_id, second.0, false),
            set_admin_active(&app, &b, first_id, ADMIN.0, false),
        );
        let active = database_count(
            &app,
            "SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND active = 1",
        )
        .await;
        assert!(
            active >= 1,
            "round {round}: no active admin left ({x}, {y})"
        );
        assert!(
            x != 200 || y != 200,
            "round {round}: each removed the other ({x}, {y})"
        );
        assert!(
            [x, y].iter().all(|s| [200, 401, 409].contains(s)),
            "round {round}: {x} {y}"
        );
        // Whoever is left brings the other back for the next round.
        let (survivor, other_id, other_email) = if y == 200 {
            (second, first_id, ADMIN.0)
        } else {
            (ADMIN, second_id, second.0)
        };
        let client = app.logged_in(survivor).await;
        let back = set_admin_active(&app, &client, other_id, other_email, true).await;
        assert_eq!(back, 200, "round {round}");
    }
}

/// Runs the server binary outside demo mode with `env`, expecting it to refuse to start.
/// Returns everything it printed.
fn refused_start(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = TempDir::new();
    let mut command = Command::new(env!("CARGO_BIN_EXE_telehealth"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite:{}/t.db?mode=rwc", dir.0.display()),
        )
        .env("APP_CONFIG_FILE", "/dev/null")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_OUTPUT_NAME", "telehealth")
        .env("ENCRYPTION_KEY", TEST_KEY)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the server started with {env:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "{env:?}");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!text.contains("listening on"), "{text}");
    text
}

#[tokio::test]
async fn outside_demo_mode_the_server_refuses_to_let_anything_travel_in_clear() {
    let https = ("PUBLIC_URL", "https://visits.clinic.example");
    let text = refused_start(&[], &[]);
    assert!(
        text.contains("PUBLIC_URL") && text.contains("ALLOW_INSECURE_HTTP"),
        "{text}"
    );
    let text = refused_start(
        &[],
        &[https, ("ZOOM_API_BASE_URL", "http://zoom.example/v2")],
    );
    assert!(text.contains("ZOOM_API_BASE_URL"), "{text}");
    let remote = "postgres://app:pw@db.clinic.example:5432/telehealth";
    let text = refused_start(&[], &[https, ("DATABASE_URL", remote)]);
    assert!(
        text.contains("DATABASE_URL") && text.contains("sslmode=require"),
        "{text}"
    );
    assert!(!text.contains(":pw@"), "{text}");
    // The subcommands that reach the database check it too.
    let text = refused_start(&["rotate-key"], &[("DATABASE_URL", remote)]);
    assert!(text.contains("sslmode"), "{text}");
    // A local trial over http says so explicitly: every other test's app runs with
    // ALLOW_INSECURE_HTTP=true (see helpers.rs).
}
