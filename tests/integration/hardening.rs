//! Cross-site requests, oversized and malformed bodies, headers, health checks, shutdown.

use crate::helpers::*;

#[tokio::test]
async fn a_cross_site_post_is_refused_before_it_runs() {
    let app = spawn_app().await;
    let client = app.client();
    let by_origin = client
        .post(app.url("/api/auth/login"))
        .header("origin", "https://evil.example")
        .form(&[("email", ADMIN.0), ("password", ADMIN.1)])
        .send()
        .await
        .unwrap();
    assert_eq!(by_origin.status(), 403);
    assert!(session_cookie(&by_origin).is_none());
    let by_fetch_metadata = client
        .post(app.url("/api/auth/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("email", ADMIN.0), ("password", ADMIN.1)])
        .send()
        .await
        .unwrap();
    assert_eq!(by_fetch_metadata.status(), 403);
    let same_origin = client
        .post(app.url("/api/auth/login"))
        .header("origin", app.address.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", ADMIN.0), ("password", ADMIN.1)])
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), 200);
}

#[tokio::test]
async fn state_changing_server_functions_do_not_answer_get() {
    let app = spawn_app().await;
    for endpoint in [
        "/api/auth/login",
        "/api/auth/logout",
        "/api/admin/users/create",
        "/api/profile/password",
    ] {
        let response = app.client().get(app.url(endpoint)).send().await.unwrap();
        assert!(
            !response.status().is_success(),
            "GET {endpoint} answered {}",
            response.status()
        );
        assert!(session_cookie(&response).is_none());
    }
}

#[tokio::test]
async fn an_oversized_body_gets_413() {
    let app = spawn_app().await;
    let huge = "x".repeat(200 * 1024);
    let response = app.login(&app.client(), ADMIN.0, &huge).await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn malformed_bodies_get_400_with_a_reason() {
    let app = spawn_app().await;
    let client = app.client();
    let missing = app.login_form(&client, &[("email", ADMIN.0)]).await;
    assert_eq!(missing.status(), 400);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["kind"], "bad_request");

    let admin = app.logged_in(ADMIN).await;
    let not_a_number = app
        .update_user(
            &admin,
            &[
                ("id", "abc"),
                ("email", "x@y.org"),
                ("role", "patient"),
                ("active", "true"),
            ],
        )
        .await;
    assert_eq!(not_a_number.status(), 400);

    let garbage = client
        .post(app.url("/api/auth/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, 0x00, 0x25])
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);

    let bad_email = app.login(&client, "not-an-email", "whatever it is").await;
    assert_eq!(bad_email.status(), 400);
    let body: serde_json::Value = bad_email.json().await.unwrap();
    assert_eq!(body["field"], "email");
}

#[tokio::test]
async fn pages_and_api_answers_carry_security_headers() {
    let app = spawn_app().await;
    let page = app.client().get(app.url("/login")).send().await.unwrap();
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self' 'nonce-"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.contains_key("x-request-id"));
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the bootstrap script carries the nonce"
    );

    let api = app.me_call(&app.client()).await;
    assert_eq!(api.headers()["cache-control"], "no-store");
    assert!(api.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app.client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let mut app = spawn_app().await;
    let status = app.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(app.logs().contains("shutdown signal received"));
}

#[tokio::test]
async fn logs_are_structured_carry_request_ids_and_never_passwords() {
    let app = spawn_app().await;
    let client = app.client();
    app.login(&client, DOCTOR.0, "a secret guess 123").await;
    app.logged_in(DOCTOR).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let logs = app.logs();
    assert!(!logs.contains("a secret guess 123"));
    assert!(!logs.contains("$argon2id$"));
    let request_line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "logged in")
        .expect("a JSON log line for the login");
    assert!(
        request_line["span"]["request_id"].is_string() || request_line["spans"].is_array(),
        "{request_line}"
    );
}
