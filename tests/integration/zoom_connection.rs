//! The doctor's Zoom connection against the simulator: consent, encrypted storage, token
//! rotation with exactly one refresh in flight, revoked grants, disconnect, Server-to-Server.

use crate::fixtures::user_id;
use crate::helpers::*;
use crate::sim::{connect_doctor, Sim};
use futures::future::join_all;
use serde_json::{json, Value};
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

#[tokio::test]
async fn a_doctor_connects_through_the_consent_page_and_tokens_are_stored_sealed() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;

    let status: Value = app.zoom_status(&doctor).await.json().await.unwrap();
    assert_eq!(status["connection"]["state"], "connected", "{status}");
    assert_eq!(status["connection"]["zoom_email"], "doctor@demo.clinic");
    let (code, account) = check(&app, &doctor).await;
    assert_eq!(code, 200, "{account}");
    assert_eq!(account["email"], "doctor@demo.clinic");
    assert_eq!(sim.counter("token_grants").await, 1);

    app.log_fence().await;
    let logs = app.logs();
    let page = doctor
        .get(app.url("/zoom"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for secret in sim.issued_secrets().await {
        assert!(!logs.contains(&secret), "a Zoom token or code was logged");
        assert!(!page.contains(&secret), "a Zoom token reached a page");
        assert!(
            !database_contains(&app, &secret).await,
            "a Zoom token is stored in plaintext"
        );
    }
}

#[tokio::test]
async fn a_replayed_or_expired_callback_is_refused() {
    let sim = Sim::start();
    let app = app_with(&sim, &[("OAUTH_STATE_TTL_SECS", "1")]).await;
    let doctor = app.logged_in(DOCTOR).await;

    let authorize = app.zoom_authorize(&doctor).await;
    let back = sim
        .consent(authorize.headers()["location"].to_str().unwrap(), true)
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let query = back.split_once('?').unwrap().1.to_owned();
    let expired = app.zoom_callback(&doctor, &query).await;
    assert_eq!(expired.status(), 400, "an expired state is refused");
    let replayed = app.zoom_callback(&doctor, &query).await;
    assert_eq!(replayed.status(), 400, "and it cannot be used again");
    assert_eq!(
        sim.counter("token_grants").await,
        0,
        "no code was exchanged"
    );
}

#[tokio::test]
async fn a_declined_consent_connects_nothing() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    let authorize = app.zoom_authorize(&doctor).await;
    let back = sim
        .consent(authorize.headers()["location"].to_str().unwrap(), false)
        .await;
    assert!(back.contains("error=access_denied"));
    let query = back.split_once('?').unwrap().1.to_owned();
    let response = app.zoom_callback(&doctor, &query).await;
    assert_eq!(response.status(), 400);
    let status: Value = app.zoom_status(&doctor).await.json().await.unwrap();
    assert_eq!(status["connection"]["state"], "not_connected");
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused_by_the_simulator() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    let authorize = app.zoom_authorize(&doctor).await;
    let back = sim
        .consent(authorize.headers()["location"].to_str().unwrap(), true)
        .await;
    let code = query_value(&back, "code").unwrap();
    let redirect_uri = back.split('?').next().unwrap().to_owned();
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.url))
        .basic_auth("demo-oauth-client", Some("demo-oauth-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            (
                "code_verifier",
                "a-verifier-that-is-not-the-one-behind-the-challenge-xyz",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn two_hundred_concurrent_calls_with_a_rejected_token_cause_exactly_one_refresh() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    sim.allow_bursts().await;
    // Zoom says every access token has expired although our clock says they have not:
    // each call gets 401/124 and must renew, yet only one refresh may reach Zoom.
    sim.control("expire-access-tokens", json!({})).await;
    let calls = (0..200).map(|_| check(&app, &doctor));
    let results = join_all(calls).await;
    let failures: Vec<_> = results.iter().filter(|(code, _)| *code != 200).collect();
    assert!(
        failures.is_empty(),
        "{} calls failed, e.g. {:?}",
        failures.len(),
        failures.first()
    );
    assert_eq!(sim.counter("refreshes").await, 1);
}

#[tokio::test]
async fn tokens_about_to_expire_are_renewed_ahead_of_time_by_one_caller() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    // Issued tokens live 125 s: the app renews within 120 s of expiry, so after 6 s this one is due.
    sim.allow_bursts().await;
    sim.set_token_ttl(125).await;
    connect_doctor(&app, &sim, &doctor).await;
    sim.set_token_ttl(3600).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let results = join_all((0..200).map(|_| check(&app, &doctor))).await;
    assert!(results.iter().all(|(code, _)| *code == 200));
    assert_eq!(sim.counter("refreshes").await, 1);
}

