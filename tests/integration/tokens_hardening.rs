//! Issue 10, items 3 to 6: the refresh lease follows the request timeout and the winner of a
//! refresh clears a wrong `reconnect_needed`; cached tokens carry the fingerprint of the
//! settings they came from; `rotate-key` succeeds only when nothing is left under a retired
//! key, and a token under a key the app does not hold reads as "reconnect needed"; disconnect
//! revokes the access token and a failed revoke is shown to the doctor and the admin.

use crate::fixtures::{database, database_count, user_id};
use crate::helpers::*;
use crate::sim::{connect_doctor, Sim};
use serde_json::{json, Value};
use sqlx::Row;
use std::time::Duration;

async fn app_with(sim: &Sim, extra: &[(&str, &str)]) -> TestApp {
    let env = sim.env();
    let mut pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.extend_from_slice(extra);
    spawn_app_with(&pairs).await
}

async fn check(app: &TestApp, client: &reqwest::Client) -> (u16, Value) {
    let response = app.zoom_check(client).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn execute(app: &TestApp, sql: &str) {
    let mut conn = database(app).await;
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Token requests to the simulator take `ms` (a refresh is in flight that long).
async fn slow_token_requests(sim: &Sim, ms: u64) {
    sim.control(
        "faults",
        json!({ "latency_ms": ms, "paths": "/oauth/token" }),
    )
    .await;
}

async fn clear_faults(sim: &Sim) {
    sim.control("faults", json!({})).await;
}

// Item 3.

#[tokio::test]
async fn the_refresh_lease_outlasts_a_long_request_timeout() {
    let sim = Sim::start();
    let app = app_with(
        &sim,
        &[
            ("ZOOM_REQUEST_TIMEOUT_SECS", "40"),
            ("MEETING_JOB_LEASE_SECS", "200"),
        ],
    )
    .await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    let doctor_id = user_id(&app, &app.logged_in(ADMIN).await, DOCTOR.0).await;
    slow_token_requests(&sim, 2_000).await;
    sim.control("expire-access-tokens", json!({})).await;
    let during = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        database_count(
            &app,
            &format!(
                "SELECT refresh_lease_until AS n FROM zoom_connections WHERE user_id = {doctor_id}"
            ),
        )
        .await
    };
    let ((code, body), lease_until) = tokio::join!(check(&app, &doctor), during);
    assert_eq!(code, 200, "{body}");
    let lease = lease_until - now();
    // A refresh may take the whole 40 s timeout: a 30 s lease would lapse while it can still
    // succeed at Zoom, and a second refresher would kill the grant.
    assert!(
        lease > 2 * 40,
        "a refresh in flight holds a lease of only {lease} s with a 40 s request timeout"
    );
    assert_eq!(sim.counter("refreshes").await, 1);
}

#[tokio::test]
async fn the_winning_refresh_clears_a_reconnect_needed_set_by_a_loser() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    let doctor_id = user_id(&app, &app.logged_in(ADMIN).await, DOCTOR.0).await;
    slow_token_requests(&sim, 2_000).await;
    sim.control("expire-access-tokens", json!({})).await;
    let during = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        // What a losing refresher does when Zoom refuses the refresh token the winner is
        // rotating right now: it marks the grant at the same version as needing a reconnect.
        execute(
            &app,
            &format!(
                "UPDATE zoom_connections SET status = 'reconnect_needed', \
             status_reason = 'Zoom no longer accepts this connection' WHERE user_id = {doctor_id}"
            ),
        )
        .await
    };
    let ((code, body), ()) = tokio::join!(check(&app, &doctor), during);
    assert_eq!(code, 200, "the winner got new tokens: {body}");
    clear_faults(&sim).await;
    let status: Value = app.zoom_status(&doctor).await.json().await.unwrap();
    assert_eq!(status["connection"]["state"], "connected", "{status}");
    assert_eq!(check(&app, &doctor).await.0, 200);
}

// Item 4.

