//! Zoom's webhook signature (FACTS §7): `x-zm-signature: v0=<hex HMAC-SHA256(secret token,
//! "v0:{x-zm-request-timestamp}:{raw body}")>`, and the answer to `endpoint.url_validation`.
//! Computed over the raw bytes: a serde round-trip could reorder keys or change whitespace.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far a request's timestamp may be from our clock, either way: Zoom names no tolerance;
/// five minutes is what its samples and third parties use, and bounds a replay.
pub const MAX_SKEW_SECS: i64 = 300;

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length")
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The `x-zm-signature` value Zoom sends for `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "v0={}",
        hex(&request_mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// The HMAC over Zoom's signed message, `v0:{timestamp}:{raw body}`.
fn request_mac(secret: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = mac(secret.as_bytes());
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// Whether `header` is the signature of `body` at `timestamp`, compared in constant time.
pub fn verify(secret: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(given) = header.strip_prefix("v0=").and_then(unhex) else {
        return false;
    };
    request_mac(secret, timestamp, body)
        .verify_slice(&given)
        .is_ok()
}

/// The request's timestamp, if it is within `MAX_SKEW_SECS` of `now` (Unix seconds). Zoom's
/// header is in seconds; milliseconds are accepted too (FACTS §7: the unit is unconfirmed).
pub fn fresh(timestamp: &str, now: i64) -> bool {
    let Ok(value) = timestamp.trim().parse::<i64>() else {
        return false;
    };
    let secs = if value > 100_000_000_000 {
        value / 1000
    } else {
        value
    };
    (secs - now).abs() <= MAX_SKEW_SECS
}

/// `encryptedToken` of the `endpoint.url_validation` answer.
pub fn url_validation(secret: &str, plain_token: &str) -> String {
    let mut mac = mac(secret.as_bytes());
    mac.update(plain_token.as_bytes());
    hex(&mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // FACTS §7 test vectors (computed with Python hmac and Node crypto).
    const SECRET: &str = "test_secret_token";
    const BODY: &str = r#"{"event":"meeting.started","event_ts":1700000000123,"payload":{"account_id":"acc","object":{"id":"85746065432","uuid":"abc=="}}}"#;
    const SIGNATURE: &str = "v0=69e214bbefa194cc67771175501d820270292ce2286eb03bfc817550970d1b7f";

    #[test]
    fn the_signature_matches_the_test_vector() {
        assert_eq!(sign(SECRET, "1700000000", BODY.as_bytes()), SIGNATURE);
        assert!(verify(SECRET, "1700000000", BODY.as_bytes(), SIGNATURE));
    }

    #[test]
    fn any_change_breaks_the_signature() {
        assert!(!verify(SECRET, "1700000001", BODY.as_bytes(), SIGNATURE));
        assert!(!verify("other", "1700000000", BODY.as_bytes(), SIGNATURE));
        let spaced = BODY.replace(',', ", ");
        assert!(!verify(SECRET, "1700000000", spaced.as_bytes(), SIGNATURE));
        assert!(!verify(SECRET, "1700000000", BODY.as_bytes(), "v0=zz"));
        assert!(!verify(
            SECRET,
            "1700000000",
            BODY.as_bytes(),
            &SIGNATURE[3..]
        ));
    }

    #[test]
    fn url_validation_matches_the_test_vector() {
        assert_eq!(
            url_validation(SECRET, "qgg8vlvZRS6UYooatFL8Aw"),
            "4efea922935c335d972476de138d2208a0d46ab28c79ee592d497a1b216419b8"
        );
    }

    #[test]
    fn timestamps_older_than_five_minutes_or_far_ahead_are_stale() {
        let now = 1_700_000_000;
        assert!(fresh("1700000000", now));
        assert!(fresh("1699999700", now));
        assert!(!fresh("1699999699", now));
        assert!(!fresh("1700000301", now));
        assert!(fresh("1700000000123", now));
        assert!(!fresh("soon", now));
    }
}