#[tokio::test]
async fn two_app_instances_on_one_database_refresh_only_once() {
    let sim = Sim::start();
    let first = app_with(&sim, &[]).await;
    let dir = TempDir::new();
    let env = sim.env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let second = spawn_app_on(dir, first.database_url.clone(), &pairs).await;

    let on_first = first.logged_in(DOCTOR).await;
    let on_second = second.logged_in(DOCTOR).await;
    connect_doctor(&first, &sim, &on_first).await;
    sim.allow_bursts().await;
    sim.control("expire-access-tokens", json!({})).await;

    let a = join_all((0..100).map(|_| check(&first, &on_first)));
    let b = join_all((0..100).map(|_| check(&second, &on_second)));
    let (a, b) = tokio::join!(a, b);
    let failed = a
        .iter()
        .chain(b.iter())
        .filter(|(code, _)| *code != 200)
        .count();
    assert_eq!(
        failed,
        0,
        "first: {:?}",
        a.iter().chain(b.iter()).find(|(c, _)| *c != 200)
    );
    assert_eq!(sim.counter("refreshes").await, 1);
}

#[tokio::test]
async fn when_zoom_rate_limits_the_caller_gets_429_with_retry_after() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    sim.control("config", json!({ "rate_limit_per_sec": 0 }))
        .await;
    let response = app.zoom_check(&doctor).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        response.json::<Value>().await.unwrap()["kind"],
        "rate_limited"
    );
}

#[tokio::test]
async fn a_revoked_grant_shows_reconnect_needed_to_the_doctor_and_the_admin() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    // The doctor removed the app in Zoom: tokens stop working and refreshing fails for good.
    sim.control("revoke-grants", json!({})).await;
    let (code, body) = check(&app, &doctor).await;
    assert_eq!(code, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("reconnect"),
        "{body}"
    );
    let status: Value = app.zoom_status(&doctor).await.json().await.unwrap();
    assert_eq!(status["connection"]["state"], "reconnect_needed");
    let admin = app.logged_in(ADMIN).await;
    let settings: Value = app.zoom_settings(&admin).await.json().await.unwrap();
    let row = settings["doctors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["email"] == DOCTOR.0)
        .unwrap()
        .clone();
    assert_eq!(row["connection"]["state"], "reconnect_needed");
    // Reconnecting brings it back.
    connect_doctor(&app, &sim, &doctor).await;
    assert_eq!(check(&app, &doctor).await.0, 200);
}

#[tokio::test]
async fn disconnect_revokes_the_grant_at_zoom_and_deletes_the_tokens() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    let response = app.zoom_disconnect(&doctor).await;
    assert_eq!(response.status(), 200);
    assert_eq!(sim.counter("revocations").await, 1);
    let status: Value = app.zoom_status(&doctor).await.json().await.unwrap();
    assert_eq!(status["connection"]["state"], "not_connected");
    assert_eq!(check(&app, &doctor).await.0, 409);
}

