//! Who may use the Zoom settings and connection endpoints, and that secrets go in but never
//! come out. These need no Zoom: Zoom's base URLs point at a closed port.

use crate::fixtures::user_id;
use crate::helpers::*;
use reqwest::{Client, Response};
use serde_json::Value;

const CLOSED: [(&str, &str); 2] = [
    ("ZOOM_OAUTH_BASE_URL", "http://127.0.0.1:9"),
    ("ZOOM_API_BASE_URL", "http://127.0.0.1:9/v2"),
];

fn only(caller: Caller, allowed: Caller, ok: u16) -> u16 {
    match caller {
        Caller::Anonymous => 401,
        c if c == allowed => ok,
        _ => 403,
    }
}

/// The Zoom server functions, with the form each is called with.
#[derive(Debug)]
enum Endpoint<'a> {
    Settings,
    SaveSettings(Vec<(&'a str, &'a str)>),
    /// A `PUT`.
    TestConnection,
    MapDoctor {
        doctor_id: i64,
        zoom_user: &'a str,
    },
    Status,
    Check,
    Disconnect,
}

impl Endpoint<'_> {
    async fn send(&self, app: &TestApp, client: &Client) -> Response {
        match self {
            Endpoint::Settings => app.zoom_settings(client).await,
            Endpoint::SaveSettings(form) => app.save_zoom_settings(client, form).await,
            Endpoint::TestConnection => app.test_zoom_connection(client).await,
            Endpoint::MapDoctor {
                doctor_id,
                zoom_user,
            } => app.map_doctor(client, *doctor_id, zoom_user).await,
            Endpoint::Status => app.zoom_status(client).await,
            Endpoint::Check => app.zoom_check(client).await,
            Endpoint::Disconnect => app.zoom_disconnect(client).await,
        }
    }
}

#[tokio::test]
async fn zoom_server_functions_answer_each_role_as_documented() {
    let app = spawn_app_with(&CLOSED).await;
    let admin = app.logged_in(ADMIN).await;
    let doctor = user_id(&app, &admin, DOCTOR.0).await;
    for caller in [
        Caller::Anonymous,
        Caller::Patient,
        Caller::Receptionist,
        Caller::Doctor,
        Caller::Admin,
    ] {
        let client = app.client_for(caller).await;
        let cases = vec![
            (Endpoint::Settings, only(caller, Caller::Admin, 200)),
            (
                Endpoint::SaveSettings(vec![
                    ("mode", "user_oauth"),
                    ("client_id", "demo-oauth-client"),
                    ("client_secret", "demo-oauth-secret"),
                ]),
                only(caller, Caller::Admin, 200),
            ),
            (Endpoint::TestConnection, only(caller, Caller::Admin, 200)),
            (
                Endpoint::MapDoctor {
                    doctor_id: doctor,
                    zoom_user: "doctor@demo.clinic",
                },
                only(caller, Caller::Admin, 200),
            ),
            (Endpoint::Status, only(caller, Caller::Doctor, 200)),
            // Not connected yet: 409 proves the role check let the doctor through.
            (Endpoint::Check, only(caller, Caller::Doctor, 409)),
            (Endpoint::Disconnect, only(caller, Caller::Doctor, 200)),
        ];
        for (endpoint, expected) in cases {
            let response = endpoint.send(&app, &client).await;
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert_eq!(status, expected, "{caller:?} {endpoint:?}: {body}");
        }
        let authorize = app.zoom_authorize(&client).await;
        assert_eq!(
            authorize.status().as_u16(),
            only(caller, Caller::Doctor, 303),
            "{caller:?} authorize"
        );
        let callback = app.zoom_callback(&client, "code=x&state=y").await;
        assert_eq!(
            callback.status().as_u16(),
            only(caller, Caller::Doctor, 400),
            "{caller:?} callback"
        );
    }
}

#[tokio::test]
async fn test_connection_is_a_put_and_says_when_zoom_is_unreachable() {
    let app = spawn_app_with(&CLOSED).await;
    let admin = app.logged_in(ADMIN).await;
    let as_post = app
        .call(&admin, "/api/admin/zoom/test-connection", &[])
        .await;
    assert!(!as_post.status().is_success());
    let response = app.test_zoom_connection(&admin).await;
    assert_eq!(response.status(), 200);
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(outcome["outcome"], "unreachable", "{outcome}");
}

#[tokio::test]
async fn the_authorize_url_carries_state_and_an_s256_challenge() {
    let app = spawn_app_with(&CLOSED).await;
    let doctor = app.logged_in(DOCTOR).await;
    let first = app.zoom_authorize(&doctor).await;
    assert_eq!(first.status(), 303);
    assert_eq!(first.headers()["cache-control"], "no-store");
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(
            "http://127.0.0.1:9/oauth/authorize?response_type=code&client_id=demo-oauth-client"
        ),
        "{location}"
    );
    assert!(location.contains("code_challenge_method=S256"));
    assert!(location.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fapi%2Fzoom%2Fcallback"));
    let state = query_value(&location, "state").unwrap();
    let challenge = query_value(&location, "code_challenge").unwrap();
    assert_eq!(state.len(), 43);
    assert_eq!(challenge.len(), 43);
    let second = app.zoom_authorize(&doctor).await;
    let second_state =
        query_value(second.headers()["location"].to_str().unwrap(), "state").unwrap();
    assert_ne!(state, second_state, "every attempt gets its own state");
}

