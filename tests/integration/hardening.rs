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
    // Plain http (a loopback test): telling browsers to insist on https would lock them out.
    assert!(!headers.contains_key("strict-transport-security"));
    let nonce = crate::helpers::csp_nonce(csp);
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

    // A caller that sends its own request id gets it back, and the log line says the same.
    let sent = "probe-7f3c9a";
    let with_id = client
        .post(app.url("/api/auth/login"))
        .header("x-request-id", sent)
        .form(&[("email", DOCTOR.0), ("password", DOCTOR.1)])
        .send()
        .await
        .unwrap();
    assert_eq!(with_id.status(), 200);
    assert_eq!(with_id.headers()["x-request-id"], sent);
    let line = app
        .wait_for_log(|l| l["message"] == "logged in" && request_id_of(l) == Some(sent))
        .await;
    assert_eq!(line["role"], "doctor", "{line}");

    // A caller that sends none gets one made up, and the log line carries that one.
    let without = app.login(&app.client(), PATIENT.0, PATIENT.1).await;
    assert_eq!(without.status(), 200);
    let given = without.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(given.len(), 36, "a UUID: {given}");
    let line = app
        .wait_for_log(|l| l["message"] == "logged in" && l["role"] == "patient")
        .await;
    assert_eq!(request_id_of(&line), Some(given.as_str()), "{line}");

    let logs = app.logs();
    assert!(!logs.contains("a secret guess 123"));
    assert!(!logs.contains("$argon2id$"));
}

#[tokio::test]
async fn readiness_answers_503_once_the_database_is_gone() {
    let app = spawn_app().await;
    let ready = app.client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    if using_postgres() {
        use sqlx::Connection;
        let base = std::env::var("TEST_POSTGRES_URL").unwrap();
        let name = app.database_url.rsplit('/').next().unwrap().to_owned();
        let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
    } else {
        // The file's contents are gone (its inode stays open in the app, as after a bad
        // restore or a disk fault): overwritten, with the write-ahead log and its index.
        let path = app
            .database_url
            .trim_start_matches("sqlite:")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm")] {
            if let Ok(meta) = std::fs::metadata(&file) {
                std::fs::write(&file, vec![0x5a; meta.len() as usize]).unwrap();
            }
        }
    }
    let status = eventually(
        "/readyz to answer 503",
        std::time::Duration::from_secs(30),
        || async {
            let response = app.client().get(app.url("/readyz")).send().await.unwrap();
            (response.status() == 503).then_some(response.text().await.unwrap())
        },
    )
    .await;
    assert_eq!(status, "database unreachable");
    // The process itself is up.
    let health = app.client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}