#[tokio::test]
async fn admin_test_connection_tells_good_and_bad_credentials_apart() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let admin = app.logged_in(ADMIN).await;
    let test = || async {
        app.test_zoom_connection(&admin)
            .await
            .json::<Value>()
            .await
            .unwrap()
    };
    let good = test().await;
    assert_eq!(good["outcome"], "connected", "{good}");
    assert_eq!(good["connected_as"], "OAuth app demo-oauth-client");

    let wrong = app
        .save_zoom_settings(
            &admin,
            &[
                ("mode", "user_oauth"),
                ("client_id", "demo-oauth-client"),
                ("client_secret", "wrong-secret"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 200);
    assert_eq!(test().await["outcome"], "bad_credentials");

    let s2s = app
        .save_zoom_settings(
            &admin,
            &[
                ("mode", "server_to_server"),
                ("client_id", "demo-s2s-client"),
                ("client_secret", "demo-s2s-secret"),
                ("account_id", "demo-account"),
            ],
        )
        .await;
    assert_eq!(s2s.status(), 200);
    let outcome = test().await;
    assert_eq!(outcome["outcome"], "connected", "{outcome}");
    assert_eq!(outcome["connected_as"], "account demo-account");
    assert!(outcome["elapsed_ms"].is_u64());

    // An app created without the meeting scopes is named as such, scope by scope.
    sim.control("config", json!({ "account_scopes": "meeting:read:admin" }))
        .await;
    let resaved = app
        .save_zoom_settings(
            &admin,
            &[
                ("mode", "server_to_server"),
                ("client_id", "demo-s2s-client"),
                ("account_id", "demo-account"),
            ],
        )
        .await;
    assert_eq!(resaved.status(), 200, "saving drops the cached token");
    let outcome = test().await;
    assert_eq!(outcome["outcome"], "missing_scopes", "{outcome}");
    assert_eq!(
        outcome["scopes"],
        json!(["meeting:write:admin", "user:read:admin"])
    );
}

#[tokio::test]
async fn rotate_key_reseals_every_secret_under_the_new_key() {
    const OLD: &str = "k-old:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const NEW: &str = "k-new:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    let sim = Sim::start();
    let mut env: Vec<(&str, String)> = sim.env();
    env.push(("ENCRYPTION_KEY", OLD.to_owned()));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_with(&pairs).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    let database_url = app.database_url.clone();
    let dir = app.stop();

    let rotate = std::process::Command::new(env!("CARGO_BIN_EXE_telehealth"))
        .arg("rotate-key")
        .env("DATABASE_URL", &database_url)
        .env("APP_CONFIG_FILE", "/dev/null")
        .env("ENCRYPTION_KEY", NEW)
        .env("ENCRYPTION_OLD_KEYS", OLD)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&rotate.stdout).to_string();
    assert!(
        rotate.status.success(),
        "{}",
        String::from_utf8_lossy(&rotate.stderr)
    );
    // The client secret, the doctor's access and refresh tokens, and one PKCE verifier.
    assert!(
        report.starts_with("4 value(s) re-sealed under key k-new"),
        "{report}"
    );

    // Only the new key from now on: everything still opens.
    let mut env: Vec<(&str, String)> = sim.env();
    env.push(("ENCRYPTION_KEY", NEW.to_owned()));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_on(dir, database_url, &pairs).await;
    let doctor = app.logged_in(DOCTOR).await;
    assert_eq!(check(&app, &doctor).await.0, 200);
    let admin = app.logged_in(ADMIN).await;
    let outcome: Value = app.test_zoom_connection(&admin).await.json().await.unwrap();
    assert_eq!(outcome["outcome"], "connected", "{outcome}");
    assert!(
        !database_contains(&app, "v1.k-old.").await,
        "nothing is left under the old key"
    );
}

