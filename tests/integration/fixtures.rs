//! One method per endpoint on `TestApp`, so that a test reads Arrange / Act / Assert without
//! spelling paths and form encodings, and the fixtures several test files share: the demo
//! clinic with Zoom connected through the simulator, users, bookings, the simulator's meetings.
//!
//! Every method answers the raw `reqwest::Response`: the tests assert on status, headers and
//! body themselves. Server functions are `POST` with a URL-encoded form unless noted.

use crate::helpers::*;
use crate::sim::{connect_doctor, Sim};
use chrono::{Duration as Span, Utc};
use reqwest::{Client, Response};
use serde_json::Value;
use std::time::{Duration, Instant};

impl TestApp {
    async fn get(&self, client: &Client, path: &str) -> Response {
        client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed")
    }

    // Accounts and sessions.

    pub async fn login(&self, client: &Client, email: &str, password: &str) -> Response {
        self.login_form(client, &[("email", email), ("password", password)])
            .await
    }

    /// The login server function with any form, for malformed-input tests.
    pub async fn login_form(&self, client: &Client, form: &[(&str, &str)]) -> Response {
        self.call(client, "/api/auth/login", form).await
    }

    pub async fn logout(&self, client: &Client) -> Response {
        self.call(client, "/api/auth/logout", &[]).await
    }

    /// The raw answer of `/api/auth/me`; `me()` asserts 200 and parses it.
    pub async fn me_call(&self, client: &Client) -> Response {
        self.call(client, "/api/auth/me", &[]).await
    }

    pub async fn change_password(&self, client: &Client, current: &str, new: &str) -> Response {
        self.call(
            client,
            "/api/profile/password",
            &[("current_password", current), ("new_password", new)],
        )
        .await
    }

    // The admin's user management.

    pub async fn list_users(&self, client: &Client) -> Response {
        self.call(client, "/api/admin/users/list", &[]).await
    }

    pub async fn create_user_form(&self, client: &Client, form: &[(&str, &str)]) -> Response {
        self.call(client, "/api/admin/users/create", form).await
    }

    pub async fn update_user(&self, client: &Client, form: &[(&str, &str)]) -> Response {
        self.call(client, "/api/admin/users/update", form).await
    }

    // Zoom: the admin's settings.

    pub async fn zoom_settings(&self, client: &Client) -> Response {
        self.call(client, "/api/admin/zoom/settings", &[]).await
    }

    pub async fn save_zoom_settings(&self, client: &Client, form: &[(&str, &str)]) -> Response {
        self.call(client, "/api/admin/zoom/settings/save", form)
            .await
    }

    /// `PUT`, its (no) arguments URL-encoded in the query string.
    pub async fn test_zoom_connection(&self, client: &Client) -> Response {
        client
            .put(self.url("/api/admin/zoom/test-connection"))
            .send()
            .await
            .expect("request failed")
    }

    pub async fn map_doctor(&self, client: &Client, doctor_id: i64, zoom_user: &str) -> Response {
        self.call(
            client,
            "/api/admin/zoom/map-doctor",
            &[
                ("doctor_id", &doctor_id.to_string()),
                ("zoom_user", zoom_user),
            ],
        )
        .await
    }

    // Zoom: the doctor's connection.

    pub async fn zoom_status(&self, client: &Client) -> Response {
        self.call(client, "/api/zoom/status", &[]).await
    }

    pub async fn zoom_check(&self, client: &Client) -> Response {
        self.call(client, "/api/zoom/check", &[]).await
    }

    pub async fn zoom_disconnect(&self, client: &Client) -> Response {
        self.call(client, "/api/zoom/disconnect", &[]).await
    }

    /// `GET`; answers 303 to Zoom's consent page.
    pub async fn zoom_authorize(&self, client: &Client) -> Response {
        self.get(client, "/api/zoom/authorize").await
    }

    /// `GET` with `query` (`code=…&state=…`, as Zoom redirects back) verbatim.
    pub async fn zoom_callback(&self, client: &Client, query: &str) -> Response {
        self.get(client, &format!("/api/zoom/callback?{query}"))
            .await
    }

    // Visits and their meetings.

