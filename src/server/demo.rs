//! Demo mode: well-known accounts so a newcomer can click through every role. Only ever
//! created when demo mode is explicitly enabled.

use crate::domain::{DisplayName, Email, NewPassword, Role, TimeZone};
use crate::server::auth::password;
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
