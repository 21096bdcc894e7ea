//! Logins and sessions under attack: throttling behind a proxy and under parallel guessing,
//! saturation of the password hasher, sessions that logout ended, and the Zoom authorization
//! GET started from another site.

use crate::fixtures::*;
use crate::helpers::*;
use base64::Engine;
use futures::future::join_all;
use reqwest::Response;
use serde_json::Value;
use sha2::Digest;
use std::time::{Duration, Instant};

const NOBODY: &str = "nobody@clinic.example";
const WRONG: &str = "a wrong password guess";

async fn status_and_kind(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body["kind"].clone())
}

#[tokio::test]
async fn behind_a_trusted_proxy_failures_count_per_client_not_per_proxy() {
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
        ("LOGIN_MAX_FAILURES_PER_ADDRESS", "3"),
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "1000"),
    ])
    .await;
    let client = app.client();
    let from = |ip: &'static str| ("x-forwarded-for", ip);
    for _ in 0..3 {
        let response = app
            .login_forwarded(&client, from("203.0.113.5"), NOBODY, WRONG)
            .await;
        assert_eq!(response.status(), 401);
    }
    let locked = app
        .login_forwarded(&client, from("203.0.113.5"), NOBODY, WRONG)
        .await;
    assert_eq!(locked.status(), 429, "the guessing client is throttled");
    // Everyone else behind the same proxy is not.
    let other = app
        .login_forwarded(&client, from("203.0.113.6"), NOBODY, WRONG)
        .await;
    assert_eq!(other.status(), 401);
    let colleague = app
        .login_forwarded(&client, from("198.51.100.7"), DOCTOR.0, DOCTOR.1)
        .await;
    assert_eq!(colleague.status(), 200);
    // Addresses the client wrote itself (left of what the proxy appended) are not believed.
    let spoofed = app
        .login_forwarded(&client, from("198.51.100.99, 203.0.113.5"), NOBODY, WRONG)
        .await;
    assert_eq!(spoofed.status(), 429);
    // RFC 7239's header is not read unless configured: this counts as the proxy itself.
    let forwarded = app
        .login_forwarded(&client, ("forwarded", "for=203.0.113.77"), NOBODY, WRONG)
        .await;
    assert_eq!(forwarded.status(), 401);

    // IPv6: one subscriber holds a /64, so failures count per /64.
    for host in ["1", "2", "3"] {
        let ip = format!("2001:db8:1:2::{host}");
        let response = app
            .login_forwarded(&client, ("x-forwarded-for", &ip), NOBODY, WRONG)
            .await;
        assert_eq!(response.status(), 401);
    }
    let same_net = app
        .login_forwarded(
            &client,
            ("x-forwarded-for", "2001:db8:1:2:ffff::9"),
            NOBODY,
            WRONG,
        )
        .await;
    assert_eq!(same_net.status(), 429, "another address of the same /64");
    let next_net = app
        .login_forwarded(
            &client,
            ("x-forwarded-for", "2001:db8:1:3::1"),
            NOBODY,
            WRONG,
        )
        .await;
    assert_eq!(next_net.status(), 401);
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_address_changes_nothing() {
    let app = spawn_app_with(&[
        ("LOGIN_MAX_FAILURES_PER_ADDRESS", "3"),
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "1000"),
    ])
    .await;
    let client = app.client();
    for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let response = app
            .login_forwarded(&client, ("x-forwarded-for", ip), NOBODY, WRONG)
            .await;
        assert_eq!(response.status(), 401);
    }
    let response = app
        .login_forwarded(&client, ("x-forwarded-for", "203.0.113.4"), NOBODY, WRONG)
        .await;
    assert_eq!(
        response.status(),
        429,
        "a client cannot buy fresh tries by naming a new address"
    );
}

#[tokio::test]
async fn parallel_wrong_passwords_get_no_more_tries_than_the_limit() {
    let app = spawn_app_with(&[
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5"),
        ("LOGIN_MAX_FAILURES_PER_ADDRESS", "1000"),
        ("PASSWORD_HASH_WAIT_MS", "60000"),
    ])
    .await;
    let statuses = join_all((0..40).map(|i| {
        let app = &app;
        async move {
            let client = app.client();
            let guess = format!("wrong guess number {i}");
            app.login(&client, DOCTOR.0, &guess).await.status().as_u16()
        }
    }))
    .await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + throttled, 40, "{statuses:?}");
    assert!(
        (1..=5).contains(&checked),
        "{checked} passwords were checked, the limit is 5: {statuses:?}"
    );
    // A burst may get fewer checks than the limit (each attempt sees the others in flight);
    // never more. One by one, the rest of the five are checked, then the account is locked.
    let mut total = checked;
    loop {
        let status = app.login(&app.client(), DOCTOR.0, WRONG).await.status();
        if status == 429 {
            break;
        }
        assert_eq!(status, 401);
        total += 1;
    }
    assert_eq!(total, 5);
    let right = app.login(&app.client(), DOCTOR.0, DOCTOR.1).await;
    assert_eq!(
        right.status(),
        429,
        "the account stays locked for the window"
    );
}