    pub async fn list_visits(&self, client: &Client) -> Response {
        self.call(client, "/api/visits/list", &[]).await
    }

    pub async fn get_visit(&self, client: &Client, id: &str) -> Response {
        self.call(client, "/api/visits/get", &[("id", id)]).await
    }

    pub async fn booking_options(&self, client: &Client) -> Response {
        self.call(client, "/api/visits/options", &[]).await
    }

    /// Books with any form (`doctor_id`, `patient_id`, `start`, `zone`, `duration`, `reason`);
    /// `book()` fills in a valid one.
    pub async fn book_visit(&self, client: &Client, form: &[(&str, &str)]) -> Response {
        self.call(client, "/api/visits/book", form).await
    }

    pub async fn reschedule_visit(
        &self,
        client: &Client,
        id: &str,
        start: &str,
        zone: &str,
        duration: u32,
    ) -> Response {
        self.call(
            client,
            "/api/visits/reschedule",
            &[
                ("id", id),
                ("start", start),
                ("zone", zone),
                ("duration", &duration.to_string()),
            ],
        )
        .await
    }

    pub async fn change_doctor(&self, client: &Client, id: &str, doctor_id: i64) -> Response {
        self.call(
            client,
            "/api/visits/change-doctor",
            &[("id", id), ("doctor_id", &doctor_id.to_string())],
        )
        .await
    }

    pub async fn cancel_visit(&self, client: &Client, id: &str) -> Response {
        self.call(client, "/api/visits/cancel", &[("id", id)]).await
    }

    pub async fn retry_meeting(&self, client: &Client, id: &str) -> Response {
        self.call(client, "/api/visits/retry", &[("id", id)]).await
    }

    pub async fn start_meeting(&self, client: &Client, id: &str) -> Response {
        self.call(client, "/api/visits/start", &[("id", id)]).await
    }

    pub async fn join_meeting(&self, client: &Client, id: &str) -> Response {
        self.call(client, "/api/visits/join", &[("id", id)]).await
    }

    /// `GET`; the visit as a `text/calendar` file.
    pub async fn visit_calendar(&self, client: &Client, id: &str) -> Response {
        self.get(client, &format!("/api/visits/{id}/calendar.ics"))
            .await
    }

    /// "Email me a sign-in link"; `next` is the page to land on.
    pub async fn request_sign_in_link(&self, client: &Client, email: &str, next: &str) -> Response {
        self.call(
            client,
            "/api/auth/sign-in-link",
            &[("email", email), ("next", next)],
        )
        .await
    }

    /// `GET`: the page a mailed sign-in link opens (one button, nothing used yet).
    pub async fn sign_in_link_page(&self, client: &Client, token: &str) -> Response {
        self.get(client, &format!("/api/auth/link?token={token}"))
            .await
    }

    /// That page's button: uses the link (303 to the page to land on).
    pub async fn use_sign_in_link(&self, client: &Client, token: &str) -> Response {
        self.call(client, "/api/auth/link", &[("token", token)])
            .await
    }

    /// `GET`: the page an invitation link opens (a password form).
    pub async fn invitation_page(&self, client: &Client, token: &str) -> Response {
        self.get(client, &format!("/api/auth/invite?token={token}"))
            .await
    }

    /// That page's form: sets the password and signs in (303 to the home page).
    pub async fn accept_invitation(
        &self,
        client: &Client,
        token: &str,
        password: &str,
    ) -> Response {
        self.call(
            client,
            "/api/auth/invite",
            &[("token", token), ("password", password)],
        )
        .await
    }

    /// The admin's outbox: `{entries, smtp_configured, show_bodies}`.
    pub async fn outbox(&self, client: &Client) -> Response {
        self.call(client, "/api/admin/outbox", &[]).await
    }

    /// `GET`, demo mode only: one outbox mail's HTML part.
    pub async fn outbox_message(&self, client: &Client, id: i64) -> Response {
        self.get(client, &format!("/api/admin/outbox/{id}/message.html"))
            .await
    }

    /// `GET`, demo mode only: one outbox mail's calendar invitation.
    pub async fn outbox_invite(&self, client: &Client, id: i64) -> Response {
        self.get(client, &format!("/api/admin/outbox/{id}/invite.ics"))
            .await
    }

