//! Every server type that holds a secret in plaintext (a token, a client secret, a passcode, a
//! join or start link, a key, a password or its hash) may end up in a log line through
//! `{:?}`: its `Debug` must show none of it. Types holding secrets that are not `Debug` at all
//! (`TokenGrant`, `ClientCredentials`) cannot be printed and need no check here.

use crate::server::auth::password::PasswordHash;
use crate::server::config::{DatabaseUrl, Settings};
use crate::server::crypto::{generate_key_spec, Keyring};
use crate::server::video::zoom::api::MeetingInfo;
use crate::server::video::{CreatedMeeting, FoundMeeting, MeetingSpec};
use secrecy::SecretString;

const SECRETS: [&str; 6] = [
    "SECRETPWD",
    "SECRETZAK",
    "SECRETPASS",
    "SECRETDBPW",
    "$argon2id$",
    "SECRETJOIN",
];

fn assert_redacted(what: &str, debug: String) {
    for secret in SECRETS {
        assert!(!debug.contains(secret), "{what} shows {secret}: {debug}");
    }
}

#[test]
fn the_debug_of_every_type_holding_a_secret_shows_none() {
    let info: MeetingInfo = serde_json::from_value(serde_json::json!({
        "id": 81234567890_i64,
        "uuid": "abc==",
        "join_url": "https://zoom.us/j/81234567890?pwd=SECRETPWD",
        "start_url": "https://zoom.us/s/81234567890?zak=SECRETZAK",
        "password": "SECRETPASS",
        "agenda": "th-marker",
    }))
    .unwrap();
    let debug = format!("{info:?}");
    assert_redacted("MeetingInfo", debug.clone());
    assert!(debug.contains("81234567890") && debug.contains("th-marker"));

    let spec = MeetingSpec {
        topic: "Video visit".into(),
        agenda: "th-marker".into(),
        start: chrono::Utc::now(),
        duration_minutes: 30,
        time_zone: "UTC".into(),
        passcode: SecretString::from("SECRETPASS"),
        preferences: Default::default(),
    };
    assert_redacted("MeetingSpec", format!("{spec:?}"));
    let created = CreatedMeeting {
        meeting_id: 1,
        uuid: None,
        join_url: SecretString::from("https://zoom.us/j/1?pwd=SECRETJOIN"),
    };
    assert_redacted("CreatedMeeting", format!("{created:?}"));
    let found = FoundMeeting {
        meeting_id: 1,
        uuid: None,
        join_url: SecretString::from("https://zoom.us/j/1?pwd=SECRETJOIN"),
    };
    assert_redacted("FoundMeeting", format!("{found:?}"));

    let key = generate_key_spec("k1");
    let settings = Settings::load(|name| match name {
        "APP_CONFIG_FILE" => Some("/dev/null".into()),
        "DATABASE_URL" => Some("postgres://app:SECRETDBPW@localhost/db".into()),
        "ENCRYPTION_KEY" => Some(key.clone()),
        "ENCRYPTION_OLD_KEYS" => Some(key.clone()),
        _ => None,
    })
    .unwrap();
    let material = key.split_once(':').unwrap().1.to_owned();
    let debug = format!("{settings:?}");
    assert_redacted("Settings", debug.clone());
    assert!(
        !debug.contains(&material),
        "Settings shows the key: {debug}"
    );
    let url = DatabaseUrl::parse("postgres://app:SECRETDBPW@db.internal/db").unwrap();
    assert_redacted("DatabaseUrl", format!("{url:?}"));
    let keyring = Keyring::new(&SecretString::from(key.clone()), None).unwrap();
    assert!(!format!("{keyring:?}").contains(&material));

    let hash = PasswordHash::from_stored("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
    assert_redacted("PasswordHash", format!("{hash:?}"));
}