#[tokio::test]
async fn an_account_token_fetched_under_the_old_settings_is_not_used_after_a_save() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let admin = app.logged_in(ADMIN).await;
    let s2s = [
        ("mode", "server_to_server"),
        ("client_id", "demo-s2s-client"),
        ("client_secret", "demo-s2s-secret"),
        ("account_id", "demo-account"),
    ];
    assert_eq!(app.save_zoom_settings(&admin, &s2s).await.status(), 200);
    let doctor_id = user_id(&app, &admin, DOCTOR.0).await;
    let mapped = app
        .map_doctor(&admin, doctor_id, "doctor@demo.clinic")
        .await;
    assert_eq!(mapped.status(), 200);
    let doctor = app.logged_in(DOCTOR).await;

    // A call fetches the account token; while that request is in flight, the admin saves new
    // settings (a new secret).
    slow_token_requests(&sim, 1_500).await;
    let during = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        app.save_zoom_settings(&admin, &s2s).await.status().as_u16()
    };
    let ((code, body), saved) = tokio::join!(check(&app, &doctor), during);
    assert_eq!(saved, 200);
    assert_eq!(code, 200, "{body}");
    clear_faults(&sim).await;
    let before = sim.counter("account_tokens").await;

    // The token cached by that call came from the old settings: the next call gets its own.
    assert_eq!(check(&app, &doctor).await.0, 200);
    assert_eq!(
        sim.counter("account_tokens").await,
        before + 1,
        "a token fetched under the old settings was reused after new ones were saved"
    );
    // Which is then cached.
    assert_eq!(check(&app, &doctor).await.0, 200);
    assert_eq!(sim.counter("account_tokens").await, before + 1);
}

#[tokio::test]
async fn a_grant_of_another_zoom_app_than_the_configured_one_is_not_used() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    assert_eq!(check(&app, &doctor).await.0, 200);
    let admin = app.logged_in(ADMIN).await;
    let saved = app
        .save_zoom_settings(
            &admin,
            &[
                ("mode", "user_oauth"),
                ("client_id", "another-oauth-client"),
                ("client_secret", "another-secret"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 200);
    let (code, body) = check(&app, &doctor).await;
    assert_eq!(
        code, 409,
        "a token of the previous Zoom app was used: {body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("reconnect"),
        "{body}"
    );
    let status: Value = app.zoom_status(&doctor).await.json().await.unwrap();
    assert_eq!(
        status["connection"]["state"], "reconnect_needed",
        "{status}"
    );
}

// Item 5.

#[tokio::test]
async fn a_token_sealed_under_a_key_the_app_does_not_hold_reads_as_reconnect_needed() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    let doctor_id = user_id(&app, &app.logged_in(ADMIN).await, DOCTOR.0).await;
    let mut conn = database(&app).await;
    let row = sqlx::query(&format!(
        "SELECT access_token_enc, refresh_token_enc FROM zoom_connections WHERE user_id = {doctor_id}"
    ))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let under_unknown_key = |sealed: String| {
        let mut parts = sealed.splitn(3, '.');
        let (format, _, body) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
        format!("{format}.k-gone.{body}")
    };
    let access = under_unknown_key(row.get("access_token_enc"));
    let refresh = under_unknown_key(row.get("refresh_token_enc"));
    sqlx::query(&format!(
        "UPDATE zoom_connections SET access_token_enc = $1, refresh_token_enc = $2 WHERE user_id = {doctor_id}"
    ))
    .bind(access)
    .bind(refresh)
    .execute(&mut conn)
    .await
    .unwrap();
    let (code, body) = check(&app, &doctor).await;
    assert_eq!(code, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("reconnect"),
        "{body}"
    );
}

