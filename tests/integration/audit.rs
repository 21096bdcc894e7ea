//! The audit trail: every audited action is recorded exactly once with its actor, subject and
//! outcome; a start or join link whose entry cannot be written is not handed out; anonymous
//! refusals with random ids cannot grow the table; the admin's filters, pages and CSV export
//! return exactly what they should.

use crate::fixtures::*;
use crate::helpers::*;
use futures::stream::{self, StreamExt};
use rand::distributions::Alphanumeric;
use rand::Rng;
use reqwest::Client;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Every entry matching `filter`, all pages, newest first.
pub(crate) async fn all_entries(
    app: &TestApp,
    admin: &Client,
    filter: &[(&str, &str)],
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut form = filter.to_vec();
        if let Some(before) = &before {
            form.push(("before", before.as_str()));
        }
        let response = app.audit_log(admin, &form).await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        out.extend(page["entries"].as_array().unwrap().iter().cloned());
        match page["next_before"].as_i64() {
            Some(next) => before = Some(next.to_string()),
            None => return out,
        }
    }
}

fn count(entries: &[Value], action: &str, actor: &str, subject: &str, outcome: &str) -> usize {
    entries
        .iter()
        .filter(|e| {
            e["action"] == action
                && e["actor"] == actor
                && e["subject"] == subject
                && e["outcome"] == outcome
        })
        .count()
}

