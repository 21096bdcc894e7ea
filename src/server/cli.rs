//! `telehealth create-user --role admin --email E`: creates an account on a real install,
//! reading the password from stdin so it never appears in shell history or `ps`.

use crate::domain::{DisplayName, Email, NewPassword, Role, TimeZone};
use crate::server::auth::password;
use crate::server::config::Settings;
use crate::server::persistence::{Db, NewUser, StoreError};
use std::io::BufRead;

pub struct CreateUser {
    pub role: Role,
    pub email: Email,
    pub display_name: Option<DisplayName>,
    pub time_zone: Option<TimeZone>,
}

pub const CREATE_USER_USAGE: &str = "usage: telehealth create-user --role <admin|receptionist|doctor|patient> --email <address> [--name <display name>] [--time-zone <IANA zone>]\n(the password is read from the first line of stdin)";

impl CreateUser {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut role = None;
        let mut email = None;
        let mut display_name = None;
        let mut time_zone = None;
        let mut iter = args.iter();
        while let Some(flag) = iter.next() {
            let mut value = || iter.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--role" => role = Some(Role::parse(value()?).map_err(|e| e.to_string())?),
                "--email" => email = Some(Email::parse(value()?).map_err(|e| e.to_string())?),
                "--name" => {
                    display_name = Some(DisplayName::parse(value()?).map_err(|e| e.to_string())?)
                }
                "--time-zone" => {
                    time_zone = Some(TimeZone::parse(value()?).map_err(|e| e.to_string())?)
                }
                other => return Err(format!("unknown argument {other}")),
            }
        }
        let role = role.ok_or("--role is required")?;
        let email = email.ok_or("--email is required")?;
        if role.has_display_name() && display_name.is_none() {
            return Err(format!("--name is required for a {role}"));
        }
        if role.has_time_zone() && time_zone.is_none() {
            return Err(format!("--time-zone is required for a {role}"));
        }
        Ok(Self {
            role,
            email,
            display_name,
            time_zone,
        })
    }

    pub async fn run(self, settings: &Settings) -> Result<String, String> {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        let password = NewPassword::parse(line.trim_end_matches(['\r', '\n']))
            .map_err(|e| format!("password rejected: {e}"))?;
        let db = Db::connect(&settings.database_url)
            .await
            .map_err(|e| format!("database: {e}"))?;
        let hash = password::hash(password).await.map_err(|e| e.to_string())?;
        let result = db
            .create_user(NewUser {
                email: self.email.clone(),
                role: self.role,
                display_name: self.display_name,
                time_zone: self.time_zone,
                password_hash: hash,
            })
            .await;
        db.close().await;
        match result {
            Ok(user) => Ok(format!(
                "created {} account {} (id {})",
                user.role, user.email, user.id
            )),
            Err(StoreError::Conflict(_)) => Err(format!(
                "an account with email {} already exists",
                self.email
            )),
            Err(other) => Err(format!("database: {other}")),
        }
    }
}

/// `telehealth rotate-key`: re-seals every stored secret under the current `ENCRYPTION_KEY`,
/// reading old values with the keys in `ENCRYPTION_OLD_KEYS`. Safe to run while the app runs:
/// each value is replaced only if it has not changed since it was read.
pub async fn rotate_key(settings: &Settings) -> Result<String, String> {
    let keyring = settings.keyring().map_err(|e| e.to_string())?;
    let db = Db::connect(&settings.database_url)
        .await
        .map_err(|e| format!("database: {e}"))?;
    let values = db
        .sealed_values()
        .await
        .map_err(|e| format!("database: {e}"))?;
    let total = values.len();
    let (mut resealed, mut skipped) = (0usize, 0usize);
    for item in values.iter().filter(|v| keyring.is_stale(&v.value)) {
        let plain = keyring.open(&item.value, item.purpose).map_err(|e| {
            let at = item.purpose.stored_in();
            format!("{}.{} ({}): {e}", at.table, at.column, item.key)
        })?;
        use secrecy::ExposeSecret;
        let fresh = keyring.seal(plain.expose_secret(), item.purpose);
        if db
            .replace_sealed(item, fresh)
            .await
            .map_err(|e| format!("database: {e}"))?
        {
            resealed += 1;
        } else {
            // Rewritten concurrently (a token refresh), hence already under the current key.
            skipped += 1;
        }
        eprintln!("re-sealed {resealed} of {total} values");
    }
    // SQLite keeps old page images in its write-ahead log until a checkpoint: fold them into
    // the database (zeroed by secure_delete) so no ciphertext under a retired key lingers.
    db.discard_old_pages()
        .await
        .map_err(|e| format!("database: {e}"))?;
    db.close().await;
    Ok(format!(
        "{resealed} value(s) re-sealed under key {}, {skipped} changed meanwhile, {} already current",
        keyring.current_key_id(),
        total - resealed - skipped
    ))
}
