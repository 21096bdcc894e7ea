//! Demo mode: well-known accounts so a newcomer can click through every role. Only ever
//! created when demo mode is explicitly enabled.

use crate::domain::ZoomConnectionMode;
use crate::domain::{DisplayName, Email, NewPassword, Role, TimeZone};
use crate::server::auth::password;
use crate::server::crypto::Keyring;
use crate::server::crypto::Purpose;
use crate::server::persistence::{Db, NewUser, StoreError};

pub struct DemoAccount {
    pub email: &'static str,
    pub password: &'static str,
    pub role: Role,
    pub display_name: Option<&'static str>,
    pub time_zone: Option<&'static str>,
}

/// Also listed in README.md; the integration tests log in with them.
pub const DEMO_ACCOUNTS: [DemoAccount; 4] = [
    DemoAccount {
        email: "admin@demo.clinic",
        password: "demo-admin-password",
        role: Role::Admin,
        display_name: None,
        time_zone: None,
    },
    DemoAccount {
        email: "reception@demo.clinic",
        password: "demo-reception-password",
        role: Role::Receptionist,
        display_name: None,
        time_zone: None,
    },
    DemoAccount {
        email: "doctor@demo.clinic",
        password: "demo-doctor-password",
        role: Role::Doctor,
        display_name: Some("Dr. Ada Lovelace"),
        time_zone: Some("Europe/Berlin"),
    },
    DemoAccount {
        email: "patient@demo.clinic",
        password: "demo-patient-password",
        role: Role::Patient,
        display_name: None,
        time_zone: Some("America/New_York"),
    },
];

pub fn announce() {
    let bar = "=".repeat(78);
    tracing::warn!("{bar}");
    tracing::warn!("DEMO MODE: demo accounts with published passwords are enabled.");
    tracing::warn!("Never use demo mode with real patient data.");
    tracing::warn!(
        "Zoom credentials are sealed with a published demo key unless ENCRYPTION_KEY is set."
    );
    for account in &DEMO_ACCOUNTS {
        tracing::warn!(
            "  {:<13} {:<24} password: {}",
            account.role.label(),
            account.email,
            account.password
        );
    }
    tracing::warn!("{bar}");
}

/// The simulator's pre-registered user-managed OAuth app (see `zoom_sim`).
pub const DEMO_ZOOM_CLIENT_ID: &str = "demo-oauth-client";
pub const DEMO_ZOOM_CLIENT_SECRET: &str = "demo-oauth-secret";

/// The webhook secret token `scripts/dev.sh` gives the simulator (`--webhook-secret`), so
/// the simulator's events reach the demo app signed and accepted.
pub const DEMO_WEBHOOK_SECRET: &str = "demo-webhook-secret-token";

/// Points a fresh demo install at the simulator's OAuth app, so Connect works at once, and
/// at its webhooks. Settings an admin already saved are left alone.
pub async fn seed_zoom_settings(db: &Db, keyring: &Keyring) -> Result<(), StoreError> {
    if db.zoom_settings().await?.is_some() {
        if db.webhook_secret().await?.is_none() {
            seed_webhook_secret(db, keyring).await?;
        }
        return Ok(());
    }
    let admin = db
        .credentials_by_email(&Email::parse(DEMO_ACCOUNTS[0].email).expect("demo email parses"))
        .await?;
    let sealed = keyring.seal(DEMO_ZOOM_CLIENT_SECRET, Purpose::ZoomClientSecret, 1);
    db.save_zoom_settings(
        ZoomConnectionMode::UserOauth,
        DEMO_ZOOM_CLIENT_ID,
        Some(sealed),
        None,
        admin.map(|(u, _)| u.id),
    )
    .await?;
    seed_webhook_secret(db, keyring).await
}

async fn seed_webhook_secret(db: &Db, keyring: &Keyring) -> Result<(), StoreError> {
    let sealed = keyring.seal(DEMO_WEBHOOK_SECRET, Purpose::ZoomWebhookSecret, 1);
    db.save_webhook_secret(sealed).await.map(|_| ())
}

/// Creates the demo accounts that do not exist yet; existing ones are left as they are.
pub async fn seed_accounts(db: &Db) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    for account in &DEMO_ACCOUNTS {
        let email = Email::parse(account.email)?;
        if db.credentials_by_email(&email).await?.is_some() {
            continue;
        }
        let hash = password::hash(NewPassword::parse(account.password)?).await?;
        let user = NewUser {
            email,
            role: account.role,
            display_name: account.display_name.map(DisplayName::parse).transpose()?,
            time_zone: account.time_zone.map(TimeZone::parse).transpose()?,
            password_hash: hash,
        };
        match db.create_user(user).await {
            // Another instance seeded it between our check and insert.
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(())
}