/// Waits (bounded) until an entry with `action` and `subject` exists.
async fn wait_for_entry(c: &Clinic, action: &str, subject: &str) {
    let started = Instant::now();
    loop {
        let entries =
            all_entries(&c.app, &c.admin, &[("action", action), ("visit", subject)]).await;
        if !entries.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no {action} entry for {subject}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn random_id(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[tokio::test]
async fn every_audited_action_is_recorded_once_with_its_actor_subject_and_outcome() {
    let c = clinic(&[]).await;
    let (_, other_patient) = create_user(
        &c.app,
        &c.admin,
        "other@clinic.example",
        "patient",
        "Europe/Paris",
    )
    .await;
    let id = c.book_in(5).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;

    // Reads of patient data.
    assert_eq!(c.app.list_visits(&c.patient).await.status(), 200);
    assert_eq!(c.app.get_visit(&c.patient, &id).await.status(), 200);
    assert_eq!(c.app.visit_calendar(&c.patient, &id).await.status(), 200);
    assert_eq!(c.app.get_visit(&other_patient, &id).await.status(), 404);
    // The two links.
    assert_eq!(c.app.start_meeting(&c.doctor, &id).await.status(), 200);
    assert_eq!(c.app.start_meeting(&c.patient, &id).await.status(), 403);
    assert_eq!(c.app.join_meeting(&c.patient, &id).await.status(), 200);
    assert_eq!(c.app.join_meeting(&other_patient, &id).await.status(), 404);
    // Changes, and what the worker does at Zoom because of them.
    let start = local_in(120, "Europe/Berlin");
    let moved = c
        .app
        .reschedule_visit(&c.receptionist, &id, &start, "Europe/Berlin", 45)
        .await;
    assert_eq!(moved.status(), 200);
    wait_for_entry(&c, "meeting.update", &id).await;
    // Accounts.
    let created = c
        .app
        .create_user_form(
            &c.admin,
            &[
                ("email", "third@clinic.example"),
                ("role", "patient"),
                ("time_zone", "Europe/Paris"),
                ("password", "third patient password"),
            ],
        )
        .await;
    assert_eq!(created.status(), 200);
    let third = created.json::<Value>().await.unwrap()["id"].to_string();
    let edit = |email: &'static str, active: &'static str| {
        let third = third.clone();
        let app = &c.app;
        let admin = &c.admin;
        async move {
            let form = [
                ("id", third.as_str()),
                ("email", email),
                ("role", "patient"),
                ("time_zone", "Europe/Paris"),
                ("active", active),
            ];
            assert_eq!(app.update_user(admin, &form).await.status(), 200);
        }
    };
    edit("third.renamed@clinic.example", "true").await;
    edit("third.renamed@clinic.example", "false").await;
    edit("third.renamed@clinic.example", "true").await;
    let changed = c
        .app
        .change_password(&c.patient, PATIENT.1, "a brand new patient password")
        .await;
    assert_eq!(changed.status(), 200);
    let refused = c
        .app
        .login(&c.app.client(), DOCTOR.0, "wrong password")
        .await;
    assert_eq!(refused.status(), 401);
    // Zoom settings.
    assert_eq!(c.app.test_zoom_connection(&c.admin).await.status(), 200);
    let mapped = c
        .app
        .map_doctor(&c.admin, c.doctor_id, "zoom-user-42")
        .await;
    assert_eq!(mapped.status(), 200);
    // The end of the visit, then of the connection.
    assert_eq!(c.app.cancel_visit(&c.receptionist, &id).await.status(), 200);
    wait_for_entry(&c, "meeting.delete", &id).await;
    assert_eq!(c.app.zoom_disconnect(&c.doctor).await.status(), 200);
    assert_eq!(c.app.audit_csv(&c.admin, "").await.status(), 200);

    let entries = all_entries(&c.app, &c.admin, &[]).await;
    let expected: &[(&str, &str, &str, &str)] = &[
        ("visit.book", RECEPTIONIST.0, &id, "ok"),
        ("meeting.create", "system", &id, "ok"),
        ("visit.list", PATIENT.0, "", "ok"),
        ("visit.open", PATIENT.0, &id, "ok"),
        ("visit.calendar", PATIENT.0, &id, "ok"),
        ("visit.open", "other@clinic.example", &id, "refused"),
        ("meeting.start", DOCTOR.0, &id, "ok"),
        ("meeting.start", PATIENT.0, &id, "refused"),
        ("meeting.join", PATIENT.0, &id, "ok"),
        ("meeting.join", "other@clinic.example", &id, "refused"),
        ("visit.reschedule", RECEPTIONIST.0, &id, "ok"),
        ("meeting.update", "system", &id, "ok"),
        ("user.create", ADMIN.0, "third@clinic.example", "ok"),
        ("user.update", ADMIN.0, "third.renamed@clinic.example", "ok"),
        (
            "user.deactivate",
            ADMIN.0,
            "third.renamed@clinic.example",
            "ok",
        ),
        (
            "user.reactivate",
            ADMIN.0,
            "third.renamed@clinic.example",
            "ok",
        ),
        ("password.change", PATIENT.0, PATIENT.0, "ok"),
        ("login", "anonymous", DOCTOR.0, "refused"),
        ("login", PATIENT.0, PATIENT.0, "ok"),
        ("zoom.connect", DOCTOR.0, "zoom", "started"),
        ("zoom.connect", DOCTOR.0, "zoom", "ok"),
        ("zoom.test_connection", ADMIN.0, "zoom", "ok"),
        ("zoom.map_doctor", ADMIN.0, DOCTOR.0, "ok"),
        ("visit.cancel", RECEPTIONIST.0, &id, "ok"),
        ("meeting.delete", "system", &id, "ok"),
        ("zoom.disconnect", DOCTOR.0, "zoom", "ok"),
        ("audit.export", ADMIN.0, "audit", "ok"),
    ];
    for (action, actor, subject, outcome) in expected {
        assert_eq!(
            count(&entries, action, actor, subject, outcome),
            1,
            "{action} by {actor} on {subject:?} ({outcome}) should appear exactly once"
        );
    }
    let mapping = entries
        .iter()
        .find(|e| e["action"] == "zoom.map_doctor")
        .unwrap();
    assert!(
        mapping["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("doctor {}", c.doctor_id)),
        "the mapping names the doctor: {mapping}"
    );
    // No entry anywhere carries a link or a passcode.
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains("/s/") && !text.contains("/j/") && !text.contains("pwd="));
}

#[tokio::test]
async fn a_link_whose_audit_entry_cannot_be_written_is_not_handed_out() {
    let c = clinic(&[]).await;
    let id = c.book_in(5).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;

    execute_sql(
        &c.app,
        "ALTER TABLE audit_log RENAME TO audit_log_unwritable",
    )
    .await;
    for response in [
        c.app.start_meeting(&c.doctor, &id).await,
        c.app.join_meeting(&c.patient, &id).await,
    ] {
        assert_eq!(response.status(), 500);
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("/s/") && !body.contains("/j/") && !body.contains("pwd="),
            "no link leaves unrecorded: {body}"
        );
    }
    assert!(c.app.logs().contains("writing the audit log failed"));

    execute_sql(
        &c.app,
        "ALTER TABLE audit_log_unwritable RENAME TO audit_log",
    )
    .await;
    assert_eq!(c.app.start_meeting(&c.doctor, &id).await.status(), 200);
    assert_eq!(c.app.join_meeting(&c.patient, &id).await.status(), 200);
}

#[tokio::test]
async fn a_thousand_anonymous_refusals_with_random_ids_leave_a_bounded_number_of_rows() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    let patient = app.logged_in(PATIENT).await;
    let before = database_count(&app, "SELECT COUNT(*) AS n FROM audit_log").await;

    let anonymous = app.client();
    let statuses: Vec<u16> = stream::iter(0..1000)
        .map(|i| {
            let (app, anonymous) = (&app, &anonymous);
            async move {
                // Both ids that look real and ids that cannot be.
                let id = if i % 2 == 0 {
                    random_id(22)
                } else {
                    format!("../{}", random_id(i % 40))
                };
                let response = match i % 3 {
                    0 => app.start_meeting(anonymous, &id).await,
                    1 => app.join_meeting(anonymous, &id).await,
                    _ => app.visit_calendar(anonymous, &random_id(22)).await,
                };
                response.status().as_u16()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    // A logged-in caller probing ids is counted too.
    for _ in 0..100 {
        let id = random_id(22);
        assert_eq!(app.join_meeting(&patient, &id).await.status(), 404);
    }

    let grown = database_count(&app, "SELECT COUNT(*) AS n FROM audit_log").await - before;
    // One row per action, outcome, actor and hour: at most two hours are touched.
    assert!(grown <= 8, "{grown} rows for 1,100 refusals");
    let anonymous_entries = all_entries(&app, &admin, &[("actor", "anonymous")]).await;
    let refused: i64 = anonymous_entries
        .iter()
        .filter(|e| e["outcome"] == "refused")
        .map(|e| e["count"].as_i64().unwrap())
        .sum();
    assert_eq!(refused, 1000, "every refusal is counted");
    assert!(anonymous_entries
        .iter()
        .all(|e| e["subject"] == "(unknown)"));
    let probes: i64 = all_entries(
        &app,
        &admin,
        &[("actor", PATIENT.0), ("action", "meeting.join")],
    )
    .await
    .iter()
    .map(|e| e["count"].as_i64().unwrap())
    .sum();
    assert_eq!(probes, 100);
}

#[tokio::test]
async fn audit_filters_and_pages_return_exactly_the_expected_entries() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    let patient = app.logged_in(PATIENT).await;
    for _ in 0..250 {
        assert_eq!(app.list_visits(&patient).await.status(), 200);
    }
    let doctor_id = user_id(&app, &admin, DOCTOR.0).await;
    let patient_id = user_id(&app, &admin, PATIENT.0).await;
    let booked = book(
        &app,
        &admin,
        doctor_id,
        Some(patient_id),
        &local_in(24 * 60, "Europe/Berlin"),
        "Europe/Berlin",
    )
    .await;
    assert_eq!(booked.status(), 200);
    let id = booked.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.get_visit(&patient, &id).await.status(), 200);

    // Pages of 100, newest first, no overlap, nothing missing.
    let filter = [("actor", PATIENT.0), ("action", "visit.list")];
    let first: Value = app.audit_log(&admin, &filter).await.json().await.unwrap();
    assert_eq!(first["entries"].as_array().unwrap().len(), 100);
    let all = all_entries(&app, &admin, &filter).await;
    assert_eq!(all.len(), 250);
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "strictly newest first");
    assert!(all
        .iter()
        .all(|e| e["action"] == "visit.list" && e["actor"] == PATIENT.0));

    // One visit's entries only.
    let visit = all_entries(&app, &admin, &[("visit", &id)]).await;
    let actions: Vec<&str> = visit
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["visit.open", "visit.book"]);

    // Dates are whole days in the admin's zone (UTC here), both ends inclusive.
    let today = chrono::Utc::now().date_naive();
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let (today_s, tomorrow, yesterday) = (
        day(today),
        day(today.succ_opt().unwrap()),
        day(today.pred_opt().unwrap()),
    );
    let in_range = |from: &str, to: &str| {
        [
            ("actor", PATIENT.0),
            ("action", "visit.list"),
            ("from", from),
            ("to", to),
        ]
        .map(|(k, v)| (k, v.to_owned()))
    };
    let count_in = |filter: [(&'static str, String); 4]| {
        let (app, admin) = (&app, &admin);
        async move {
            let filter: Vec<(&str, &str)> = filter.iter().map(|(k, v)| (*k, v.as_str())).collect();
            all_entries(app, admin, &filter).await.len()
        }
    };
    // The run could straddle midnight: then yesterday holds some of the entries.
    assert_eq!(count_in(in_range(&yesterday, &today_s)).await, 250);
    assert_eq!(count_in(in_range(&tomorrow, "")).await, 0);
    let two_days_ago = day(today - chrono::Days::new(2));
    assert_eq!(count_in(in_range("", &two_days_ago)).await, 0);

    // An actor nobody is matches nothing; a bad date names its field.
    assert!(
        all_entries(&app, &admin, &[("actor", "nobody@clinic.example")])
            .await
            .is_empty()
    );
    let bad = app.audit_log(&admin, &[("from", "last tuesday")]).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["field"], "from");

    // Admins only.
    assert_eq!(app.audit_log(&patient, &[]).await.status(), 403);
    assert_eq!(app.audit_log(&app.client(), &[]).await.status(), 401);
    assert_eq!(app.audit_csv(&patient, "").await.status(), 403);
    assert_eq!(app.audit_csv(&app.client(), "").await.status(), 401);
}