#[tokio::test]
async fn rotate_key_fails_naming_what_remains_under_the_retired_key() {
    const OLD: &str = "k-old:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const NEW: &str = "k-new:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    let sim = Sim::start();
    let app = app_with(&sim, &[("ENCRYPTION_KEY", OLD)]).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    // A writer that keeps the doctor's tokens under the old key whatever rotate-key writes
    // (as an instance still running with the old key as its current one would).
    if using_postgres() {
        execute(
            &app,
            "CREATE FUNCTION keep_old_tokens() RETURNS trigger AS $$ BEGIN RETURN NULL; END $$ \
             LANGUAGE plpgsql; \
             CREATE TRIGGER keep_old_tokens BEFORE UPDATE ON zoom_connections FOR EACH ROW \
             EXECUTE FUNCTION keep_old_tokens();",
        )
        .await;
    } else {
        execute(
            &app,
            "CREATE TRIGGER keep_old_tokens BEFORE UPDATE ON zoom_connections \
             BEGIN SELECT RAISE(IGNORE); END;",
        )
        .await;
    }
    let database_url = app.database_url.clone();
    let _dir = app.stop();

    let rotate = std::process::Command::new(env!("CARGO_BIN_EXE_telehealth"))
        .arg("rotate-key")
        .env("DATABASE_URL", &database_url)
        .env("APP_CONFIG_FILE", "/dev/null")
        .env("ENCRYPTION_KEY", NEW)
        .env("ENCRYPTION_OLD_KEYS", OLD)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&rotate.stderr).to_string();
    assert!(
        !rotate.status.success(),
        "rotate-key reported success with values left under the old key: {}",
        String::from_utf8_lossy(&rotate.stdout)
    );
    assert!(
        stderr.contains("zoom_connections.access_token_enc")
            && stderr.contains("zoom_connections.refresh_token_enc")
            && stderr.contains("k-old"),
        "{stderr}"
    );
}

// Item 6.

#[tokio::test]
async fn disconnect_revokes_with_the_access_token_as_zoom_documents() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    let response = app.zoom_disconnect(&doctor).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["revoked"], true, "{report}");
    assert_eq!(sim.counter("revocations").await, 1);
    assert_eq!(
        sim.counter("revocations_with_access_token").await,
        1,
        "Zoom's /oauth/revoke takes token=<access_token>"
    );
}

#[tokio::test]
async fn a_failed_revoke_is_shown_to_the_doctor_and_on_the_admins_zoom_page() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    sim.control(
        "faults",
        json!({ "error_rate": 1.0, "error_kinds": ["500"], "paths": "/oauth/revoke" }),
    )
    .await;
    let response = app.zoom_disconnect(&doctor).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["revoked"], false, "{report}");
    assert!(
        report["warning"]
            .as_str()
            .unwrap_or_default()
            .contains("Zoom did not confirm the revocation"),
        "{report}"
    );
    // Our copy is gone all the same.
    let status: Value = app.zoom_status(&doctor).await.json().await.unwrap();
    assert_eq!(status["connection"]["state"], "not_connected");

    let admin = app.logged_in(ADMIN).await;
    let settings: Value = app.zoom_settings(&admin).await.json().await.unwrap();
    let row = settings["doctors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["email"] == DOCTOR.0)
        .unwrap()
        .clone();
    assert!(
        row["last_disconnect_failure"]
            .as_str()
            .unwrap_or_default()
            .contains("Zoom did not confirm the revocation"),
        "{row}"
    );
    let page = admin
        .get(app.url("/admin/zoom"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Last disconnect: Zoom did not confirm the revocation"),
        "the admin's Zoom page does not show the failed revocation"
    );

    // A later disconnect that Zoom confirms clears it.
    clear_faults(&sim).await;
    connect_doctor(&app, &sim, &doctor).await;
    let report: Value = app.zoom_disconnect(&doctor).await.json().await.unwrap();
    assert_eq!(report["revoked"], true, "{report}");
    let settings: Value = app.zoom_settings(&admin).await.json().await.unwrap();
    let row = settings["doctors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["email"] == DOCTOR.0)
        .unwrap()
        .clone();
    assert!(row["last_disconnect_failure"].is_null(), "{row}");
}
