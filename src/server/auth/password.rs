//! Password hashing with Argon2id at OWASP's recommended parameters (19 MiB, 2 passes,
//! 1 lane). Hashing takes tens of milliseconds of CPU, so it always runs on the blocking pool.

use crate::domain::NewPassword;
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::OnceLock;

/// A PHC-format Argon2 hash. Not a secret in the strict sense, but no reason to show it
/// anywhere either, so it is not `Serialize` and its `Debug` is redacted.
#[derive(Clone)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<PasswordHash, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(PasswordHash(
        hasher()
            .hash_password(password.as_bytes(), &salt)?
            .to_string(),
    ))
}

pub async fn hash(password: NewPassword) -> Result<PasswordHash, PasswordError> {
    tokio::task::spawn_blocking(move || hash_blocking(password.expose()))
        .await
        .map_err(|_| PasswordError::Worker)?
        .map_err(|_| PasswordError::Hash)
}

/// A hash of a random password, verified against when the email is unknown so that an
/// unknown account costs the same time as a wrong password and timing reveals nothing.
fn dummy_hash() -> &'static PasswordHash {
    static DUMMY: OnceLock<PasswordHash> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let random = SaltString::generate(&mut OsRng);
        PasswordHash(
            hasher()
                .hash_password(random.as_str().as_bytes(), &salt)
                .expect("hashing a random password cannot fail")
                .to_string(),
        )
    })
}

/// Computes the dummy hash ahead of the first login so that first login is not faster.
pub fn warm_up() {
    let _ = dummy_hash();
}

/// Verifies `candidate` against `stored`, or against the dummy hash when there is no account.
/// Always does one full Argon2 computation.
pub async fn verify(
    candidate: SecretString,
    stored: Option<PasswordHash>,
) -> Result<bool, PasswordError> {
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (dummy_hash().clone(), false),
        };
        let parsed = argon2::PasswordHash::new(hash.as_str()).map_err(|_| PasswordError::Hash)?;
        let matches = hasher()
            .verify_password(candidate.expose_secret().as_bytes(), &parsed)
            .is_ok();
        Ok(real && matches)
    })
    .await
    .map_err(|_| PasswordError::Worker)?
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed")]
    Hash,
    #[error("password worker thread failed")]
    Worker,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_the_right_password_only() {
        let hash = hash(NewPassword::parse("correct horse battery").unwrap())
            .await
            .unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(
            SecretString::from("correct horse battery"),
            Some(hash.clone())
        )
        .await
        .unwrap());
        assert!(
            !verify(SecretString::from("wrong horse battery"), Some(hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        assert!(!verify(SecretString::from("anything at all"), None)
            .await
            .unwrap());
    }
}