/// Splits one CSV line (RFC 4180, no line breaks inside fields) into its fields.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[tokio::test]
async fn the_csv_export_escapes_commas_quotes_and_formula_leading_characters() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    for email in [
        "=1+1@clinic.example",
        "+1@clinic.example",
        "-1@clinic.example",
    ] {
        create_user(&app, &admin, email, "patient", "Europe/Berlin").await;
    }
    let doctor_id = user_id(&app, &admin, DOCTOR.0).await;
    let zoom_user = "a,\"b\"";
    assert_eq!(
        app.map_doctor(&admin, doctor_id, zoom_user).await.status(),
        200
    );

    let response = app.audit_csv(&admin, "action=user.create").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let rows: Vec<Vec<String>> = csv.lines().map(csv_fields).collect();
    assert_eq!(
        rows[0],
        ["id", "at_utc", "actor", "action", "subject", "outcome", "count", "detail"]
    );
    let subjects: Vec<&str> = rows[1..].iter().map(|r| r[4].as_str()).collect();
    // Newest first: this test's three, then the accounts the install's admin created.
    assert_eq!(
        subjects,
        [
            "'-1@clinic.example",
            "'+1@clinic.example",
            "'=1+1@clinic.example",
            PATIENT.0,
            DOCTOR.0,
            RECEPTIONIST.0,
        ]
    );
    for row in &rows {
        assert_eq!(row.len(), 8, "{row:?}");
        assert!(
            row.iter().all(|f| !f.starts_with(['=', '+', '-', '@'])),
            "a field a spreadsheet would evaluate: {row:?}"
        );
    }

    let all = app.audit_csv(&admin, "").await.text().await.unwrap();
    let expected = format!("\"doctor {doctor_id} -> Zoom user a,\"\"b\"\"\"");
    assert!(all.contains(&expected), "{all}");
    let mapping = all
        .lines()
        .map(csv_fields)
        .find(|r| r[3] == "zoom.map_doctor")
        .unwrap();
    assert_eq!(
        mapping[7],
        format!("doctor {doctor_id} -> Zoom user {zoom_user}")
    );
    // The export itself is on record.
    let exports = all_entries(&app, &admin, &[("action", "audit.export")]).await;
    assert_eq!(exports.len(), 2);
}