    /// The test control (`TEST_CONTROLS=true` only): moves the reminders' clock to `now`
    /// (Unix seconds) and answers how many reminders that queued.
    pub async fn set_test_clock(&self, client: &Client, now: i64) -> Response {
        self.call(client, "/_test/clock", &[("now", &now.to_string())])
            .await
    }

    // Live visits: the push stream and the day view.

    /// `GET`; the Server-Sent Events stream (the response's body stays open).
    pub async fn events(&self, client: &Client) -> Response {
        self.get(client, "/api/events").await
    }

    pub async fn today_visits(&self, client: &Client) -> Response {
        self.call(client, "/api/visits/today", &[]).await
    }

    /// The day view re-read after a push (not activity).
    pub async fn live_today(&self, client: &Client) -> Response {
        self.call(client, "/api/live/today", &[]).await
    }

    pub async fn stay_signed_in(&self, client: &Client) -> Response {
        self.call(client, "/api/session/stay", &[]).await
    }

    pub async fn time_zones(&self, client: &Client) -> Response {
        self.call(client, "/api/time-zones", &[]).await
    }

    // Zoom webhooks.

    /// `POST /webhooks/zoom` as Zoom sends it: the raw `body` with `x-zm-signature` and
    /// `x-zm-request-timestamp` (each left out when `None`); no session.
    pub async fn zoom_webhook(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &str,
    ) -> Response {
        let mut request = reqwest::Client::new()
            .post(self.url("/webhooks/zoom"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("x-zm-signature", signature);
        }
        if let Some(timestamp) = timestamp {
            request = request.header("x-zm-request-timestamp", timestamp);
        }
        request.send().await.expect("request failed")
    }

    pub async fn save_webhook_secret(&self, client: &Client, secret: &str) -> Response {
        self.call(
            client,
            "/api/admin/zoom/webhook-secret",
            &[("secret_token", secret)],
        )
        .await
    }

    // The audit trail.

    /// One page of entries; every filter (`actor`, `action`, `visit`, `from`, `to`, `before`)
    /// is optional.
    pub async fn audit_log(&self, client: &Client, form: &[(&str, &str)]) -> Response {
        self.call(client, "/api/admin/audit", form).await
    }

    /// `GET`; the CSV export, filtered by `query` (the audit filters, URL-encoded) verbatim.
    pub async fn audit_csv(&self, client: &Client, query: &str) -> Response {
        self.get(client, &format!("/api/admin/audit.csv?{query}"))
            .await
    }

    /// The admin's "fixed: check blocked visits again".
    pub async fn recheck_blocked(&self, client: &Client) -> Response {
        self.call(client, "/api/admin/zoom/recheck", &[]).await
    }

    // Preferences: the clinic's defaults (admin) and a doctor's own.

    pub async fn clinic_preferences(&self, client: &Client) -> Response {
        self.call(client, "/api/admin/preferences", &[]).await
    }

    /// Form: `visit_minutes`, `host_video`, `participant_video`, `mute_upon_entry` (`true` or
    /// `false`), `reminder_leads` (`24h, 15m`), `doctor_may_change` (field keys, comma-separated).
    pub async fn save_clinic_preferences(
        &self,
        client: &Client,
        form: &[(&str, &str)],
    ) -> Response {
        self.call(client, "/api/admin/preferences/save", form).await
    }

    pub async fn my_preferences(&self, client: &Client) -> Response {
        self.call(client, "/api/preferences", &[]).await
    }

    /// Form: as `save_clinic_preferences` without `doctor_may_change`.
    pub async fn save_my_preferences(&self, client: &Client, form: &[(&str, &str)]) -> Response {
        self.call(client, "/api/preferences/save", form).await
    }
}

/// The id of the user with `email`, as listed to `admin`.
/// Logs `who` in on `app` and answers the session cookie alone, for requests that carry it
/// by hand (to another instance, or without a cookie store).
pub async fn login_cookie(app: &TestApp, who: (&str, &str)) -> String {
    let response = app.login(&app.client(), who.0, who.1).await;
    assert_eq!(response.status(), 200);
    crate::helpers::session_cookie(&response).unwrap()
}

pub async fn user_id(app: &TestApp, admin: &Client, email: &str) -> i64 {
    let users: Value = app.list_users(admin).await.json().await.unwrap();
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap_or_else(|| panic!("no user {email}"))["id"]
        .as_i64()
        .unwrap()
}

/// A new active user, created by `admin`, and a client logged in as them.
pub async fn create_user(
    app: &TestApp,
    admin: &Client,
    email: &str,
    role: &str,
    zone: &str,
) -> (i64, Client) {
    let password = format!("{role} password for tests");
    let mut form = vec![
        ("email", email),
        ("role", role),
        ("password", password.as_str()),
        ("time_zone", zone),
    ];
    if role == "doctor" {
        form.push(("display_name", "Dr Second Opinion"));
    }
    let response = app.create_user_form(admin, &form).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let client = app.logged_in((email, &password)).await;
    (id, client)
}

/// A wall-clock time `minutes` from now in `zone`, as a datetime-local input sends it.
pub fn local_in(minutes: i64, zone: &str) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    (Utc::now() + Span::minutes(minutes))
        .with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// Books a 30-minute visit; `patient_id` is left out of the form when `None`.
pub async fn book(
    app: &TestApp,
    client: &Client,
    doctor_id: i64,
    patient_id: Option<i64>,
    start: &str,
    zone: &str,
) -> Response {
    let doctor = doctor_id.to_string();
    let patient = patient_id.map(|p| p.to_string());
    let mut form = vec![
        ("doctor_id", doctor.as_str()),
        ("start", start),
        ("zone", zone),
        ("duration", "30"),
    ];
    if let Some(patient) = &patient {
        form.push(("patient_id", patient.as_str()));
    }
    app.book_visit(client, &form).await
}

/// Fast retry settings so fault tests finish in seconds; the lease still outlives every
/// request (4 × 2 s + 7 s).
pub const FAST_JOBS: [(&str, &str); 3] = [
    ("ZOOM_REQUEST_TIMEOUT_SECS", "2"),
    ("MEETING_JOB_LEASE_SECS", "15"),
    ("MEETING_RETRY_MAX_SECS", "2"),
];

/// The environment of an app that talks to `sim` with `FAST_JOBS`, plus `extra`.
pub fn app_env(sim: &Sim, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = sim
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    for (k, v) in FAST_JOBS.iter().chain(extra.iter()) {
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    env
}

pub fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

pub struct Clinic {
    pub sim: Sim,
    pub app: TestApp,
    pub admin: Client,
    pub receptionist: Client,
    pub doctor: Client,
    pub patient: Client,
    pub doctor_id: i64,
    pub patient_id: i64,
}

/// The demo clinic with the demo doctor's Zoom connected through the simulator.
pub async fn clinic(extra: &[(&str, &str)]) -> Clinic {
    let sim = Sim::start();
    sim.allow_bursts().await;
    let env = app_env(&sim, extra);
    let app = spawn_app_with(&pairs(&env)).await;
    let admin = app.logged_in(ADMIN).await;
    let receptionist = app.logged_in(RECEPTIONIST).await;
    let doctor = app.logged_in(DOCTOR).await;
    let patient = app.logged_in(PATIENT).await;
    connect_doctor(&app, &sim, &doctor).await;
    let doctor_id = user_id(&app, &admin, DOCTOR.0).await;
    let patient_id = user_id(&app, &admin, PATIENT.0).await;
    Clinic {
        sim,
        app,
        admin,
        receptionist,
        doctor,
        patient,
        doctor_id,
        patient_id,
    }
}

impl Clinic {
    /// Books a 30-minute visit for the demo patient with the demo doctor, as reception.
    pub async fn book_in(&self, minutes: i64) -> String {
        let response = book(
            &self.app,
            &self.receptionist,
            self.doctor_id,
            Some(self.patient_id),
            &local_in(minutes, "Europe/Berlin"),
            "Europe/Berlin",
        )
        .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The visit as `client` sees it; asserts 200.
    pub async fn visit(&self, client: &Client, id: &str) -> Value {
        let response = self.app.get_visit(client, id).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Waits until every listed visit's meeting is in `state`.
    pub async fn wait_for_state(&self, ids: &[String], state: &str, within: Duration) {
        let started = Instant::now();
        loop {
            let list: Value = self
                .app
                .list_visits(&self.admin)
                .await
                .json()
                .await
                .unwrap();
            let states: Vec<(String, String)> = list
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| ids.iter().any(|id| v["id"] == id.as_str()))
                .map(|v| {
                    (
                        v["meeting"]["state"].as_str().unwrap().to_owned(),
                        v["meeting"]["reason"].to_string(),
                    )
                })
                .collect();
            let done = states.iter().filter(|(s, _)| s == state).count();
            if done == ids.len() {
                return;
            }
            if started.elapsed() > within {
                let stuck: Vec<_> = states.iter().filter(|(s, _)| s != state).take(5).collect();
                panic!(
                    "{done}/{} visits reached {state} in {within:?}; e.g. {stuck:?}\n{}",
                    ids.len(),
                    tail(&self.app.logs(), 40)
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn tail(logs: &str, n: usize) -> String {
    let lines: Vec<&str> = logs.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Meetings the simulator holds and has not deleted.
pub async fn live_meetings(sim: &Sim) -> Vec<Value> {
    let all: Value = reqwest::get(format!("{}/_sim/meetings", sim.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .filter(|m| m["deleted"] == false)
        .cloned()
        .collect()
}

// Logins behind a proxy, browser navigation metadata, pages, and the database itself (for
// what only someone with database access can do, or see).

impl TestApp {
    /// `GET` of an HTML page (or anything else that is not a server function).
    pub async fn page(&self, client: &Client, path: &str) -> Response {
        self.get(client, path).await
    }

    /// The login as a TLS proxy forwards it: `header` is `("x-forwarded-for", "…")` or
    /// `("forwarded", "for=…")`.
    pub async fn login_forwarded(
        &self,
        client: &Client,
        header: (&str, &str),
        email: &str,
        password: &str,
    ) -> Response {
        client
            .post(self.url("/api/auth/login"))
            .header(header.0, header.1)
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .expect("request failed")
    }

    /// `GET /api/zoom/authorize` as a browser sends it, with `Sec-Fetch-Site: fetch_site`.
    pub async fn zoom_authorize_from(&self, client: &Client, fetch_site: &str) -> Response {
        client
            .get(self.url("/api/zoom/authorize"))
            .header("sec-fetch-site", fetch_site)
            .send()
            .await
            .expect("request failed")
    }
}

/// A connection to the app's own database (SQLite or PostgreSQL), as someone with database
/// access would have.
pub async fn database(app: &TestApp) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&app.database_url)
        .await
        .expect("connect to the app's database")
}

/// Runs one statement on the app's database from outside the app.
pub async fn execute_sql(app: &TestApp, sql: &str) {
    let mut conn = database(app).await;
    sqlx::query(sql).execute(&mut conn).await.unwrap();
}

/// One number from the app's database, e.g. `SELECT COUNT(*) AS n FROM …` (column `n`).
pub async fn database_count(app: &TestApp, sql: &str) -> i64 {
    use sqlx::Row;
    let mut conn = database(app).await;
    sqlx::query(sql)
        .fetch_one(&mut conn)
        .await
        .expect("query the app's database")
        .get::<i64, _>("n")
}

/// Connects `doctor` to the simulator's Zoom user `zoom_user` through the consent page (the
/// page's choice of user), where `connect_doctor` takes the first one.
pub async fn connect_as(app: &TestApp, sim: &Sim, doctor: &Client, zoom_user: &str) {
    let authorize = app.zoom_authorize(doctor).await;
    assert_eq!(authorize.status(), 303);
    let consent = authorize.headers()["location"].to_str().unwrap().to_owned();
    let mut form: Vec<(String, String)> = [
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .map(|name| (name.to_string(), query_value(&consent, name).unwrap()))
    .collect();
    form.push(("user".into(), zoom_user.into()));
    form.push(("decision".into(), "allow".into()));
    let back = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/oauth/authorize", sim.url))
        .form(&form)
        .send()
        .await
        .unwrap();
    let location = back.headers()["location"].to_str().unwrap().to_owned();
    let query = location.split_once('?').unwrap().1;
    assert_eq!(app.zoom_callback(doctor, query).await.status(), 303);
}
