//! Encryption at rest for Zoom credentials and tokens: AES-256-GCM with a random 96-bit nonce
//! per value. Every ciphertext names the key that sealed it (`v2.<key id>.<base64>`) so keys
//! can be rotated: old keys stay configured for reading while `rotate-key` re-seals everything
//! under the current one. The associated data binds a ciphertext to its place: its purpose
//! (table and column) and its row (e.g. the doctor whose token it is), so someone who can
//! write the database cannot swap one stored secret into another's place, not even two
//! doctors' tokens in the same column: the swapped value fails to open.
//!
//! `v1.` values (sealed before row binding) bind the column only. They still open, and
//! `rotate-key` re-seals them as `v2.`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("{0}")]
    BadKey(String),
    #[error("value was sealed with key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("stored value is not a sealed secret")]
    Malformed,
    #[error("stored value failed authentication (wrong key or tampered)")]
    Tampered,
}

/// Every kind of sealed value, with where it is stored. The text is the associated data that
/// binds a ciphertext to its column; `rotate-key` re-seals every purpose listed here, so a
/// new sealed column must be added here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    ZoomClientSecret,
    ZoomAccessToken,
    ZoomRefreshToken,
    ZoomAccountAccessToken,
    OAuthVerifier,
    MeetingPasscode,
    MeetingJoinUrl,
    ZoomWebhookSecret,
}

/// Where values of one purpose live: table, the column that identifies a row, the column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedColumn {
    pub table: &'static str,
    pub key_column: &'static str,
    pub column: &'static str,
}

impl Purpose {
    pub const ALL: [Purpose; 8] = [
        Purpose::ZoomClientSecret,
        Purpose::ZoomAccessToken,
        Purpose::ZoomRefreshToken,
        Purpose::ZoomAccountAccessToken,
        Purpose::OAuthVerifier,
        Purpose::MeetingPasscode,
        Purpose::MeetingJoinUrl,
        Purpose::ZoomWebhookSecret,
    ];

    /// The associated data of `v1.` values: `table.column` without the `_enc` suffix; `v2.`
    /// values add `#<row key>`. Never change one: values sealed under the old text would no
    /// longer open.
    pub fn aad(self) -> &'static str {
        match self {
            Purpose::ZoomClientSecret => "zoom_settings.client_secret",
            Purpose::ZoomAccessToken => "zoom_connections.access_token",
            Purpose::ZoomRefreshToken => "zoom_connections.refresh_token",
            Purpose::ZoomAccountAccessToken => "zoom_account_token.access_token",
            Purpose::OAuthVerifier => "oauth_states.verifier",
            Purpose::MeetingPasscode => "meetings.passcode",
            Purpose::MeetingJoinUrl => "meetings.join_url",
            Purpose::ZoomWebhookSecret => "zoom_settings.webhook_secret",
        }
    }

    pub fn stored_in(self) -> SealedColumn {
        let (table, key_column, column) = match self {
            Purpose::ZoomClientSecret => ("zoom_settings", "id", "client_secret_enc"),
            Purpose::ZoomAccessToken => ("zoom_connections", "user_id", "access_token_enc"),
            Purpose::ZoomRefreshToken => ("zoom_connections", "user_id", "refresh_token_enc"),
            Purpose::ZoomAccountAccessToken => ("zoom_account_token", "id", "access_token_enc"),
            Purpose::OAuthVerifier => ("oauth_states", "state_hash", "verifier_enc"),
            Purpose::MeetingPasscode => ("meetings", "appointment_id", "passcode_enc"),
            Purpose::MeetingJoinUrl => ("meetings", "appointment_id", "join_url_enc"),
            Purpose::ZoomWebhookSecret => ("zoom_settings", "id", "webhook_secret_enc"),
        };
        SealedColumn {
            table,
            key_column,
            column,
        }
    }
}

struct Key {
    id: String,
    cipher: Aes256Gcm,
}

pub struct Keyring {
    current: Key,
    all: HashMap<String, Aes256Gcm>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Keyring(current={}, keys={})",
            self.current.id,
            self.all.len()
        )
    }
}

/// The key demo mode uses when none is configured. Public by nature: demo data is not secret.
const DEMO_KEY: &str = "demo:ZGVtby1tb2RlLWtleS1ub3QtZm9yLXJlYWwtZGF0YSE=";