#[tokio::test]
async fn when_every_hashing_slot_is_taken_logins_get_503_with_retry_after() {
    let app = spawn_app_with(&[
        ("PASSWORD_HASH_CONCURRENCY", "1"),
        ("PASSWORD_HASH_WAIT_MS", "0"),
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "1000"),
        ("LOGIN_MAX_FAILURES_PER_ADDRESS", "1000"),
    ])
    .await;
    let answers = join_all((0..24).map(|i| {
        let app = &app;
        async move {
            let guess = format!("wrong guess number {i}");
            let response = app.login(&app.client(), NOBODY, &guess).await;
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let (status, kind) = status_and_kind(response).await;
            (status, kind, retry_after)
        }
    }))
    .await;
    let busy: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!(
        !busy.is_empty(),
        "24 logins at once through 1 slot: {answers:?}"
    );
    for (_, kind, retry_after) in &busy {
        assert_eq!(kind, "busy");
        assert_eq!(retry_after.as_deref(), Some("1"));
    }
    assert!(
        answers.iter().all(|(s, _, _)| *s == 401 || *s == 503),
        "{answers:?}"
    );
    // Saturation passes: the next login is checked as usual.
    let client = app.client();
    assert_eq!(app.login(&client, DOCTOR.0, DOCTOR.1).await.status(), 200);
}

#[tokio::test]
async fn the_current_password_check_of_a_password_change_is_throttled_like_a_login() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")]).await;
    let patient = app.logged_in(PATIENT).await;
    let new = "a brand new patient password";
    for _ in 0..3 {
        let response = app.change_password(&patient, WRONG, new).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["field"], "current_password");
    }
    let right = app.change_password(&patient, PATIENT.1, new).await;
    assert_eq!(right.status(), 429, "even the right password waits now");
    assert!(right.headers().contains_key("retry-after"));
    // Guesses through the password change and through the login share one budget.
    let login = app.login(&app.client(), PATIENT.0, PATIENT.1).await;
    assert_eq!(login.status(), 429);
}

#[tokio::test]
async fn a_request_in_flight_does_not_bring_back_a_session_that_logout_ended() {
    // One hashing slot, long waits: a queue of logins holds the password change below in
    // the queue (its session already loaded) while the same session logs out.
    let app = spawn_app_with(&[
        ("PASSWORD_HASH_CONCURRENCY", "1"),
        ("PASSWORD_HASH_WAIT_MS", "120000"),
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "1000"),
        ("LOGIN_MAX_FAILURES_PER_ADDRESS", "1000"),
    ])
    .await;
    let client = app.client();
    let login = app.login(&client, PATIENT.0, PATIENT.1).await;
    assert_eq!(login.status(), 200);
    let cookie = session_cookie(&login).expect("a session cookie");

    let queue = join_all((0..30).map(|i| {
        let app = &app;
        async move {
            let guess = format!("wrong guess number {i}");
            app.login(&app.client(), NOBODY, &guess).await.status()
        }
    }));
    let change = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let response = reqwest::Client::new()
            .post(app.url("/api/profile/password"))
            .header("cookie", &cookie)
            .form(&[
                ("current_password", PATIENT.1),
                ("new_password", "a brand new patient password"),
            ])
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), Instant::now())
    };
    let logout = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let response = reqwest::Client::new()
            .post(app.url("/api/auth/logout"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        Instant::now()
    };
    let (_, (changed, change_done), logout_done) = tokio::join!(queue, change, logout);
    assert_eq!(changed, 200, "the password change itself went through");
    assert!(
        logout_done < change_done,
        "the race was not run: the change finished before the logout"
    );
    assert_eq!(
        me_with_cookie(&app, &cookie).await,
        Value::Null,
        "the logged-out session came back"
    );
}

fn state_hash(authorize: &Response) -> String {
    let location = authorize.headers()["location"].to_str().unwrap();
    let state = query_value(location, "state").expect("a state in the consent URL");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(state))
}

#[tokio::test]
async fn the_zoom_authorization_cannot_be_started_from_another_site() {
    let app = spawn_app().await;
    let doctor = app.logged_in(DOCTOR).await;
    for site in ["cross-site", "same-site"] {
        let response = app.zoom_authorize_from(&doctor, site).await;
        assert_eq!(response.status(), 403, "Sec-Fetch-Site: {site}");
        assert!(!response.headers().contains_key("location"));
    }
    assert_eq!(
        database_count(&app, "SELECT COUNT(*) AS n FROM oauth_states").await,
        0,
        "a refused start stores no state"
    );
    for site in ["same-origin", "none"] {
        let response = app.zoom_authorize_from(&doctor, site).await;
        assert_eq!(response.status(), 303, "Sec-Fetch-Site: {site}");
    }
    // Clients that send no fetch metadata cannot carry a victim's cookies: they pass.
    assert_eq!(app.zoom_authorize(&doctor).await.status(), 303);
}

#[tokio::test]
async fn a_doctor_keeps_at_most_five_live_oauth_states() {
    let app = spawn_app().await;
    let doctor = app.logged_in(DOCTOR).await;
    let mut hashes = Vec::new();
    for _ in 0..12 {
        let response = app.zoom_authorize(&doctor).await;
        assert_eq!(response.status(), 303);
        hashes.push(state_hash(&response));
    }
    let live = database_count(
        &app,
        "SELECT COUNT(*) AS n FROM oauth_states WHERE used_at IS NULL",
    )
    .await;
    assert_eq!(live, 5);
    let kept = |hash: &str| {
        let sql = format!("SELECT COUNT(*) AS n FROM oauth_states WHERE state_hash = '{hash}'");
        let app = &app;
        async move { database_count(app, &sql).await }
    };
    for (i, hash) in hashes.iter().enumerate() {
        let expected = i64::from(i >= 7);
        assert_eq!(
            kept(hash).await,
            expected,
            "state {i}: the newest five stay"
        );
    }
}
