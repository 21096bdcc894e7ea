//! The admin's user management.

use crate::fixtures::user_id;
use crate::helpers::*;
use serde_json::Value;

#[tokio::test]
async fn an_admin_creates_a_doctor_who_can_then_log_in() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    let response = app
        .create_user_form(
            &admin,
            &[
                ("email", "Grace@Demo.Clinic"),
                ("role", "doctor"),
                ("display_name", "Dr. Grace Hopper"),
                ("time_zone", "Europe/Berlin"),
                ("password", "grace hopper password"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["email"], "grace@demo.clinic");
    assert_eq!(created["display_name"], "Dr. Grace Hopper");
    assert!(created.get("password_hash").is_none());
    let doctor = app
        .logged_in(("grace@demo.clinic", "grace hopper password"))
        .await;
    assert_eq!(app.me(&doctor).await["time_zone"], "Europe/Berlin");
}

#[tokio::test]
async fn invalid_or_duplicate_users_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    let no_zone = app
        .create_user_form(
            &admin,
            &[
                ("email", "p2@demo.clinic"),
                ("role", "patient"),
                ("password", "long enough password"),
            ],
        )
        .await;
    assert_eq!(no_zone.status(), 400);
    assert_eq!(no_zone.json::<Value>().await.unwrap()["field"], "time_zone");
    let bad_zone = app
        .create_user_form(
            &admin,
            &[
                ("email", "p2@demo.clinic"),
                ("role", "patient"),
                ("time_zone", "Mars/Base"),
                ("password", "long enough password"),
            ],
        )
        .await;
    assert_eq!(bad_zone.status(), 400);
    let duplicate = app
        .create_user_form(
            &admin,
            &[
                ("email", PATIENT.0),
                ("role", "patient"),
                ("time_zone", "Europe/Paris"),
                ("password", "long enough password"),
            ],
        )
        .await;
    assert_eq!(duplicate.status(), 409);
    // Nothing already stored was touched.
    app.logged_in(PATIENT).await;
}

#[tokio::test]
async fn a_deactivated_user_is_logged_out_and_cannot_log_in_until_reactivated() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    let receptionist = app.logged_in(RECEPTIONIST).await;
    let id = user_id(&app, &admin, RECEPTIONIST.0).await.to_string();
    let form = |active| {
        [
            ("id", id.as_str()),
            ("email", RECEPTIONIST.0),
            ("role", "receptionist"),
            ("active", active),
        ]
    };
    let response = app.update_user(&admin, &form("false")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["active"], false);
    assert_eq!(app.me(&receptionist).await, Value::Null);
    let again = app
        .login(&app.client(), RECEPTIONIST.0, RECEPTIONIST.1)
        .await;
    assert_eq!(again.status(), 401);

    let response = app.update_user(&admin, &form("true")).await;
    assert_eq!(response.status(), 200);
    app.logged_in(RECEPTIONIST).await;
}

#[tokio::test]
async fn an_admin_cannot_lock_themself_out() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    let id = user_id(&app, &admin, ADMIN.0).await.to_string();
    let response = app
        .update_user(
            &admin,
            &[
                ("id", &id),
                ("email", ADMIN.0),
                ("role", "admin"),
                ("active", "false"),
            ],
        )
        .await;
    assert_eq!(response.status(), 409);
    let response = app
        .update_user(
            &admin,
            &[
                ("id", &id),
                ("email", ADMIN.0),
                ("role", "receptionist"),
                ("active", "true"),
            ],
        )
        .await;
    assert_eq!(response.status(), 409);
    assert_eq!(app.me(&admin).await["role"], "admin");
}

#[tokio::test]
async fn editing_an_unknown_user_is_404() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    let response = app
        .update_user(
            &admin,
            &[
                ("id", "999999"),
                ("email", "x@demo.clinic"),
                ("role", "receptionist"),
                ("active", "true"),
            ],
        )
        .await;
    assert_eq!(response.status(), 404);
}