fn parse_key(spec: &str) -> Result<Key, CryptoError> {
    let (id, material) = spec.trim().split_once(':').ok_or_else(|| {
        CryptoError::BadKey("a key is written <key id>:<base64 of 32 bytes>".into())
    })?;
    let valid_id = !id.is_empty()
        && id.len() <= 32
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_id {
        return Err(CryptoError::BadKey(
            "a key id is 1-32 letters, digits, '-' or '_'".into(),
        ));
    }
    let bytes = STANDARD
        .decode(material.trim())
        .map_err(|_| CryptoError::BadKey(format!("key {id}: not valid base64")))?;
    if bytes.len() != 32 {
        return Err(CryptoError::BadKey(format!(
            "key {id}: must be 32 bytes, got {}",
            bytes.len()
        )));
    }
    let cipher = Aes256Gcm::new_from_slice(&bytes)
        .map_err(|_| CryptoError::BadKey(format!("key {id}: unusable")))?;
    Ok(Key {
        id: id.to_owned(),
        cipher,
    })
}

impl Keyring {
    /// `current` seals and opens; `old` (comma-separated) only open, until rotation is done.
    pub fn new(current: &SecretString, old: Option<&SecretString>) -> Result<Self, CryptoError> {
        let current = parse_key(current.expose_secret())?;
        let mut all = HashMap::new();
        if let Some(old) = old {
            for spec in old
                .expose_secret()
                .split(',')
                .filter(|s| !s.trim().is_empty())
            {
                let key = parse_key(spec)?;
                all.insert(key.id, key.cipher);
            }
        }
        all.insert(current.id.clone(), current.cipher.clone());
        Ok(Self { current, all })
    }

    pub fn demo() -> Self {
        Self::new(&SecretString::from(DEMO_KEY), None).expect("the demo key is well-formed")
    }

    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    /// Seals `plaintext` for the row whose `stored_in().key_column` is `row` (as text: a user
    /// id, an appointment id, a state hash; `1` for the single-row tables).
    pub fn seal(&self, plaintext: &str, purpose: Purpose, row: impl std::fmt::Display) -> String {
        let aad = row_aad(purpose, &row.to_string());
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .current
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory value cannot fail");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!(
            "{CURRENT_FORMAT}.{}.{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(blob)
        )
    }

    /// Opens a value sealed for `purpose` in `row`; one sealed for another row or column
    /// fails as `Tampered`.
    pub fn open(
        &self,
        sealed: &str,
        purpose: Purpose,
        row: impl std::fmt::Display,
    ) -> Result<SecretString, CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(format), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Malformed);
        };
        let aad = match format {
            CURRENT_FORMAT => row_aad(purpose, &row.to_string()),
            "v1" => purpose.aad().to_owned(),
            _ => return Err(CryptoError::Malformed),
        };
        let cipher = self
            .all
            .get(key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Malformed)?;
        if blob.len() < 12 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(12);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Tampered)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| CryptoError::Malformed)
    }

    /// True when `sealed` was not sealed with the current key, or not bound to its row
    /// (`v1.`): `rotate-key` re-seals it.
    pub fn is_stale(&self, sealed: &str) -> bool {
        let mut parts = sealed.split('.');
        parts.next() != Some(CURRENT_FORMAT) || parts.next() != Some(self.current.id.as_str())
    }
}

/// The format of values sealed now: bound to purpose and row.
const CURRENT_FORMAT: &str = "v2";

fn row_aad(purpose: Purpose, row: &str) -> String {
    format!("{}#{row}", purpose.aad())
}