#[tokio::test]
async fn server_to_server_shares_one_account_token_across_doctors_calls() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let admin = app.logged_in(ADMIN).await;
    let saved = app
        .save_zoom_settings(
            &admin,
            &[
                ("mode", "server_to_server"),
                ("client_id", "demo-s2s-client"),
                ("client_secret", "demo-s2s-secret"),
                ("account_id", "demo-account"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 200);
    let doctor_id = user_id(&app, &admin, DOCTOR.0).await;
    let doctor = app.logged_in(DOCTOR).await;
    assert_eq!(check(&app, &doctor).await.0, 409, "no Zoom user mapped yet");
    let mapped = app
        .map_doctor(&admin, doctor_id, "doctor@demo.clinic")
        .await;
    assert_eq!(mapped.status(), 200);

    sim.allow_bursts().await;
    let results = join_all((0..50).map(|_| check(&app, &doctor))).await;
    assert!(
        results
            .iter()
            .all(|(code, body)| *code == 200 && body["email"] == "doctor@demo.clinic"),
        "{:?}",
        results.first()
    );
    assert_eq!(
        sim.counter("account_tokens").await,
        1,
        "one account token for everything"
    );
    // A token Zoom rejects is replaced once, not once per caller.
    sim.control("expire-access-tokens", json!({})).await;
    let results = join_all((0..50).map(|_| check(&app, &doctor))).await;
    assert!(results.iter().all(|(code, _)| *code == 200));
    assert_eq!(sim.counter("account_tokens").await, 2);
}

#[tokio::test]
async fn a_state_replayed_after_a_successful_callback_is_refused() {
    let sim = Sim::start();
    let app = app_with(&sim, &[]).await;
    let doctor = app.logged_in(DOCTOR).await;
    let authorize = app.zoom_authorize(&doctor).await;
    let back = sim
        .consent(authorize.headers()["location"].to_str().unwrap(), true)
        .await;
    let query = back.split_once('?').unwrap().1.to_owned();
    let first = app.zoom_callback(&doctor, &query).await;
    assert_eq!(first.status(), 303);
    assert_eq!(first.headers()["location"], "/zoom?connected=1");
    let replayed = app.zoom_callback(&doctor, &query).await;
    assert_eq!(replayed.status(), 400);
    assert!(replayed
        .text()
        .await
        .unwrap()
        .contains("invalid, expired or was already used"));
    assert_eq!(
        sim.counter("token_grants").await,
        1,
        "the code went to Zoom once"
    );
    let status: Value = app.zoom_status(&doctor).await.json().await.unwrap();
    assert_eq!(
        status["connection"]["state"], "connected",
        "still connected"
    );
}

#[tokio::test]
async fn authorize_answers_409_unless_doctors_connect_their_own_zoom() {
    let sim = Sim::start();
    let env = sim.env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_without_zoom(&pairs).await;
    let admin = app.logged_in(ADMIN).await;
    let doctor = app.logged_in(DOCTOR).await;
    let unset = app.zoom_authorize(&doctor).await;
    assert_eq!(unset.status(), 409, "Zoom is not set up");
    assert_eq!(unset.json::<Value>().await.unwrap()["kind"], "conflict");

    let s2s = app
        .save_zoom_settings(
            &admin,
            &[
                ("mode", "server_to_server"),
                ("client_id", "demo-s2s-client"),
                ("client_secret", "demo-s2s-secret"),
                ("account_id", "demo-account"),
            ],
        )
        .await;
    assert_eq!(s2s.status(), 200);
    let account_wide = app.zoom_authorize(&doctor).await;
    assert_eq!(
        account_wide.status(),
        409,
        "Server-to-Server: nothing to connect"
    );

    let oauth = app
        .save_zoom_settings(
            &admin,
            &[
                ("mode", "user_oauth"),
                ("client_id", "demo-oauth-client"),
                ("client_secret", "demo-oauth-secret"),
            ],
        )
        .await;
    assert_eq!(oauth.status(), 200);
    assert_eq!(app.zoom_authorize(&doctor).await.status(), 303);
}

#[tokio::test]
async fn admin_test_connection_says_when_zoom_is_not_set_up_or_refuses_the_check() {
    let sim = Sim::start();
    let env = sim.env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_without_zoom(&pairs).await;
    let admin = app.logged_in(ADMIN).await;
    let outcome: Value = app.test_zoom_connection(&admin).await.json().await.unwrap();
    assert_eq!(outcome["outcome"], "not_configured", "{outcome}");
    assert_eq!(sim.counter("api_requests").await, 0, "no call to Zoom");

    let saved = app
        .save_zoom_settings(
            &admin,
            &[
                ("mode", "user_oauth"),
                ("client_id", "demo-oauth-client"),
                ("client_secret", "demo-oauth-secret"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 200);
    // Zoom answers the credential probe with a refusal that is neither "bad credentials" nor
    // an outage: the check failed, and says how.
    sim.control(
        "faults",
        json!({ "error_rate": 1.0, "error_kinds": ["400"], "paths": "/oauth/token" }),
    )
    .await;
    let outcome: Value = app.test_zoom_connection(&admin).await.json().await.unwrap();
    assert_eq!(outcome["outcome"], "failed", "{outcome}");
    assert!(
        outcome["detail"].as_str().unwrap().contains("refused"),
        "{outcome}"
    );
    sim.control("faults", json!({})).await;
    let outcome: Value = app.test_zoom_connection(&admin).await.json().await.unwrap();
    assert_eq!(outcome["outcome"], "connected", "{outcome}");

    let audit: Value = app
        .audit_log(&admin, &[("action", "zoom.test_connection")])
        .await
        .json()
        .await
        .unwrap();
    let outcomes: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["ok", "failed", "failed"], "newest first");
}
