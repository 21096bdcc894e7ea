//! `telehealth create-user --role admin --email E`: creates an account on a real install,
//! reading the password from stdin so it never appears in shell history or `ps`.

use crate::domain::{DisplayName, Email, NewPassword, Role, TimeZone};
use crate::server::auth::password;
use crate::server::config::Settings;
use crate::server::crypto::Keyring;
use crate::server::persistence::{Db, NewUser, SealedValue, StoreError};
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

/// Passes of `rotate-key` over the database before it gives up on values that keep coming
/// back under a retired key (an instance still running with the old key as its current one).
const ROTATE_MAX_PASSES: usize = 5;

/// `telehealth rotate-key`: re-seals every stored secret under the current `ENCRYPTION_KEY`,
/// reading old values with the keys in `ENCRYPTION_OLD_KEYS`. Safe to run while the app runs:
/// each value is replaced only if it has not changed since it was read. It scans again until
/// nothing is left under a retired key (a value rewritten meanwhile may have been sealed by an
/// instance still on the old key) and succeeds only then: after `ROTATE_MAX_PASSES` passes it
/// fails, naming what remains.
pub async fn rotate_key(settings: &Settings) -> Result<String, String> {
    let keyring = settings.keyring().map_err(|e| e.to_string())?;
    let db = Db::connect(&settings.database_url)
        .await
        .map_err(|e| format!("database: {e}"))?;
    let result = rotate_passes(&db, &keyring).await;
    // SQLite keeps old page images in its write-ahead log until a checkpoint: fold them into
    // the database (zeroed by secure_delete) so no ciphertext under a retired key lingers.
    let discarded = db
        .discard_old_pages()
        .await
        .map_err(|e| format!("database: {e}"));
    db.close().await;
    let report = result?;
    discarded?;
    Ok(report)
}

async fn rotate_passes(db: &Db, keyring: &Keyring) -> Result<String, String> {
    use secrecy::ExposeSecret;
    let (mut resealed, mut skipped, mut total) = (0usize, 0usize, 0usize);
    let mut unreadable: Vec<String> = Vec::new();
    for pass in 1..=ROTATE_MAX_PASSES {
        let values = db
            .sealed_values()
            .await
            .map_err(|e| format!("database: {e}"))?;
        if pass == 1 {
            total = values.len();
        }
        let stale: Vec<_> = values
            .iter()
            .filter(|v| keyring.is_stale(&v.value))
            .collect();
        if stale.is_empty() {
            return Ok(format!(
                "{resealed} value(s) re-sealed under key {}, {skipped} changed meanwhile, {} already current",
                keyring.current_key_id(),
                total.saturating_sub(resealed + skipped)
            ));
        }
        unreadable.clear();
        for item in stale {
            let plain = match keyring.open(&item.value, item.purpose, &item.key) {
                Ok(plain) => plain,
                Err(e) => {
                    // Reported at the end, with everything else that remains.
                    unreadable.push(format!("{} ({e})", describe_sealed(item)));
                    continue;
                }
            };
            let fresh = keyring.seal(plain.expose_secret(), item.purpose, &item.key);
            if db
                .replace_sealed(item, fresh)
                .await
                .map_err(|e| format!("database: {e}"))?
            {
                resealed += 1;
            } else {
                // Rewritten concurrently (a token refresh): the next pass looks at it again.
                skipped += 1;
            }
            eprintln!("pass {pass}: re-sealed {resealed} of {total} values");
        }
        if unreadable.len() == keyring_stale_count(db, keyring).await? {
            // Nothing left but values no configured key opens: more passes cannot help.
            break;
        }
    }
    let values = db
        .sealed_values()
        .await
        .map_err(|e| format!("database: {e}"))?;
    let remaining: Vec<String> = values
        .iter()
        .filter(|v| keyring.is_stale(&v.value))
        .map(|item| {
            unreadable
                .iter()
                .find(|u| u.starts_with(&describe_sealed(item)))
                .cloned()
                .unwrap_or_else(|| describe_sealed(item))
        })
        .collect();
    if remaining.is_empty() {
        return Ok(format!(
            "{resealed} value(s) re-sealed under key {}, {skipped} changed meanwhile, {} already current",
            keyring.current_key_id(),
            total.saturating_sub(resealed + skipped)
        ));
    }
    Err(format!(
        "{} value(s) are still sealed under a retired key after {ROTATE_MAX_PASSES} passes \
         (is an instance still running with the old key as ENCRYPTION_KEY?): {}",
        remaining.len(),
        remaining.join(", ")
    ))
}

/// Where a sealed value lives and under which key, e.g. `zoom_connections.access_token_enc
/// (3) under key k-old`.
fn describe_sealed(item: &SealedValue) -> String {
    let at = item.purpose.stored_in();
    let key = item.value.split('.').nth(1).unwrap_or("?");
    format!("{}.{} ({}) under key {key}", at.table, at.column, item.key)
}

async fn keyring_stale_count(db: &Db, keyring: &Keyring) -> Result<usize, String> {
    Ok(db
        .sealed_values()
        .await
        .map_err(|e| format!("database: {e}"))?
        .iter()
        .filter(|v| keyring.is_stale(&v.value))
        .count())
}