/// A fresh random key in configuration format, for `telehealth generate-key`.
pub fn generate_key_spec(id: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{id}:{}", STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(current: &str, old: Option<&str>) -> Keyring {
        Keyring::new(
            &SecretString::from(current.to_owned()),
            old.map(|o| SecretString::from(o.to_owned())).as_ref(),
        )
        .unwrap()
    }

    /// A value as the code before row binding sealed it: `v1.`, the column's text only.
    fn seal_v1(keys: &Keyring, plaintext: &str, purpose: Purpose) -> String {
        let nonce = [7u8; 12];
        let sealed = keys
            .current
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: purpose.aad().as_bytes(),
                },
            )
            .unwrap();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!("v1.{}.{}", keys.current.id, URL_SAFE_NO_PAD.encode(blob))
    }

    #[test]
    fn seals_and_opens_with_the_same_purpose_only() {
        let keys = ring(&generate_key_spec("k1"), None);
        let sealed = keys.seal("refresh-token-value", Purpose::ZoomRefreshToken, 7);
        assert!(sealed.starts_with("v2.k1."));
        assert!(!sealed.contains("refresh-token-value"));
        assert_eq!(
            keys.open(&sealed, Purpose::ZoomRefreshToken, 7)
                .unwrap()
                .expose_secret(),
            "refresh-token-value"
        );
        assert!(matches!(
            keys.open(&sealed, Purpose::ZoomClientSecret, 7),
            Err(CryptoError::Tampered)
        ));
    }

    #[test]
    fn a_value_moved_to_another_row_does_not_open() {
        let keys = ring(&generate_key_spec("k1"), None);
        let doctor_a = keys.seal("token of doctor 1", Purpose::ZoomAccessToken, 1);
        let doctor_b = keys.seal("token of doctor 2", Purpose::ZoomAccessToken, 2);
        assert!(matches!(
            keys.open(&doctor_a, Purpose::ZoomAccessToken, 2),
            Err(CryptoError::Tampered)
        ));
        assert!(matches!(
            keys.open(&doctor_b, Purpose::ZoomAccessToken, 1),
            Err(CryptoError::Tampered)
        ));
        // "1" and "12" must not collide through concatenation with the purpose text.
        assert!(keys.open(&doctor_a, Purpose::ZoomAccessToken, 12).is_err());
    }

    #[test]
    fn values_sealed_before_row_binding_still_open_and_are_due_for_rotation() {
        let keys = ring(&generate_key_spec("k1"), None);
        let old = seal_v1(&keys, "passcode", Purpose::MeetingPasscode);
        assert_eq!(
            keys.open(&old, Purpose::MeetingPasscode, 42)
                .unwrap()
                .expose_secret(),
            "passcode"
        );
        assert!(keys.is_stale(&old), "v1 under the current key is re-sealed");
        assert!(keys.open(&old, Purpose::MeetingJoinUrl, 42).is_err());
        let fresh = keys.seal("passcode", Purpose::MeetingPasscode, 42);
        assert!(!keys.is_stale(&fresh));
        assert!(keys
            .open(
                &fresh.replacen("v2.", "v1.", 1),
                Purpose::MeetingPasscode,
                42
            )
            .is_err());
        assert!(keys
            .open(
                &fresh.replacen("v2.", "v3.", 1),
                Purpose::MeetingPasscode,
                42
            )
            .is_err());
    }

    #[test]
    fn each_purpose_names_its_own_column() {
        for purpose in Purpose::ALL {
            let at = purpose.stored_in();
            assert_eq!(
                format!("{}.{}", at.table, at.column.trim_end_matches("_enc")),
                purpose.aad()
            );
        }
    }

    #[test]
    fn the_same_value_seals_differently_each_time() {
        let keys = ring(&generate_key_spec("k1"), None);
        assert_ne!(
            keys.seal("x", Purpose::MeetingPasscode, 1),
            keys.seal("x", Purpose::MeetingPasscode, 1)
        );
    }

    #[test]
    fn old_keys_open_and_rotation_is_detected() {
        let old_spec = generate_key_spec("old");
        let old = ring(&old_spec, None);
        let sealed = old.seal("secret", Purpose::MeetingPasscode, 1);
        let rotated = ring(&generate_key_spec("new"), Some(&old_spec));
        assert!(rotated.is_stale(&sealed));
        assert_eq!(
            rotated
                .open(&sealed, Purpose::MeetingPasscode, 1)
                .unwrap()
                .expose_secret(),
            "secret"
        );
        let resealed = rotated.seal("secret", Purpose::MeetingPasscode, 1);
        assert!(!rotated.is_stale(&resealed));
        let without_old = ring(&generate_key_spec("new"), None);
        assert!(matches!(
            without_old.open(&sealed, Purpose::MeetingPasscode, 1),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn tampering_and_bad_keys_are_refused() {
        let keys = ring(&generate_key_spec("k1"), None);
        let sealed = keys.seal("secret", Purpose::MeetingPasscode, 1);
        // Flip one character inside the ciphertext (not the last, whose low bits base64 ignores).
        let mut bytes = sealed.into_bytes();
        let i = bytes.len() - 8;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let sealed = String::from_utf8(bytes).unwrap();
        assert!(keys.open(&sealed, Purpose::MeetingPasscode, 1).is_err());
        assert!(keys.open("plaintext", Purpose::MeetingPasscode, 1).is_err());
        for bad in ["nokey", "k1:short", "bad id:AAAA", ":AAAA"] {
            assert!(
                Keyring::new(&SecretString::from(bad), None).is_err(),
                "{bad}"
            );
        }
    }
}
