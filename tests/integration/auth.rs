use crate::helpers::*;
use std::time::Duration;

#[tokio::test]
async fn each_demo_role_can_log_in_and_is_told_who_it_is() {
    let app = spawn_demo_app().await;
    for (who, role) in [
        (ADMIN, "admin"),
        (RECEPTIONIST, "receptionist"),
        (DOCTOR, "doctor"),
        (PATIENT, "patient"),
    ] {
        let client = app.logged_in(who).await;
        let me = app.me(&client).await;
        assert_eq!(me["email"], who.0);
        assert_eq!(me["role"], role);
    }
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_401_and_no_session() {
    let app = spawn_app().await;
    let client = app.client();
    let response = app.login(&client, ADMIN.0, "not the password").await;
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["kind"], "invalid_credentials");
    assert_eq!(app.me(&client).await, serde_json::Value::Null);
}

#[tokio::test]
async fn an_unknown_email_gets_exactly_the_answer_a_wrong_password_gets() {
    let app = spawn_app().await;
    let client = app.client();
    let wrong = app.login(&client, ADMIN.0, "not the password").await;
    let unknown = app
        .login(&client, "nobody@demo.clinic", "not the password")
        .await;
    assert_eq!(wrong.status(), unknown.status());
    assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());
}

#[tokio::test]
async fn login_is_case_insensitive_in_the_email() {
    let app = spawn_app().await;
    let client = app.client();
    let response = app.login(&client, "  Admin@Demo.Clinic ", ADMIN.1).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_session_id_changes_at_login_and_the_previous_id_stops_working() {
    let app = spawn_app().await;
    let client = app.client();
    let first = app.login(&client, PATIENT.0, PATIENT.1).await;
    let before = session_cookie(&first).expect("login sets a session cookie");
    // Logging in again (as someone else) on the same browser must not reuse the old id.
    let second = app.login(&client, ADMIN.0, ADMIN.1).await;
    assert_eq!(second.status(), 200);
    let after = session_cookie(&second).expect("a new login sets a new cookie");
    assert_ne!(before, after);
    assert_eq!(me_with_cookie(&app, &before).await, serde_json::Value::Null);
    assert_eq!(me_with_cookie(&app, &after).await["email"], ADMIN.0);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = spawn_app().await;
    let client = app.client();
    let response = app.login(&client, ADMIN.0, ADMIN.1).await;
    let cookies = full_cookie_header(&response);
    let cookie = cookies.get("telehealth_session").expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
}

#[tokio::test]
async fn over_https_the_cookie_is_secure_and_host_prefixed() {
    let app = spawn_app_with(&[("PUBLIC_URL", "https://clinic.example")]).await;
    let client = app.client();
    let response = app.login(&client, ADMIN.0, ADMIN.1).await;
    assert_eq!(response.status(), 200);
    let cookies = full_cookie_header(&response);
    let cookie = cookies.get("__Host-telehealth").expect("__Host- cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(!cookie.contains("Domain="), "{cookie}");
    // Served over https: browsers are told to come back only over https, for a year.
    let hsts = response.headers()["strict-transport-security"]
        .to_str()
        .unwrap();
    assert_eq!(hsts, "max-age=31536000; includeSubDomains");
}

/// The clock the server reads (whole seconds since the epoch): the tests share the machine's
/// clock with the app, so every assertion below is decided by timestamps taken around the
/// requests, not by how fast the machine happens to be.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Sleeps until the clock reads `second` or later.
async fn until(second: i64) {
    while unix_now() < second {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const IDLE: i64 = 3;

#[tokio::test]
async fn an_idle_session_expires() {
    let app = spawn_app_with(&[("SESSION_IDLE_TIMEOUT_SECS", "3")]).await;
    // The login stamps the session at some second L >= `before`; the check of the first
    // request happens at some second <= `after`. When `after - before < IDLE` it must pass;
    // a machine too slow to tell gets another try.
    for _ in 0..5 {
        let before = unix_now();
        let client = app.logged_in(DOCTOR).await;
        let me = app.me(&client).await;
        let after = unix_now();
        if after - before >= IDLE {
            continue;
        }
        assert_eq!(me["email"], DOCTOR.0);
        // The last activity is at `after` at the latest: from `after + IDLE` on it is over.
        until(after + IDLE).await;
        assert_eq!(app.me(&client).await, serde_json::Value::Null);
        return;
    }
    panic!("five logins took {IDLE} s or more each: the machine is too slow to tell");
}

#[tokio::test]
async fn an_active_session_still_ends_at_the_absolute_timeout() {
    const ABSOLUTE: i64 = 7;
    let app = spawn_app_with(&[
        ("SESSION_IDLE_TIMEOUT_SECS", "3"),
        ("SESSION_ABSOLUTE_TIMEOUT_SECS", "7"),
    ])
    .await;
    'attempt: for _ in 0..3 {
        let before = unix_now();
        let client = app.logged_in(DOCTOR).await;
        let logged_in = unix_now();
        // Activity every ~0.7 s keeps the session from going idle. A request is certain to
        // find it alive when it ends (`end`) less than IDLE after the previous request began
        // (each request stamps the activity at its own second) and less than ABSOLUTE after
        // the login began.
        let mut last_start = before;
        let mut alive_past_idle = false;
        while unix_now() < before + ABSOLUTE - 1 {
            tokio::time::sleep(Duration::from_millis(700)).await;
            let start = unix_now();
            let me = app.me(&client).await;
            let end = unix_now();
            if end - last_start >= IDLE || end - before >= ABSOLUTE {
                continue 'attempt;
            }
            assert_eq!(me["email"], DOCTOR.0, "alive at {} s", end - before);
            alive_past_idle |= start - logged_in >= IDLE;
            last_start = start;
        }
        if !alive_past_idle {
            continue;
        }
        // Whatever the activity, from `logged_in + ABSOLUTE` on the session is over.
        until(logged_in + ABSOLUTE).await;
        assert_eq!(app.me(&client).await, serde_json::Value::Null);
        return;
    }
    panic!("the machine was too slow to tell in three attempts");
}

#[tokio::test]
async fn logout_deletes_the_session_on_the_server() {
    let app = spawn_app().await;
    let client = app.client();
    let login = app.login(&client, PATIENT.0, PATIENT.1).await;
    let cookie = session_cookie(&login).unwrap();
    let logout = app.logout(&client).await;
    assert_eq!(logout.status(), 200);
    assert_eq!(app.me(&client).await, serde_json::Value::Null);
    // Even a copy of the cookie kept from before is worthless now.
    assert_eq!(me_with_cookie(&app, &cookie).await, serde_json::Value::Null);
}

#[tokio::test]
async fn repeated_failures_on_one_account_are_throttled_with_retry_after() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")]).await;
    let client = app.client();
    for _ in 0..3 {
        let response = app.login(&client, DOCTOR.0, "guess guess guess").await;
        assert_eq!(response.status(), 401);
    }
    // Now even the right password is refused until the window passes.
    let response = app.login(&client, DOCTOR.0, DOCTOR.1).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0 && retry_after <= 900, "{retry_after}");
    // Other accounts are unaffected.
    let other = app.login(&client, PATIENT.0, PATIENT.1).await;
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn repeated_failures_from_one_address_are_throttled_across_accounts() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES_PER_ADDRESS", "4")]).await;
    let client = app.client();
    for n in 0..4 {
        let email = format!("nobody{n}@demo.clinic");
        let response = app.login(&client, &email, "guess guess guess").await;
        assert_eq!(response.status(), 401);
    }
    let response = app.login(&client, ADMIN.0, ADMIN.1).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_but_keeps_this_one() {
    let app = spawn_app().await;
    let laptop = app.logged_in(PATIENT).await;
    let phone = app.logged_in(PATIENT).await;
    let response = app
        .change_password(&laptop, PATIENT.1, "a brand new passphrase")
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(app.me(&laptop).await["email"], PATIENT.0);
    assert_eq!(app.me(&phone).await, serde_json::Value::Null);
    let old = app.login(&app.client(), PATIENT.0, PATIENT.1).await;
    assert_eq!(old.status(), 401);
    app.logged_in((PATIENT.0, "a brand new passphrase")).await;
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_a_strong_new_one() {
    let app = spawn_app().await;
    let client = app.logged_in(PATIENT).await;
    let wrong = app
        .change_password(&client, "not it at all", "a brand new passphrase")
        .await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(
        wrong.json::<serde_json::Value>().await.unwrap()["field"],
        "current_password"
    );
    let weak = app.change_password(&client, PATIENT.1, "short").await;
    assert_eq!(weak.status(), 400);
    assert_eq!(
        weak.json::<serde_json::Value>().await.unwrap()["field"],
        "new_password"
    );
}
