//! Deny by default: every server function × every role, and the pages' guards.

use crate::fixtures::{local_in, user_id};
use crate::helpers::*;
use reqwest::{Client, Response};

/// The account server functions, with the form each is called with.
#[derive(Debug)]
enum Endpoint<'a> {
    Me,
    ListUsers,
    CreateUser(Vec<(&'a str, &'a str)>),
    UpdateUser(Vec<(&'a str, &'a str)>),
    ChangePassword { current: &'a str, new: &'a str },
}

impl Endpoint<'_> {
    async fn send(&self, app: &TestApp, client: &Client) -> Response {
        match self {
            Endpoint::Me => app.me_call(client).await,
            Endpoint::ListUsers => app.list_users(client).await,
            Endpoint::CreateUser(form) => app.create_user_form(client, form).await,
            Endpoint::UpdateUser(form) => app.update_user(client, form).await,
            Endpoint::ChangePassword { current, new } => {
                app.change_password(client, current, new).await
            }
        }
    }

    /// Under `/api/admin/`: a refusal must not leak any user's data.
    fn is_admin(&self) -> bool {
        matches!(
            self,
            Endpoint::ListUsers | Endpoint::CreateUser(_) | Endpoint::UpdateUser(_)
        )
    }
}

fn admin_only(caller: Caller) -> u16 {
    match caller {
        Caller::Anonymous => 401,
        Caller::Admin => 200,
        _ => 403,
    }
}

#[tokio::test]
async fn every_server_function_answers_each_role_as_documented() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    let patient_id = user_id(&app, &admin, PATIENT.0).await.to_string();

    for caller in CALLERS {
        let client = app.client_for(caller).await;
        let new_email = format!("new-{caller:?}@demo.clinic").to_lowercase();
        let cases = vec![
            (Endpoint::Me, 200),
            (Endpoint::ListUsers, admin_only(caller)),
            (
                Endpoint::CreateUser(vec![
                    ("email", &new_email),
                    ("role", "receptionist"),
                    ("password", "a fine long password"),
                ]),
                admin_only(caller),
            ),
            (
                Endpoint::UpdateUser(vec![
                    ("id", &patient_id),
                    ("email", PATIENT.0),
                    ("role", "patient"),
                    ("time_zone", "America/New_York"),
                    ("active", "true"),
                ]),
                admin_only(caller),
            ),
            // A wrong current password gets 400: proof that the role check let the call through.
            (
                Endpoint::ChangePassword {
                    current: "wrong wrong wrong",
                    new: "a fine long password",
                },
                if caller == Caller::Anonymous {
                    401
                } else {
                    400
                },
            ),
        ];
        for (endpoint, expected) in cases {
            let response = endpoint.send(&app, &client).await;
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert_eq!(status, expected, "{caller:?} calling {endpoint:?}: {body}");
            if expected >= 400 && endpoint.is_admin() {
                assert!(!body.contains("demo.clinic"), "refusal leaked data: {body}");
            }
        }
    }
}

#[tokio::test]
async fn logout_is_harmless_for_anyone() {
    let app = spawn_app().await;
    for caller in CALLERS {
        let client = app.client_for(caller).await;
        let response = app.logout(&client).await;
        assert_eq!(response.status(), 200, "{caller:?}");
    }
}

#[tokio::test]
async fn anonymous_visitors_of_a_protected_page_are_sent_to_login_and_back() {
    let app = spawn_app().await;
    let response = app
        .client()
        .get(app.url("/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login?next=/admin/users");
    let home = app.client().get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 303);
    let login = app.client().get(app.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
}

#[tokio::test]
async fn a_patient_typing_an_admin_url_is_refused() {
    let app = spawn_app().await;
    let patient = app.logged_in(PATIENT).await;
    let response = patient.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let body = response.text().await.unwrap();
    assert!(body.contains("You do not have access"), "{body}");
    assert!(!body.contains("admin@demo.clinic"));

    let admin = app.logged_in(ADMIN).await;
    let response = admin.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn each_role_gets_its_own_home_page() {
    let app = spawn_app().await;
    for (who, marker) in [
        (ADMIN, "home-admin"),
        (RECEPTIONIST, "home-receptionist"),
        (DOCTOR, "home-doctor"),
        (PATIENT, "home-patient"),
    ] {
        let client = app.logged_in(who).await;
        let body = client
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(body.contains(marker), "{} home lacks {marker}", who.0);
        let admin_link = body.contains("href=\"/admin/users\"");
        assert_eq!(
            admin_link,
            who == ADMIN,
            "{}: nav offers the users page only to admins",
            who.0
        );
    }
}

#[tokio::test]
async fn every_page_answers_each_role_as_documented() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    let doctor_id = user_id(&app, &admin, DOCTOR.0).await.to_string();
    let patient_id = user_id(&app, &admin, PATIENT.0).await.to_string();
    // A visit every role here may see (Zoom is not needed: its meeting may stay pending).
    let booked = app
        .call(
            &app.logged_in(RECEPTIONIST).await,
            "/api/visits/book",
            &[
                ("doctor_id", &doctor_id),
                ("patient_id", &patient_id),
                ("start", &local_in(600, "UTC")),
                ("zone", "UTC"),
                ("duration", "30"),
            ],
        )
        .await;
    assert_eq!(booked.status(), 200, "{}", booked.text().await.unwrap());
    let visit: serde_json::Value = booked.json().await.unwrap();
    let visit_page = format!("/visits/{}", visit["id"].as_str().unwrap());

    let only = |caller: Caller, allowed: &[Caller]| {
        if allowed.contains(&caller) {
            200
        } else {
            403
        }
    };
    let anyone = [
        Caller::Patient,
        Caller::Receptionist,
        Caller::Doctor,
        Caller::Admin,
    ];
    for caller in CALLERS {
        let client = app.client_for(caller).await;
        let pages: Vec<(&str, u16)> = vec![
            ("/", only(caller, &anyone)),
            ("/profile", only(caller, &anyone)),
            ("/visits", only(caller, &anyone)),
            (visit_page.as_str(), only(caller, &anyone)),
            ("/admin/users", only(caller, &[Caller::Admin])),
            ("/admin/audit", only(caller, &[Caller::Admin])),
            ("/admin/zoom", only(caller, &[Caller::Admin])),
            ("/zoom", only(caller, &[Caller::Doctor])),
        ];
        for (path, expected) in pages {
            let response = client.get(app.url(path)).send().await.unwrap();
            let status = response.status().as_u16();
            if caller == Caller::Anonymous {
                // Sent to log in, and back here afterwards.
                assert_eq!(status, 303, "{caller:?} {path}");
                assert_eq!(
                    response.headers()["location"],
                    format!("/login?next={path}").as_str(),
                    "{path}"
                );
                continue;
            }
            assert_eq!(
                response.headers()["cache-control"],
                "no-store",
                "{caller:?} {path}"
            );
            let body = response.text().await.unwrap();
            assert_eq!(status, expected, "{caller:?} {path}: {body}");
            if expected == 403 {
                assert!(body.contains("You do not have access"), "{caller:?} {path}");
            }
        }
    }
}
