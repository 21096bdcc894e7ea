//! Password hashing with Argon2id at OWASP's recommended parameters (19 MiB, 2 passes,
//! 1 lane). Hashing takes tens of milliseconds of CPU, so it always runs on the blocking pool.

use crate::domain::NewPassword;
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    let hash = hasher().hash_password(password.as_bytes(), &salt);
    give_back_memory();
    Ok(PasswordHash(hash?.to_string()))
}

/// A hashing thread may then sit idle for minutes, and mimalloc purges a thread's freed pages
/// only on its next call. On Linux Argon2's 19 MiB block is a mapping of its own, gone when
/// freed (`memory::ServerAllocator`), so this returns the hash's smaller leftovers; elsewhere
/// the block is mimalloc's, and without this a burst of logins (or the start-up warm-up)
/// stayed resident as 19 MiB per thread.
fn give_back_memory() {
    crate::server::memory::give_back_this_threads_free_memory();
}

pub async fn hash(password: NewPassword) -> Result<PasswordHash, PasswordError> {
    tokio::task::spawn_blocking(move || hash_blocking(password.expose()))
        .await
        .map_err(|_| PasswordError::Worker)?
        .map_err(|_| PasswordError::Hash)
}

/// Bounds the Argon2 computations running at once. Each takes 19 MiB and a core for tens of
/// milliseconds, so a burst of logins (or an attacker's flood) would otherwise exhaust memory
/// and starve every other request. A request waits up to `wait` for a slot, then is told to
/// come back (503 with `Retry-After`) rather than queue without bound.
#[derive(Debug)]
pub struct HashGate {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl HashGate {
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
        }
    }

    async fn slot(&self) -> Result<OwnedSemaphorePermit, PasswordError> {
        let acquire = self.slots.clone().acquire_owned();
        match tokio::time::timeout(self.wait, acquire).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(PasswordError::Worker),
            Err(_) => Err(PasswordError::Busy),
        }
    }

    /// `verify`, within a slot. The slot is held by the computation itself, so a caller that
    /// goes away cannot free it while its hash still runs.
    pub async fn verify(
        &self,
        candidate: SecretString,
        stored: Option<PasswordHash>,
    ) -> Result<bool, PasswordError> {
        let permit = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify_blocking(&candidate, stored)
        })
        .await
        .map_err(|_| PasswordError::Worker)?
    }

    /// `hash`, within a slot.
    pub async fn hash(&self, password: NewPassword) -> Result<PasswordHash, PasswordError> {
        let permit = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_blocking(password.expose())
        })
        .await
        .map_err(|_| PasswordError::Worker)?
        .map_err(|_| PasswordError::Hash)
    }
}

/// A hash of a random password, verified against when the email is unknown so that an
/// unknown account costs the same time as a wrong password and timing reveals nothing.
fn dummy_hash() -> &'static PasswordHash {
    static DUMMY: OnceLock<PasswordHash> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let random = SaltString::generate(&mut OsRng);
        let hash = hasher()
            .hash_password(random.as_str().as_bytes(), &salt)
            .expect("hashing a random password cannot fail")
            .to_string();
        give_back_memory();
        PasswordHash(hash)
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
    tokio::task::spawn_blocking(move || verify_blocking(&candidate, stored))
        .await
        .map_err(|_| PasswordError::Worker)?
}

fn verify_blocking(
    candidate: &SecretString,
    stored: Option<PasswordHash>,
) -> Result<bool, PasswordError> {
    let (hash, real) = match stored {
        Some(hash) => (hash, true),
        None => (dummy_hash().clone(), false),
    };
    let parsed = argon2::PasswordHash::new(hash.as_str()).map_err(|_| PasswordError::Hash)?;
    let matches = hasher()
        .verify_password(candidate.expose_secret().as_bytes(), &parsed)
        .is_ok();
    give_back_memory();
    Ok(real && matches)
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed")]
    Hash,
    #[error("password worker thread failed")]
    Worker,
    /// Every hashing slot stayed taken for the whole wait.
    #[error("too many password checks at once")]
    Busy,
}

impl PasswordError {
    /// `Busy` is the server asking the client to come back; anything else is internal.
    pub fn into_app_error(self, doing: &'static str) -> crate::error::AppError {
        match self {
            PasswordError::Busy => crate::error::AppError::Busy {
                retry_after_secs: 1,
            },
            other => crate::server::internal(doing)(other),
        }
    }
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
    async fn a_full_gate_answers_busy_instead_of_queueing_forever() {
        let gate = HashGate::new(1, Duration::from_millis(50));
        let held = gate.slot().await.unwrap();
        assert!(matches!(
            gate.verify(SecretString::from("x"), None).await,
            Err(PasswordError::Busy)
        ));
        drop(held);
        assert!(!gate.verify(SecretString::from("x"), None).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        assert!(!verify(SecretString::from("anything at all"), None)
            .await
            .unwrap());
    }
}