/// Entries are written in batches (every entry queued during a commit goes into the next
/// one): reads and refusals arriving together must each still be recorded exactly once, the
/// ordinary ones as rows, the counted ones folded into their bucket.
#[tokio::test]
async fn parallel_reads_and_refusals_are_each_recorded_exactly_once() {
    let app = spawn_app().await;
    let patient = app.logged_in(PATIENT).await;
    let anonymous = app.client();
    let lists = "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'visit.list'";
    let refusals = "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS n FROM audit_log \
                    WHERE action = 'meeting.join' AND actor_kind = 'anonymous'";
    let (lists_before, refusals_before) = (
        database_count(&app, lists).await,
        database_count(&app, refusals).await,
    );

    let statuses: Vec<u16> = stream::iter(0..300)
        .map(|i| {
            let (app, patient, anonymous) = (&app, &patient, &anonymous);
            async move {
                let response = if i % 3 == 2 {
                    app.join_meeting(anonymous, &random_id(22)).await
                } else {
                    app.list_visits(patient).await
                };
                response.status().as_u16()
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 200);
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 100);
    assert_eq!(database_count(&app, lists).await - lists_before, 200);
    assert_eq!(database_count(&app, refusals).await - refusals_before, 100);
}

/// Reads that arrive together are written in one batch (one statement for the lot): each
/// still gets its own entry, with its own actor, subject, outcome and detail.
#[tokio::test]
async fn reads_audited_together_each_keep_their_own_entry() {
    // The writer's debug lines say how many entries each batch held.
    let app = spawn_app_with(&[(
        "RUST_LOG",
        "info,telehealth::server::persistence::audit=debug",
    )])
    .await;
    let admin = app.logged_in(ADMIN).await;
    let callers = [
        (ADMIN.0, admin.clone()),
        (RECEPTIONIST.0, app.logged_in(RECEPTIONIST).await),
        (DOCTOR.0, app.logged_in(DOCTOR).await),
        (PATIENT.0, app.logged_in(PATIENT).await),
    ];
    // What each caller's list holds, to compare with each entry's detail.
    let mut seen = Vec::new();
    for (email, client) in &callers {
        let list: Value = app.list_visits(client).await.json().await.unwrap();
        seen.push((
            *email,
            format!("{} visit(s)", list.as_array().unwrap().len()),
        ));
    }
    const EACH: usize = 12;
    let statuses: Vec<u16> = stream::iter((0..EACH).flat_map(|_| callers.iter()))
        .map(|(_, client)| {
            let app = &app;
            async move { app.list_visits(client).await.status().as_u16() }
        })
        .buffer_unordered(48)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    for (email, detail) in &seen {
        let entries =
            all_entries(&app, &admin, &[("actor", email), ("action", "visit.list")]).await;
        assert_eq!(entries.len(), EACH + 1, "{email}: {entries:?}");
        assert_eq!(count(&entries, "visit.list", email, "", "ok"), EACH + 1);
        assert!(
            entries
                .iter()
                .all(|e| e["detail"] == detail.as_str() && e["count"] == 1),
            "{email}: {entries:?}"
        );
    }
    // They went in as batches, the fixed statement worked for each, and at least one batch
    // held several entries (a failed batch is written entry by entry, and says so).
    let logs = app.logs();
    assert!(!logs.contains("an audit batch failed"), "{logs}");
    let largest = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "audit batch written")
        .filter_map(|line| line["entries"].as_u64())
        .max()
        .unwrap_or(0);
    assert!(largest > 1, "no batch held more than one entry");
}