#[tokio::test]
async fn a_tampered_or_missing_state_is_refused() {
    let app = spawn_app_with(&CLOSED).await;
    let doctor = app.logged_in(DOCTOR).await;
    let location = app.zoom_authorize(&doctor).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let state = query_value(&location, "state").unwrap();
    let mut tampered = state.clone();
    tampered.replace_range(0..1, if state.starts_with('A') { "B" } else { "A" });
    for query in [
        format!("code=abc&state={tampered}"),
        "code=abc".to_owned(),
        "code=abc&state=".to_owned(),
    ] {
        let response = app.zoom_callback(&doctor, &query).await;
        assert_eq!(response.status(), 400, "{query}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("invalid, expired or was already used"));
    }
    let status: Value = app.zoom_status(&doctor).await.json().await.unwrap();
    assert_eq!(status["connection"]["state"], "not_connected");
}

#[tokio::test]
async fn a_state_from_another_session_is_refused() {
    let app = spawn_app_with(&CLOSED).await;
    let victim = app.logged_in(DOCTOR).await;
    let location = app.zoom_authorize(&victim).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let state = query_value(&location, "state").unwrap();
    // The same doctor in another browser: the state is bound to the session that asked.
    let other_browser = app.logged_in(DOCTOR).await;
    let response = app
        .zoom_callback(&other_browser, &format!("code=abc&state={state}"))
        .await;
    assert_eq!(response.status(), 400);
    // And it is spent: not even the right session can use it now.
    let replay = app
        .zoom_callback(&victim, &format!("code=abc&state={state}"))
        .await;
    assert_eq!(replay.status(), 400);
}

#[tokio::test]
async fn client_secrets_are_write_only_and_never_stored_or_logged_in_plaintext() {
    let app = spawn_app_with(&CLOSED).await;
    let admin = app.logged_in(ADMIN).await;
    let secret = "Pl4intext-Client-Secret-Value";
    let saved = app
        .save_zoom_settings(
            &admin,
            &[
                ("mode", "server_to_server"),
                ("client_id", "s2s-client"),
                ("client_secret", secret),
                ("account_id", "acct-1"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    let view = app.zoom_settings(&admin).await.text().await.unwrap();
    assert!(!view.contains(secret));
    let parsed: Value = serde_json::from_str(&view).unwrap();
    assert_eq!(parsed["mode"], "server_to_server");
    assert_eq!(parsed["account_id"], "acct-1");
    assert!(parsed["secret_set_at"].is_i64());
    let page = admin
        .get(app.url("/admin/zoom"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(secret));
    // Saving again without a secret keeps the stored one.
    let kept = app
        .save_zoom_settings(
            &admin,
            &[
                ("mode", "server_to_server"),
                ("client_id", "s2s-client"),
                ("account_id", "acct-2"),
            ],
        )
        .await;
    assert_eq!(kept.status(), 200);
    app.log_fence().await;
    assert!(!app.logs().contains(secret));
    assert!(
        !database_contains(&app, secret).await,
        "the client secret is stored in plaintext"
    );
    // The search itself works: the (non-secret) client id is found.
    assert!(database_contains(&app, "s2s-client").await);
}

#[tokio::test]
async fn zoom_settings_input_is_validated_by_field() {
    let app = spawn_app_with(&CLOSED).await;
    let admin = app.logged_in(ADMIN).await;
    let no_account = app
        .save_zoom_settings(
            &admin,
            &[
                ("mode", "server_to_server"),
                ("client_id", "c"),
                ("client_secret", "s"),
            ],
        )
        .await;
    assert_eq!(no_account.status(), 400);
    assert_eq!(
        no_account.json::<Value>().await.unwrap()["field"],
        "account_id"
    );
    let bad_mode = app
        .save_zoom_settings(
            &admin,
            &[("mode", "jwt"), ("client_id", "c"), ("client_secret", "s")],
        )
        .await;
    assert_eq!(bad_mode.json::<Value>().await.unwrap()["field"], "mode");
    let spaced = app
        .save_zoom_settings(
            &admin,
            &[
                ("mode", "user_oauth"),
                ("client_id", "a b"),
                ("client_secret", "s"),
            ],
        )
        .await;
    assert_eq!(spaced.json::<Value>().await.unwrap()["field"], "client_id");
    let unknown_doctor = app.map_doctor(&admin, 999999, "x@y.z").await;
    assert_eq!(unknown_doctor.status(), 404);
}
