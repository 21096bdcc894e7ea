//! The `create-user` subcommand, and demo accounts existing only in demo mode.

use crate::helpers::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn create_user(database_url: &str, args: &[&str], password: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_telehealth"))
        .arg("create-user")
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("APP_CONFIG_FILE", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn create_user_makes_the_first_admin_of_a_real_install() {
    let dir = TempDir::new();
    let database_url = fresh_database_url(&dir).await;
    let output = create_user(
        &database_url,
        &["--role", "admin", "--email", "Boss@Clinic.Example"],
        "the first admin password",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("boss@clinic.example"));

    let again = create_user(
        &database_url,
        &["--role", "admin", "--email", "boss@clinic.example"],
        "the first admin password",
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let weak = create_user(
        &database_url,
        &["--role", "admin", "--email", "two@clinic.example"],
        "short",
    );
    assert!(!weak.status.success());

    let app = spawn_app_on(
        dir,
        database_url,
        &[("DEMO_MODE", "false"), ("ENCRYPTION_KEY", TEST_KEY)],
    )
    .await;
    let client = app
        .logged_in(("boss@clinic.example", "the first admin password"))
        .await;
    assert_eq!(app.me(&client).await["role"], "admin");
    // Outside demo mode there are no demo accounts.
    let demo = app.login(&app.client(), ADMIN.0, ADMIN.1).await;
    assert_eq!(demo.status(), 401);
    assert!(!app.logs().contains("DEMO MODE"));
}

#[tokio::test]
async fn outside_demo_mode_the_app_refuses_to_start_without_an_encryption_key() {
    let dir = TempDir::new();
    let database_url = fresh_database_url(&dir).await;
    let output = Command::new(env!("CARGO_BIN_EXE_telehealth"))
        .env_clear()
        .env("DATABASE_URL", &database_url)
        .env("APP_CONFIG_FILE", "/dev/null")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_OUTPUT_NAME", "telehealth")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("ENCRYPTION_KEY"), "{text}");
    assert!(!text.contains("listening on"));
}

#[tokio::test]
async fn generate_key_prints_a_usable_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_telehealth"))
        .args(["generate-key", "k2026"])
        .env("DEMO_MODE", "true")
        .output()
        .unwrap();
    assert!(output.status.success());
    let key = String::from_utf8(output.stdout).unwrap();
    let (id, material) = key.trim().split_once(':').unwrap();
    assert_eq!(id, "k2026");
    assert_eq!(material.len(), 44, "base64 of 32 bytes");
}

#[tokio::test]
async fn create_user_explains_bad_arguments() {
    let dir = TempDir::new();
    let database_url = fresh_database_url(&dir).await;
    let output = create_user(
        &database_url,
        &["--role", "wizard", "--email", "x@clinic.example"],
        "whatever password",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage:"));
    let doctor = create_user(
        &database_url,
        &["--role", "doctor", "--email", "d@clinic.example"],
        "whatever password",
    );
    assert!(String::from_utf8_lossy(&doctor.stderr).contains("--name is required"));
}

#[tokio::test]
async fn demo_mode_is_announced_loudly_with_the_accounts() {
    let app = spawn_demo_app().await;
    let logs = app.logs();
    assert!(logs.contains("DEMO MODE"));
    assert!(logs.contains("admin@demo.clinic"));
    // Every other test runs outside demo mode, its accounts made by `create-user` and the
    // admin: nothing is there unless the test's install put it there.
    let install = spawn_app().await;
    assert!(!install.logs().contains("DEMO MODE"));
}
